package io.obplay.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Startable stand-ins ({@code standin.py install}): a home's {@code bin/observer} / {@code bin/obproxy} started the
 * way obshell starts an installed server ({@code cd <home>; LD_LIBRARY_PATH=<home>/lib <home>/bin/observer}, no
 * arguments), and OBD's {@code obproxyd.sh}. Real processes, real ports, real pid files.
 */
@Timeout(120)
class StandinStartableTest {

    private static final String BIND = "127.0.0.1";
    private static final Pattern DAEMON_PID = Pattern.compile("daemonized, pid=(\\d+)");

    @TempDir
    Path tmp;

    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        for (long pid : started) { // watchdogs are recorded before their children
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    private TestHosts.Run install(Path home, String kind, int[] ports, String... more) {
        List<String> cmd = new ArrayList<>(List.of(TestHosts.python(), TestHosts.standinScript().toString(),
                "install", "--home", home.toString(), "--kind", kind, "--ports", ports[0] + "," + ports[1],
                "--bind", BIND));
        cmd.addAll(List.of(more));
        TestHosts.Run r = TestHosts.run(Duration.ofSeconds(30), cmd);
        assertEquals(0, r.exitCode(), r::toString);
        return r;
    }

    private static int[] twoPorts() {
        return new int[] {TestHosts.freePort(BIND), TestHosts.freePort(BIND)};
    }

    /** What obshell runs: cwd = home, LD_LIBRARY_PATH = home/lib, home/bin/KIND and no arguments. */
    private static Started startAsObshell(Path home, String kind) throws Exception {
        Path out = home.resolve("../" + home.getFileName() + "-start.out");
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/" + kind).toString())
                .directory(home.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(out.toFile());
        pb.environment().put("LD_LIBRARY_PATH", home.resolve("lib").toString());
        long t0 = System.nanoTime();
        Process p = pb.start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "the start command returns (it daemonizes)");
        long millis = (System.nanoTime() - t0) / 1_000_000;
        return new Started(p.pid(), p.exitValue(), Files.readString(out), millis, t0);
    }

    private record Started(long launcherPid, int exitCode, String output, long millis, long t0) {
        long daemonPid() {
            Matcher m = DAEMON_PID.matcher(output);
            assertTrue(m.find(), "prints the daemon's pid: " + output);
            return Long.parseLong(m.group(1));
        }

        long secondsSinceStart() {
            return (System.nanoTime() - t0) / 1_000_000_000L;
        }
    }

    private static long readPid(Path pidFile) throws IOException {
        return Long.parseLong(Files.readString(pidFile).strip());
    }

    private static String comm(long pid) throws IOException {
        return Files.readString(Path.of("/proc/" + pid + "/comm")).strip();
    }

    private static Path cwd(long pid) throws IOException {
        return Path.of("/proc/" + pid + "/cwd").toRealPath();
    }

    private static List<String> logLines(Path log) throws IOException {
        return Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
    }

    @Test
    void observerDaemonizesWritesItsPidFileAndListensAfterTheDelay() throws Exception {
        Path home = tmp.resolve("zone1-a");
        int[] ports = twoPorts();
        install(home, "observer", ports, "--listen-delay", "2", "--zone", "zone1");
        assertTrue(Files.isRegularFile(home.resolve("etc/observer.config.bin")));
        String config = Files.readString(home.resolve("etc/observer.config.bin"));
        assertTrue(config.contains("mysql_port=" + ports[0]) && config.contains("rpc_port=" + ports[1]), config);

        Started s = startAsObshell(home, "observer");
        assertEquals(0, s.exitCode(), s.output());
        long pid = readPid(home.resolve("run/observer.pid"));
        started.add(pid);
        assertEquals(pid, s.daemonPid(), "the pid file holds the daemon's pid");
        // daemonized: the command we ran has exited, the daemon lives on, not our child nor the launcher
        assertFalse(TestHosts.localPidAlive(s.launcherPid()), "the launched process exited");
        assertNotEquals(s.launcherPid(), pid);
        assertTrue(TestHosts.localPidAlive(pid), "the daemon is alive");
        long parent = ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L);
        assertNotEquals(ProcessHandle.current().pid(), parent, "not our child");
        assertNotEquals(s.launcherPid(), parent, "not the launcher's child");
        assertEquals(home.toRealPath(), cwd(pid), "cwd = home");
        assertEquals("observer", comm(pid));

        // not listening before the delay (checked well within it), listening after it
        if (s.millis() < 1200) {
            assertFalse(TestHosts.canConnect(BIND, ports[0], 300), "not listening yet");
        }
        assertTrue(TestHosts.await(() -> TestHosts.canConnect(BIND, ports[0], 200)
                && TestHosts.canConnect(BIND, ports[1], 200), Duration.ofSeconds(10)), "listens after the delay");
        List<String> log = logLines(home.resolve("log/observer.log"));
        assertTrue(log.get(0).contains("started pid=" + pid), log.toString());
        assertTrue(log.get(log.size() - 1).contains("listening on " + BIND + ":" + ports[0] + "," + ports[1]),
                log.toString());

        assertTrue(ProcessHandle.of(pid).orElseThrow().destroy());
        assertTrue(TestHosts.await(() -> !TestHosts.localPidAlive(pid), Duration.ofSeconds(5)), "TERM ends it");
        assertEquals(pid, readPid(home.resolve("run/observer.pid")), "pid file left behind");
    }

