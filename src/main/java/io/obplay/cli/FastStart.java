package io.obplay.cli;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code java -jar obplay.jar plan ...} started as {@code bin/obplay} starts it. A jar cannot choose its JVM's
 * options, and plain {@code java} on a 2-core machine spends a core on C2 compilations a short command ends before
 * profiting from, and loads and verifies every class instead of mapping them from the class-data archive the build
 * put beside the jar. So when the JVM was started exactly as {@code java -jar JAR ARGS} (no JVM option of the
 * user's), for a short command (plan, validate, inventory, dag but dag retry), and the archive beside the jar is
 * newer than the jar, {@link #rerun} runs the command in a second JVM with the launcher's options and returns its
 * exit code: a 10,000-server plan in about 0.9 s instead of 1.4 s (BENCHMARKS.md §2). Otherwise it returns
 * null and the command runs here, as before. Uses only the JDK's classes, so that nothing else is loaded twice.
 *
 * <p>The second JVM inherits the standard streams and the environment; this one waits for it, ends it if it is
 * itself ended, and exits with its status. {@code -Dobplay.launcher} marks a JVM that a launcher started (this
 * class's or {@code bin/obplay}), which never starts another.
 */
final class FastStart {
    static final String MARK = "obplay.launcher";
    private static final Path THP = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    private FastStart() {
    }

    /** The exit code of the command run in a JVM with the launcher's options, or null: run it here. */
    static Integer rerun(String[] args) {
        if (System.getProperty(MARK) != null || !isShort(args)) {
            return null;
        }
        List<String> command = command(args);
        if (command == null) {
            return null;
        }
        Process child;
        try {
            child = new ProcessBuilder(command).inheritIO().start();
        } catch (IOException e) {
            return null;  // as if there were no archive
        }
        Thread ender = new Thread(child::destroy, "obplay-end-rerun");
        Runtime.getRuntime().addShutdownHook(ender);
        while (true) {
            try {
                int code = child.waitFor();
                return code;
            } catch (InterruptedException e) {
                // not interrupted by anyone but the JVM; keep waiting for the child
            }
        }
    }

    /** plan, validate, inventory, dag (but dag retry): the commands bin/obplay gives the serial collector. */
    static boolean isShort(String[] args) {
        if (args.length == 0) {
            return false;
        }
        return switch (args[0]) {
            case "plan", "validate", "inventory" -> true;
            case "dag" -> args.length < 2 || !"retry".equals(args[1]);
            default -> false;
        };
    }

    /** The second JVM's command for this JVM, or null (see the method below). */
    private static List<String> command(String[] args) {
        ProcessHandle.Info info = ProcessHandle.current().info();
        Optional<String> java = info.command();
        Optional<String[]> given = info.arguments();
        Path jar = ownJar();
        if (java.isEmpty() || given.isEmpty() || jar == null) {
            return null;
        }
        return command(java.get(), given.get(), jar, args, System.getenv(), hugePagesOffered());
    }

    /**
     * The second JVM's command, or null: when {@code given} (the JVM's own arguments) is not exactly
     * {@code -jar JAR ARGS}, when the environment gives the JVM options ({@code JDK_JAVA_OPTIONS},
     * {@code JAVA_TOOL_OPTIONS}: the user's options are theirs to keep, so the command runs as given), or when there
     * is no archive beside the jar newer than it.
     */
    static List<String> command(String javaCommand, String[] given, Path jar, String[] args, Map<String, String> env,
                                boolean hugePages) {
        String[] a = given;
        if (a.length != args.length + 2 || !"-jar".equals(a[0]) || !samePath(a[1], jar)
                || !Arrays.equals(a, 2, a.length, args, 0, args.length)
                || env.containsKey("JDK_JAVA_OPTIONS") || env.containsKey("JAVA_TOOL_OPTIONS")) {
            return null;
        }
        Path jsa = Path.of(jar.toString().replaceFirst("\\.jar$", "") + ".jsa");
        try {
            if (!jar.toString().endsWith(".jar") || !Files.isRegularFile(jsa)
                    || Files.getLastModifiedTime(jsa).compareTo(Files.getLastModifiedTime(jar)) <= 0) {
                return null;
            }
        } catch (IOException e) {
            return null;
        }
        List<String> cmd = new ArrayList<>(List.of(javaCommand, "-Xlog:disable", "-Xlog:all=warning,cds*=off:stderr",
                "-Xshare:auto", "-XX:SharedArchiveFile=" + jsa));
        cmd.addAll(options(hugePages));
        cmd.add("-D" + MARK + "=jar");
        cmd.add("-jar");
        cmd.add(jar.toString());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** bin/obplay's options for the short commands (LauncherTest holds the two to the same list). */
    static List<String> options(boolean hugePages) {
        List<String> o = new ArrayList<>(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        if (hugePages) {
            o.add("-XX:+UseTransparentHugePages");
        }
        return o;
    }

    /** Whether the kernel offers transparent huge pages (madvise or always), as bin/obplay reads it. */
    static boolean hugePagesOffered() {
        try {
            String s = Files.isReadable(THP) ? Files.readString(THP).strip() : "";
            return !s.isEmpty() && !s.contains("[never]");
        } catch (IOException e) {
            return false;
        }
    }

    private static Path ownJar() {
        try {
            Path p = Path.of(FastStart.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isRegularFile(p) ? p.toAbsolutePath() : null;
        } catch (URISyntaxException | RuntimeException e) {
            return null;  // not from a jar (classes on a class path, tests)
        }
    }

    private static boolean samePath(String given, Path jar) {
        try {
            return Files.isSameFile(Path.of(given), jar);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
