package io.obplay.inventory;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.resolver.Resolver;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * One YAML input file being read: its name for messages, its digest, its node tree with positions, and the
 * problems found so far. Readers record every problem and go on, so that the user sees all of them at once.
 */
public final class YamlSource {
    private final String file;
    /** The digest, computed while the text is composed when the file is large. */
    private final java.util.concurrent.Future<String> sha256;
    private final Node root;
    private final List<Problem> problems;

    private YamlSource(String file, byte[] bytes) {
        this.file = file;
        this.problems = new ArrayList<>();
        java.util.concurrent.FutureTask<String> digest = new java.util.concurrent.FutureTask<>(new Digest(bytes));
        if (bytes.length >= 64 * 1024) {
            Thread t = new Thread(digest, "obplay-sha256");  // on the other core, while SnakeYAML composes
            t.setDaemon(true);
            t.start();
        } else {
            digest.run();
        }
        this.sha256 = digest;
        this.root = compose(new String(bytes, StandardCharsets.UTF_8));
    }

    private YamlSource(YamlSource of, Node root) {
        this.file = of.file;
        this.sha256 = of.sha256;
        this.root = root;
        this.problems = of.problems;
    }

    /**
     * The same file (name, digest, problems) with another node tree: the obplay inventory a reader of another
     * format (see {@link ObdConfigLoader}) built from this file's nodes, so that {@link InventoryLoader} checks
     * it and reports at the positions of the original file.
     */
    YamlSource withRoot(Node translated) {
        return new YamlSource(this, translated);
    }

    private record Digest(byte[] bytes) implements java.util.concurrent.Callable<String> {
        @Override
        public String call() {
            return YamlSource.sha256(bytes);
        }
    }

    /** Reads a file; an unreadable file becomes a problem, not an exception. */
    public static YamlSource read(Path path) {
        String name = path.toString();
        try {
            return new YamlSource(name, Files.readAllBytes(path));
        } catch (IOException e) {
            YamlSource s = new YamlSource(name, new byte[0]);
            s.problems.clear();
            s.problems.add(new Problem(name, 0, 0, "cannot read the file: " + e.getMessage()));
            return s;
        }
    }

    public static YamlSource of(String name, String text) {
        return new YamlSource(name, text.getBytes(StandardCharsets.UTF_8));
    }

    private Node compose(String text) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(true); // found and reported with positions by YamlMap
        options.setMaxAliasesForCollections(50);
        try {
            // what new Yaml(options).compose(reader) does, without building the Yaml object's constructor and
            // representer (classes and start-up time a node tree does not need)
            Node node = new Composer(new ParserImpl(new StreamReader(new StringReader(text)), options), new Resolver(), options)
                    .getSingleNode();
            if (node == null) {
                problems.add(new Problem(file, 1, 1, "the file is empty; expected a YAML mapping"));
            }
            return node;
        } catch (MarkedYAMLException e) {
            Mark m = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            String what = e.getProblem() != null ? e.getProblem() : e.getMessage();
            String context = e.getContext() != null ? " (" + e.getContext() + ")" : "";
            problems.add(new Problem(file, m == null ? 1 : m.getLine() + 1, m == null ? 1 : m.getColumn() + 1,
                    "YAML syntax error: " + what + context + "; expected well-formed YAML"));
            return null;
        } catch (YAMLException e) {
            problems.add(new Problem(file, 1, 1, "YAML error: " + e.getMessage()));
            return null;
        }
    }

    public String file() {
        return file;
    }

    public String sha256() {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return sha256.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw (Error) e.getCause();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    public Node root() {
        return root;
    }

    public List<Problem> problems() {
        return problems;
    }

    public void problem(Node at, String message) {
        if (at == null) {
            problems.add(new Problem(file, 0, 0, message));
        } else {
            problems.add(new Problem(file, at.getStartMark().getLine() + 1, at.getStartMark().getColumn() + 1, message));
        }
    }

    /** {@code file:line:column} of a node, for "where did this value come from". */
    public String where(Node at) {
        return file + ":" + (at.getStartMark().getLine() + 1) + ":" + (at.getStartMark().getColumn() + 1);
    }

    /** The root as a mapping, or null after recording a problem. */
    public YamlMap rootMap(String what) {
        if (root == null) {
            return null;
        }
        return YamlMap.of(this, root, what);
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