    @Test
    void pidFileUnderAnotherNameOrNone() throws Exception {
        Path other = tmp.resolve("other-name");
        int[] ports = twoPorts();
        install(other, "observer", ports, "--pidfile", "run/observer-" + ports[0] + ".pid", "--listen-delay", "0");
        Started s = startAsObshell(other, "observer");
        assertEquals(0, s.exitCode(), s.output());
        long pid = readPid(other.resolve("run/observer-" + ports[0] + ".pid"));
        started.add(pid);
        assertEquals(pid, s.daemonPid());
        assertFalse(Files.exists(other.resolve("run/observer.pid")), "no file under the default name");
        assertTrue(TestHosts.await(() -> TestHosts.canConnect(BIND, ports[0], 200), Duration.ofSeconds(10)));

        Path none = tmp.resolve("no-pidfile");
        int[] ports2 = twoPorts();
        install(none, "obproxy", ports2, "--no-pidfile", "--listen-delay", "0");
        assertTrue(Files.isRegularFile(none.resolve("etc/obproxy_config.bin")));
        Started t = startAsObshell(none, "obproxy");
        assertEquals(0, t.exitCode(), t.output());
        long pid2 = t.daemonPid();
        started.add(pid2);
        assertTrue(TestHosts.localPidAlive(pid2));
        assertEquals("obproxy", comm(pid2));
        assertEquals(none.toRealPath(), cwd(pid2));
        assertTrue(TestHosts.await(() -> TestHosts.canConnect(BIND, ports2[0], 200), Duration.ofSeconds(10)));
        try (var files = Files.list(none.resolve("run"))) {
            assertEquals(List.of(), files.toList(), "no pid file at all");
        }
        assertTrue(Files.readString(none.resolve("log/obproxy.log")).contains("pidfile=(none)"));
    }

    @Test
    void crashAtStartLeavesAStalePidFileAndSaysWhyInTheLastLogLine() throws Exception {
        Path home = tmp.resolve("crash");
        int[] ports = twoPorts();
        install(home, "observer", ports, "--fault", "crash the clog disk is full (stand-in)");
        assertEquals("crash the clog disk is full (stand-in)",
                Files.readString(home.resolve("etc/standin.fault")).strip());
        Started s = startAsObshell(home, "observer");
        assertEquals(0, s.exitCode(), "like the real one: it daemonized before it crashed: " + s.output());
        long pid = readPid(home.resolve("run/observer.pid"));
        started.add(pid);
        assertTrue(TestHosts.await(() -> !TestHosts.localPidAlive(pid), Duration.ofSeconds(5)), "it died");
        assertTrue(Files.exists(home.resolve("run/observer.pid")), "the stale pid file stays");
        List<String> log = logLines(home.resolve("log/observer.log"));
        assertTrue(log.get(log.size() - 1).contains("ERROR: crashing at start: the clog disk is full (stand-in)"),
                log.toString());
        assertFalse(TestHosts.canConnect(BIND, ports[0], 300));
    }

    @Test
    void neverListenStaysAliveWithoutPortsAndLateListensLate() throws Exception {
        Path never = tmp.resolve("never");
        int[] ports = twoPorts();
        install(never, "observer", ports, "--fault", "never-listen", "--listen-delay", "0");
        Path late = tmp.resolve("late");
        int[] ports2 = twoPorts();
        install(late, "observer", ports2, "--listen-delay", "0");
        Files.writeString(late.resolve("etc/standin.fault"), "late 3\n"); // a fault file written by hand

        Started n = startAsObshell(never, "observer");
        Started l = startAsObshell(late, "observer");
        assertEquals(0, n.exitCode(), n.output());
        assertEquals(0, l.exitCode(), l.output());
        long neverPid = readPid(never.resolve("run/observer.pid"));
        long latePid = readPid(late.resolve("run/observer.pid"));
        started.add(neverPid);
        started.add(latePid);

        Thread.sleep(1500);
        assertTrue(TestHosts.localPidAlive(neverPid));
        assertFalse(TestHosts.canConnect(BIND, ports[0], 300), "never-listen: no port");
        assertFalse(TestHosts.canConnect(BIND, ports[1], 300), "never-listen: no port");
        if (l.secondsSinceStart() < 3) {
            assertFalse(TestHosts.canConnect(BIND, ports2[0], 300), "late: not yet");
        }
        assertTrue(TestHosts.await(() -> TestHosts.canConnect(BIND, ports2[0], 200), Duration.ofSeconds(10)),
                "late: listens after 3 s");
        assertTrue(l.secondsSinceStart() >= 3 - 1, "not before its time");
        assertFalse(TestHosts.canConnect(BIND, ports[0], 300), "never-listen: still no port");
        assertTrue(Files.readString(never.resolve("log/observer.log")).contains("never listening"));
        assertTrue(Files.readString(late.resolve("log/observer.log")).contains("listen_delay=3.00s"));
    }

