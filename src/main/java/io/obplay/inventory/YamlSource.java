package io.obplay.inventory;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.composer.Composer;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.StreamReader;

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
import java.util.Set;

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
        String text = bytes.length > MAX_BYTES ? null : decode(bytes);
        if (bytes.length > MAX_BYTES) {
            problems.add(new Problem(file, 1, 1, "the file is " + bytes.length + " bytes, over obplay's limit of "
                    + MAX_BYTES / (1024 * 1024) + " MiB for an inventory or a playbook; expected a smaller file"));
        }
        this.root = text == null ? null : expansion(text, checkTabs(text, compose(text)));
    }

    /** The largest input file read (16 MiB: about 600,000 servers one per line). */
    public static final int MAX_BYTES = 16 * 1024 * 1024;
    /**
     * Aliases ({@code *name}, {@code <<: *name}) to mappings or lists in one file, and the nodes the file would
     * have with every alias written out: more is refused as an alias bomb. obplay reads the tree with aliases
     * shared, never expanded, so memory stays bounded either way; the limits keep it so for whatever reads it next.
     */
    static final int MAX_ALIASES = 10_000;
    static final int MAX_EXPANDED = 1_000_000;
    /** Mappings and lists nested in one another. */
    static final int MAX_DEPTH = 50;

    /** The text, or null after a problem naming the first byte that is not UTF-8; a BOM is dropped. */
    private String decode(byte[] bytes) {
        int start = bytes.length >= 3 && (bytes[0] & 0xff) == 0xef && (bytes[1] & 0xff) == 0xbb && (bytes[2] & 0xff) == 0xbf ? 3 : 0;
        boolean ascii = true;
        for (int i = start; i < bytes.length && ascii; i++) {
            ascii = bytes[i] >= 0;
        }
        if (ascii) {
            return new String(bytes, start, bytes.length - start, StandardCharsets.ISO_8859_1);  // the common case, fast
        }
        java.nio.charset.CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes, start, bytes.length - start);
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(bytes.length - start);
        java.nio.charset.CoderResult r = d.decode(in, out, true);
        if (!r.isError()) {
            r = d.flush(out);
        }
        if (r.isError()) {
            int bad = in.position();
            out.flip();
            String before = out.toString();
            int line = 1;
            int lineStart = 0;
            for (int i = 0; i < before.length(); i++) {
                if (before.charAt(i) == '\n') {
                    line++;
                    lineStart = i + 1;
                }
            }
            problems.add(new Problem(file, line, before.length() - lineStart + 1, String.format(
                    "byte 0x%02X (at offset %d) is not UTF-8; expected a file in UTF-8 (paths and names are read as UTF-8, "
                            + "never guessed)", bytes[bad] & 0xff, bad)));
            return null;
        }
        out.flip();
        return out.toString();
    }

    /**
     * Refuses a tab in the indentation of a line (YAML indents with spaces; a tab there means something else to
     * every reader), outside the text of multi-line scalars, where a tab is content.
     */
    private Node checkTabs(String text, Node root) {
        List<int[]> tabs = null;  // line, column (0-based) of the first tab in a line's indentation
        int tab = text.indexOf('\t');
        if (tab < 0) {
            return root;
        }
        int line = 0;
        for (int i = 0; i < text.length(); ) {
            int j = i;
            while (j < text.length() && (text.charAt(j) == ' ' || text.charAt(j) == '\t')) {
                j++;
            }
            if (tab < i) {
                tab = text.indexOf('\t', i);
                if (tab < 0) {
                    break;
                }
            }
            boolean content = j < text.length() && text.charAt(j) != '\n' && text.charAt(j) != '\r' && text.charAt(j) != '#';
            if (tab >= 0 && tab < j && content) {
                if (tabs == null) {
                    tabs = new ArrayList<>();
                }
                tabs.add(new int[]{line, tab - i});
            }
            int nl = text.indexOf('\n', j);
            if (nl < 0) {
                break;
            }
            i = nl + 1;
            line++;
        }
        if (tabs == null) {
            return root;
        }
        List<int[]> inside = new ArrayList<>();  // first and last line of multi-line scalars
        if (root != null) {
            scalarSpans(root, inside, java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
        }
        boolean found = false;
        if (root == null) {
            // the syntax error that a tab in the indentation caused says less than the tab's own problem
            int tabLine = tabs.get(0)[0] + 1;
            problems.removeIf(p -> p.message().startsWith("YAML syntax error") && p.line() >= tabLine);
        }
        for (int[] t : tabs) {
            // a scalar that ends at column 0 of a line (a block text's final line break) does not hold that line
            boolean content = inside.stream().anyMatch(r -> t[0] > r[0] && (t[0] < r[1] || (t[0] == r[1] && r[2] > 0)));
            if (!content && (root != null || !found)) {
                problems.add(new Problem(file, t[0] + 1, t[1] + 1, "a tab is used for indentation; expected spaces (YAML indents with spaces only)"));
                found = true;
            }
        }
        return root;
    }

    /** Refuses a tree that, aliases written out, would have more than {@link #MAX_EXPANDED} nodes. */
    private Node expansion(String text, Node root) {
        if (root == null || text.indexOf('*') < 0) {
            return root;  // no alias
        }
        Node[] culprit = new Node[1];
        long n = expandedSize(root, new java.util.IdentityHashMap<>(), culprit);
        if (n > MAX_EXPANDED) {
            Node at = culprit[0] != null ? culprit[0] : root;
            String anchor = at.getAnchor();
            problems.add(new Problem(file, at.getStartMark().getLine() + 1, at.getStartMark().getColumn() + 1,
                    (anchor != null ? "the anchor '" + anchor + "'" : "this") + " expands, with its aliases written out, to more than "
                            + MAX_EXPANDED + " nodes (an alias bomb); expected a file that means at most " + MAX_EXPANDED + " values"));
            return null;
        }
        return root;
    }

    /** The nodes under {@code n} with aliases expanded, at most MAX_EXPANDED + 1; the first collection over it. */
    private static long expandedSize(Node n, java.util.Map<Node, Long> memo, Node[] culprit) {
        Long known = memo.get(n);
        if (known != null) {
            return known;
        }
        long total = 1;
        if (n instanceof SequenceNode q) {
            for (Node c : q.getValue()) {
                total = Math.min(MAX_EXPANDED + 1L, total + expandedSize(c, memo, culprit));
            }
        } else if (n instanceof MappingNode m) {
            for (NodeTuple t : m.getValue()) {
                total = Math.min(MAX_EXPANDED + 1L, total + expandedSize(t.getKeyNode(), memo, culprit) + expandedSize(t.getValueNode(), memo, culprit));
            }
        } else {
            return 1;
        }
        if (total > MAX_EXPANDED && culprit[0] == null) {
            culprit[0] = n;  // post-order: the innermost collection that explodes
        }
        memo.put(n, total);
        return total;
    }

    private static void scalarSpans(Node n, List<int[]> out, Set<Node> seen) {
        if (!seen.add(n)) {
            return;
        }
        if (n instanceof ScalarNode s) {
            if (s.getEndMark().getLine() > s.getStartMark().getLine()) {
                out.add(new int[]{s.getStartMark().getLine(), s.getEndMark().getLine(), s.getEndMark().getColumn()});
            }
        } else if (n instanceof SequenceNode q) {
            for (Node c : q.getValue()) {
                scalarSpans(c, out, seen);
            }
        } else if (n instanceof MappingNode m) {
            for (NodeTuple t : m.getValue()) {
                scalarSpans(t.getKeyNode(), out, seen);
                scalarSpans(t.getValueNode(), out, seen);
            }
        }
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
            long size = Files.size(path);
            if (size > MAX_BYTES) {
                YamlSource s = new YamlSource(name, new byte[0]);
                s.problems.clear();
                s.problems.add(new Problem(name, 1, 1, "the file is " + size + " bytes, over obplay's limit of "
                        + MAX_BYTES / (1024 * 1024) + " MiB for an inventory or a playbook; expected a smaller file"));
                return s;
            }
            return new YamlSource(name, Files.readAllBytes(path));
        } catch (IOException e) {
            YamlSource s = new YamlSource(name, new byte[0]);
            s.problems.clear();
            s.problems.add(new Problem(name, 0, 0, "cannot read the file: " + e.getMessage()));  // no position: no text
            return s;
        }
    }

    public static YamlSource of(String name, String text) {
        return new YamlSource(name, text.getBytes(StandardCharsets.UTF_8));
    }

    private Node compose(String text) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(true); // found and reported with positions by YamlMap
        options.setMaxAliasesForCollections(MAX_ALIASES);
        options.setNestingDepthLimit(MAX_DEPTH);
        options.setCodePointLimit(MAX_BYTES + 1);  // the byte limit comes first, with its own message
        options.setMergeOnCompose(true);  // '<<: *defaults' reads as the keys it merges; a key of the mapping wins
        try {
            // what new Yaml(options).compose(reader) does, without building the Yaml object's constructor and
            // representer (classes and start-up time a node tree does not need)
            Node node = new Composer(new ParserImpl(new StreamReader(new StringReader(text)), options), new ReusingResolver(), options)
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
            String msg = String.valueOf(e.getMessage());
            if (msg.startsWith("Number of aliases")) {
                Mark m = locate(text, true, options);
                problems.add(new Problem(file, m == null ? 1 : m.getLine() + 1, m == null ? 1 : m.getColumn() + 1,
                        "more than " + MAX_ALIASES + " aliases to mappings or lists (a file that expands to a huge tree: an alias bomb); "
                                + "expected at most " + MAX_ALIASES));
            } else if (msg.startsWith("Nesting Depth")) {
                Mark m = locate(text, false, options);
                problems.add(new Problem(file, m == null ? 1 : m.getLine() + 1, m == null ? 1 : m.getColumn() + 1,
                        "mappings and lists nested more than " + MAX_DEPTH + " deep; expected at most " + MAX_DEPTH));
            } else {
                problems.add(new Problem(file, 1, 1, "YAML error: " + msg));
            }
            return null;
        } catch (StackOverflowError e) {
            problems.add(new Problem(file, 1, 1, "YAML nested too deeply to read; expected at most " + MAX_DEPTH + " levels"));
            return null;
        }
    }

    /**
     * Where the alias over the limit stands ({@code aliases}), or the first collection nested too deep: read from the
     * parser's events, which hold positions (the composer's exceptions do not) and expand nothing.
     */
    private static Mark locate(String text, boolean aliases, LoaderOptions options) {
        LoaderOptions plain = new LoaderOptions();
        plain.setCodePointLimit(options.getCodePointLimit());
        ParserImpl parser = new ParserImpl(new StreamReader(new StringReader(text)), plain);
        Set<String> collections = new java.util.HashSet<>();
        int count = 0;
        int depth = 0;
        try {
            while (parser.peekEvent() != null) {
                org.yaml.snakeyaml.events.Event e = parser.getEvent();
                if (e instanceof org.yaml.snakeyaml.events.CollectionStartEvent c) {
                    if (c.getAnchor() != null) {
                        collections.add(c.getAnchor());
                    }
                    if (++depth > MAX_DEPTH && !aliases) {
                        return e.getStartMark();
                    }
                } else if (e instanceof org.yaml.snakeyaml.events.CollectionEndEvent) {
                    depth--;
                } else if (e instanceof org.yaml.snakeyaml.events.AliasEvent a && aliases && collections.contains(a.getAnchor())
                        && ++count > MAX_ALIASES) {
                    return e.getStartMark();
                } else if (e instanceof org.yaml.snakeyaml.events.StreamEndEvent) {
                    return null;
                }
            }
        } catch (YAMLException e) {
            return null;
        }
        return null;
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

    /**
     * Records a problem once: the same message at the same place (a default that every server inherits, an alias
     * read from several places) is one mistake.
     */
    public void problem(Node at, String message) {
        Problem p = at == null ? new Problem(file, 1, 1, message)
                : new Problem(file, at.getStartMark().getLine() + 1, at.getStartMark().getColumn() + 1, message);
        if (seen.add(p)) {
            problems.add(p);
        }
    }

    private final Set<Problem> seen = new java.util.HashSet<>();

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
