package io.obplay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/obplay, the launcher: run with a stand-in for java (JAVA=a script that prints its arguments one per
 * line), it must hand the JVM the options its header promises, in the right order, and the arguments untouched.
 */
class LauncherTest {
    private static final Path LAUNCHER = Path.of("bin/obplay").toAbsolutePath();
    private static final List<String> LOGGING = List.of("-Xlog:disable", "-Xlog:all=warning,cds*=off:stderr");

    @TempDir
    Path tmp;
    Path jar;
    Path jsa;
    Path fakeJava;

    @BeforeEach
    void setUp() throws IOException {
        jar = tmp.resolve("obplay.jar");
        jsa = tmp.resolve("obplay.jsa");
        Files.writeString(jar, "not really a jar");
        fakeJava = tmp.resolve("java");
        Files.writeString(fakeJava, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n");
        Files.setPosixFilePermissions(fakeJava, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void shortCommandsGetC1OnlyTheSerialCollectorAndHugePagesWhereTheKernelOffersThem() throws Exception {
        for (String command : List.of("plan", "validate", "inventory", "--version")) {
            assertEquals(jvm(short_(List.of("-jar", jar.toString(), command, "x"))), launch(Map.of(), command, "x"), command);
        }
        assertEquals(jvm(short_(List.of("-jar", jar.toString(), "dag", "list"))), launch(Map.of(), "dag", "list"));
    }

    /**
     * The short commands' options: with huge pages when this kernel's transparent huge pages are not "never". They
     * are FastStart's, which plain `java -jar` re-runs a short command with: the two places say the same.
     */
    private static List<String> short_(List<String> rest) throws IOException {
        Path thp = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        boolean offered = Files.isReadable(thp) && !Files.readString(thp).isBlank() && !Files.readString(thp).contains("[never]");
        assertEquals(offered, FastStart.hugePagesOffered());
        List<String> all = new ArrayList<>(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        if (offered) {
            all.add("-XX:+UseTransparentHugePages");
        }
        assertEquals(all, FastStart.options(offered));
        all.addAll(rest);
        return all;
    }

    @Test
    void runAndDagRetryKeepTheDefaultCollectorAndServeKeepsEverything() throws Exception {
        assertEquals(jvm(List.of("-XX:TieredStopAtLevel=1", "-jar", jar.toString(), "run", "--yes")),
                launch(Map.of(), "run", "--yes"));
        assertEquals(jvm(List.of("-XX:TieredStopAtLevel=1", "-jar", jar.toString(), "dag", "retry", "7")),
                launch(Map.of(), "dag", "retry", "7"));
        assertEquals(jvm(List.of("-jar", jar.toString(), "serve", "--port", "0")), launch(Map.of(), "serve", "--port", "0"));
    }

    @Test
    void extraOptionsComeAfterTheLaunchersSoTheyWinAndAreNotGlobbed() throws Exception {
        Files.writeString(tmp.resolve("-Xmx1g"), ""); // a file a glob of the options could pick up
        assertEquals(jvm(short_(List.of("-XX:TieredStopAtLevel=4", "-Xm*", "-jar", jar.toString(), "plan"))),
                launch(Map.of("OBPLAY_JAVA_OPTS", "-XX:TieredStopAtLevel=4 -Xm*"), "plan"));
    }

    @Test
    void argumentsPassUntouched() throws Exception {
        List<String> odd = List.of("plan", "a b", "*", "$HOME", "it's", "", "--format", "obshell");
        List<String> out = launch(Map.of(), odd.toArray(String[]::new));
        assertEquals(odd, out.subList(out.size() - odd.size(), out.size()));
    }

    @Test
    void theClassDataArchiveIsUsedOnlyWhenNewerThanTheJar() throws Exception {
        Files.writeString(jsa, "archive");
        Files.setLastModifiedTime(jar, FileTime.from(Instant.now().minusSeconds(60)));
        List<String> withArchive = launch(Map.of(), "plan");
        assertEquals(List.of("-Xshare:auto", "-XX:SharedArchiveFile=" + jsa), withArchive.subList(2, 4), withArchive.toString());

        Files.setLastModifiedTime(jsa, FileTime.from(Instant.now().minusSeconds(120))); // the jar was rebuilt since
        assertTrue(launch(Map.of(), "plan").stream().noneMatch(a -> a.contains("Share")));
    }

    @Test
    void throughSymlinksItFindsTheJarOfItsOwnCheckout() throws Exception {
        // a symlink on the PATH (absolute), and one to that symlink (relative): the jar is still the checkout's
        Path bin = Files.createDirectories(tmp.resolve("home/.local/bin"));
        Path absolute = Files.createSymbolicLink(bin.resolve("obplay"), LAUNCHER);
        Path relative = Files.createSymbolicLink(tmp.resolve("home/obplay"), Path.of(".local/bin/obplay"));
        Path ownJar = LAUNCHER.getParent().getParent().resolve("target/obplay.jar");
        for (Path link : List.of(absolute, relative)) {
            ProcessBuilder pb = new ProcessBuilder(link.toString(), "plan").directory(tmp.toFile());
            pb.environment().remove("OBPLAY_JAVA_OPTS");
            pb.environment().remove("OBPLAY_JAR");
            pb.environment().put("JAVA", fakeJava.toString());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
            List<String> args = List.of(out.split("\n"));
            assertEquals(ownJar.toString(), args.get(args.indexOf("-jar") + 1), link + ": " + args);
        }
    }

    @Test
    void shellcheckFindsNothing() throws Exception {
        Path shellcheck = Stream.of("/usr/bin/shellcheck", "/usr/local/bin/shellcheck").map(Path::of)
                .filter(Files::isExecutable).findFirst()
                .orElseThrow(() -> new AssertionError("shellcheck is missing: apt-get install -y shellcheck"));
        Process p = new ProcessBuilder(shellcheck.toString(), LAUNCHER.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
    }

    private static List<String> jvm(List<String> rest) {
        List<String> all = new ArrayList<>(LOGGING);
        all.addAll(rest);
        return all;
    }

    private List<String> launch(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile());
        pb.environment().remove("OBPLAY_JAVA_OPTS");
        pb.environment().put("JAVA", fakeJava.toString());
        pb.environment().put("OBPLAY_JAR", jar.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), err);
        List<String> lines = new ArrayList<>(List.of(out.split("\n", -1)));
        lines.remove(lines.size() - 1); // after the last newline
        return lines;
    }
}