    @Test
    void aBusyPortAtListenTimeEndsTheDaemonAfterTheStartReturned0() throws Exception {
        Path first = tmp.resolve("first");
        int[] ports = twoPorts();
        install(first, "observer", ports, "--listen-delay", "0");
        Started a = startAsObshell(first, "observer");
        long running = readPid(first.resolve("run/observer.pid"));
        started.add(running);
        assertTrue(TestHosts.await(() -> TestHosts.canConnect(BIND, ports[0], 200), Duration.ofSeconds(10)));

        Path second = tmp.resolve("second");
        install(second, "observer", ports, "--listen-delay", "0.2");
        Started b = startAsObshell(second, "observer");
        assertEquals(0, a.exitCode());
        assertEquals(0, b.exitCode(), "it had daemonized before it found the port taken: " + b.output());
        long loser = readPid(second.resolve("run/observer.pid"));
        started.add(loser);
        assertTrue(TestHosts.await(() -> !TestHosts.localPidAlive(loser), Duration.ofSeconds(5)), "it exits");
        List<String> log = logLines(second.resolve("log/observer.log"));
        assertEquals("observer: ERROR: exiting: port " + ports[0] + " on " + BIND + " is busy (already in use)",
                log.get(log.size() - 1).replaceFirst("^\\[[^]]*\\] \\[\\d+\\] ", ""), log.toString());
        assertTrue(TestHosts.localPidAlive(running), "the first one is untouched");
    }

    @Test
    void withoutItsConfigItRefusesToStart() throws Exception {
        Path home = tmp.resolve("noconf");
        install(home, "observer", twoPorts());
        Files.delete(home.resolve("etc/observer.config.bin"));
        Started s = startAsObshell(home, "observer");
        assertEquals(1, s.exitCode());
        assertTrue(s.output().contains("etc/observer.config.bin does not exist under " + home), s.output());
        assertFalse(Files.exists(home.resolve("run/observer.pid")));
    }

    @Test
    void obproxydShStartsObproxyAndBringsItBack() throws Exception {
        Path home = tmp.resolve("obproxy");
        int[] ports = twoPorts();
        install(home, "obproxy", ports, "--watchdog", "obproxyd.sh", "--listen-delay", "0.3");
        assertTrue(Files.isExecutable(home.resolve("obproxyd.sh")));
        // as OBD runs it: bash obproxyd.sh <home> <ip> <port>
        TestHosts.Run r = TestHosts.run(Duration.ofSeconds(30), "bash", home.resolve("obproxyd.sh").toString(),
                home.toString(), BIND, Integer.toString(ports[0]));
        assertEquals(0, r.exitCode(), r::toString);
        Path daemonPidFile = home.resolve("run/obproxyd-" + BIND + "-" + ports[0] + ".pid");
        Path childPidFile = home.resolve("run/obproxy-" + BIND + "-" + ports[0] + ".pid");
        long daemon = readPid(daemonPidFile);
        started.add(daemon);
        long child = readPid(childPidFile);
        started.add(child);
        assertEquals("obproxyd", comm(daemon));
        assertEquals("obproxy", comm(child));
        assertEquals(home.toRealPath(), cwd(daemon));
        assertEquals(home.toRealPath(), cwd(child));
        assertEquals(child, readPid(home.resolve("run/obproxy.pid")), "obproxy's own pid file agrees");
        assertTrue(TestHosts.await(() -> TestHosts.canConnect(BIND, ports[0], 200), Duration.ofSeconds(10)));

        assertTrue(ProcessHandle.of(child).orElseThrow().destroyForcibly());
        assertTrue(TestHosts.await(() -> {
            try {
                long p = readPid(childPidFile);
                return p != child && TestHosts.localPidAlive(p) && TestHosts.canConnect(BIND, ports[0], 200);
            } catch (IOException | NumberFormatException e) {
                return false;
            }
        }, Duration.ofSeconds(10)), "the watchdog respawned obproxy");
        long second = readPid(childPidFile);
        started.add(second);
        assertEquals(home.toRealPath(), cwd(second));

        assertTrue(ProcessHandle.of(daemon).orElseThrow().destroy());
        assertTrue(TestHosts.await(() -> !TestHosts.localPidAlive(daemon), Duration.ofSeconds(5)));
        assertTrue(ProcessHandle.of(second).orElseThrow().destroy());
        assertTrue(TestHosts.await(() -> !TestHosts.localPidAlive(second), Duration.ofSeconds(5)));
        Thread.sleep(800);
        assertEquals(second, readPid(childPidFile), "no respawn once obproxyd is gone");
    }
}
