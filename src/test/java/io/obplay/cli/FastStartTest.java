package io.obplay.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * When plain {@code java -jar} re-runs a command in a JVM started as bin/obplay starts it, and when it runs it as
 * given. (That the options are bin/obplay's own is LauncherTest's; the timing is BENCHMARKS.md §2.)
 */
class FastStartTest {
    @TempDir
    Path tmp;

    private Path jar;
    private Path jsa;

    private void build(boolean archiveNewer) throws IOException {
        jar = Files.writeString(tmp.resolve("obplay.jar"), "jar");
        jsa = Files.writeString(tmp.resolve("obplay.jsa"), "archive");
        Instant now = Instant.now();
        Files.setLastModifiedTime(jar, FileTime.from(now.minusSeconds(archiveNewer ? 60 : 0)));
        Files.setLastModifiedTime(jsa, FileTime.from(now.minusSeconds(archiveNewer ? 0 : 60)));
    }

    private List<String> command(String[] given, String[] args, Map<String, String> env) {
        return FastStart.command("/usr/bin/java", given, jar, args, env, false);
    }

    @Test
    void onlyTheShortCommandsAreRerun() {
        for (String[] a : new String[][]{{"plan", "-i", "x"}, {"validate"}, {"inventory", "-i", "x"}, {"dag", "list"}, {"dag"}}) {
            assertTrue(FastStart.isShort(a), String.join(" ", a));
        }
        for (String[] a : new String[][]{{}, {"run", "x"}, {"serve"}, {"dag", "retry", "7"}, {"--version"}, {"help"}}) {
            assertFalse(FastStart.isShort(a), String.join(" ", a));
        }
    }

    @Test
    void plainJavaDashJarWithAFreshArchiveIsRerunWithTheLaunchersOptionsAndTheArgumentsUntouched() throws IOException {
        build(true);
        String[] args = {"plan", "-i", "a b.yaml", "$HOME", "*", ""};
        String[] given = {"-jar", jar.toString(), "plan", "-i", "a b.yaml", "$HOME", "*", ""};
        List<String> cmd = command(given, args, Map.of());
        assertEquals(List.of("/usr/bin/java", "-Xlog:disable", "-Xlog:all=warning,cds*=off:stderr", "-Xshare:auto",
                "-XX:SharedArchiveFile=" + jsa, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Dobplay.launcher=jar",
                "-jar", jar.toString(), "plan", "-i", "a b.yaml", "$HOME", "*", ""), cmd);
        assertTrue(FastStart.command("/usr/bin/java", given, jar, args, Map.of(), true).contains("-XX:+UseTransparentHugePages"));
        // the jar named relatively, as `java -jar target/obplay.jar` names it, is the same jar
        Path relative = Path.of("").toAbsolutePath().relativize(jar);
        assertEquals(cmd, command(new String[]{"-jar", relative.toString(), "plan", "-i", "a b.yaml", "$HOME", "*", ""}, args, Map.of()));
    }

    @Test
    void theUsersOwnJvmOptionsAStaleArchiveOrAnotherJarRunAsGiven() throws IOException {
        build(true);
        String[] args = {"plan"};
        assertNull(command(new String[]{"-Xmx1g", "-jar", jar.toString(), "plan"}, args, Map.of()), "a JVM option");
        assertNull(command(new String[]{"-jar", jar.toString(), "plan"}, args, Map.of("JDK_JAVA_OPTIONS", "-Xmx1g")), "JDK_JAVA_OPTIONS");
        assertNull(command(new String[]{"-jar", jar.toString(), "plan"}, args, Map.of("JAVA_TOOL_OPTIONS", "-Xmx1g")), "JAVA_TOOL_OPTIONS");
        assertNull(command(new String[]{"-cp", jar.toString(), "io.obplay.cli.Main", "plan"}, args, Map.of()), "-cp");
        assertNull(command(new String[]{"-jar", tmp.resolve("other.jar").toString(), "plan"}, args, Map.of()), "another jar");
        assertNull(command(new String[]{"-jar", jar.toString(), "validate"}, args, Map.of()), "other arguments");
        Files.delete(jsa);
        assertNull(command(new String[]{"-jar", jar.toString(), "plan"}, args, Map.of()), "no archive");
        build(false);
        assertNull(command(new String[]{"-jar", jar.toString(), "plan"}, args, Map.of()), "the jar rebuilt since the archive");
    }

    @Test
    void aJvmALauncherStartedNeverStartsAnother() {
        String before = System.getProperty(FastStart.MARK);
        System.setProperty(FastStart.MARK, "jar");
        try {
            assertNull(FastStart.rerun(new String[]{"plan", "-i", "x"}));
        } finally {
            if (before == null) {
                System.clearProperty(FastStart.MARK);
            } else {
                System.setProperty(FastStart.MARK, before);
            }
        }
        // and the test JVM, started by Maven with its own options and classes, is not a plain `java -jar`
        assertNull(FastStart.rerun(new String[]{"plan", "-i", "x"}));
    }
}
