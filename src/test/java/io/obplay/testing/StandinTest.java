package io.obplay.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** examples/standin/standin.py on this machine, no Docker: the behaviour the host tests rely on. */
@Timeout(120)
class StandinTest {

    private static final String BIND = "127.0.0.1";

    @TempDir
    Path tmp;

    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void killLeftovers() {
        for (long pid : started) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    private TestHosts.Run standin(String... args) {
        List<String> cmd = new ArrayList<>(List.of(TestHosts.python(), TestHosts.standinScript().toString()));
        cmd.addAll(List.of(args));
        return TestHosts.run(Duration.ofSeconds(30), cmd);
    }

    /** Starts `serve`, retrying with other ports if one was taken in the meantime. */
    private long serve(Path home, String name, boolean ignoreTerm, int[] portsOut) throws IOException {
        TestHosts.Run r = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            portsOut[0] = TestHosts.freePort(BIND);
            portsOut[1] = TestHosts.freePort(BIND);
            List<String> args = new ArrayList<>(List.of("serve", "--home", home.toString(), "--name", name,
                    "--pidfile", "run/" + name + ".pid", "--ports", portsOut[0] + "," + portsOut[1], "--bind", BIND));
            if (ignoreTerm) {
                args.add("--ignore-term");
            }
            r = standin(args.toArray(String[]::new));
            if (r.ok() || !r.stderr().contains("busy")) {
                break;
            }
        }
        assertEquals(0, r.exitCode(), r::toString);
        long pid = readPid(home.resolve("run/" + name + ".pid"));
        started.add(pid);
        assertTrue(r.stdout().contains("pid=" + pid), "prints its pid: " + r.stdout());
        return pid;
    }

    private static long readPid(Path pidFile) throws IOException {
        return Long.parseLong(Files.readString(pidFile).strip());
    }

    private static String comm(long pid) throws IOException {
        return Files.readString(Path.of("/proc/" + pid + "/comm")).strip();
    }

    @Test
    void serveIsReadyOnReturnRunsInItsHomeAndExitsOnTermLeavingThePidFile() throws Exception {
        Path home = tmp.resolve("zone1-a");
        int[] ports = new int[2];
        long pid = serve(home, "observer", false, ports);

        // ready on return: pid file, cwd, comm, both ports
        assertTrue(TestHosts.localPidAlive(pid));
        assertEquals(home.toRealPath(), Path.of("/proc/" + pid + "/cwd").toRealPath(), "cwd = home");
        assertEquals("observer", comm(pid));
        assertTrue(TestHosts.canConnect(BIND, ports[0], 1000));
        assertTrue(TestHosts.canConnect(BIND, ports[1], 1000));
        assertTrue(Files.isRegularFile(home.resolve("log/observer.log")));
        assertNotEquals(ProcessHandle.current().pid(),
                ProcessHandle.of(pid).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L),
                "daemonized: not our child");

        // a busy port: non-zero exit and a message, no pid file
        Path other = tmp.resolve("other");
        TestHosts.Run busy = standin("serve", "--home", other.toString(), "--name", "observer",
                "--ports", Integer.toString(ports[0]), "--bind", BIND);
        assertNotEquals(0, busy.exitCode());
        assertTrue(busy.stderr().contains("port " + ports[0]) && busy.stderr().contains("busy"), busy.stderr());
        assertFalse(Files.exists(other.resolve("run/observer.pid")));

        assertTrue(ProcessHandle.of(pid).orElseThrow().destroy()); // SIGTERM
        assertTrue(TestHosts.await(() -> !TestHosts.localPidAlive(pid), Duration.ofSeconds(5)), "TERM ends it");
        assertFalse(TestHosts.canConnect(BIND, ports[0], 500), "port released");
        assertEquals(pid, readPid(home.resolve("run/observer.pid")), "pid file left behind");
        String log = Files.readString(home.resolve("log/observer.log"));
        assertTrue(log.contains("received SIGTERM"), log);
    }

    @Test
    void ignoreTermSurvivesTermUntilKill() throws Exception {
        Path home = tmp.resolve("stubborn");
        int[] ports = new int[2];
        long pid = serve(home, "observer", true, ports);
        assertTrue(ProcessHandle.of(pid).orElseThrow().destroy());
        Thread.sleep(800);
        assertTrue(TestHosts.localPidAlive(pid), "still alive after SIGTERM");
        assertTrue(TestHosts.canConnect(BIND, ports[0], 1000));
        assertTrue(Files.readString(home.resolve("log/observer.log")).contains("ignoring"));
        assertTrue(ProcessHandle.of(pid).orElseThrow().destroyForcibly());
        assertTrue(TestHosts.await(() -> !TestHosts.localPidAlive(pid), Duration.ofSeconds(5)), "KILL ends it");
    }

    @Test
    void termDelayIsHonoured() throws Exception {
        Path home = tmp.resolve("slow");
        TestHosts.Run r = standin("serve", "--home", home.toString(), "--name", "observer",
                "--term-delay", "1.5", "--bind", BIND);
        assertEquals(0, r.exitCode(), r::toString);
        long pid = readPid(home.resolve("run/observer.pid"));
        started.add(pid);
        long t0 = System.nanoTime();
        assertTrue(ProcessHandle.of(pid).orElseThrow().destroy());
        Thread.sleep(700);
        assertTrue(TestHosts.localPidAlive(pid), "still draining within --term-delay");
        assertTrue(TestHosts.await(() -> !TestHosts.localPidAlive(pid), Duration.ofSeconds(5)));
        assertTrue(System.nanoTime() - t0 >= 1_400_000_000L, "exited after about 1.5 s");
    }

    @Test
    void watchdogRespawnsItsChildUntilTheWatchdogIsStopped() throws Exception {
        Path home = tmp.resolve("obproxy");
        int listen = 0;
        TestHosts.Run r = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            listen = TestHosts.freePort(BIND);
            r = standin("watchdog", "--home", home.toString(),
                    "--pidfile", "run/obproxyd-" + BIND + "-" + listen + ".pid",
                    "--child-pidfile", "run/obproxy.pid", "--",
                    "--name", "obproxy", "--pidfile", "run/obproxy.pid", "--ports", Integer.toString(listen),
                    "--bind", BIND);
            if (r.ok() || !r.stderr().contains("busy")) {
                break;
            }
        }
        assertEquals(0, r.exitCode(), r::toString);
        Path daemonPidFile = home.resolve("run/obproxyd-" + BIND + "-" + listen + ".pid");
        Path childPidFile = home.resolve("run/obproxy.pid");
        long daemon = readPid(daemonPidFile);
        started.add(daemon);
        long child = readPid(childPidFile);
        started.add(child);
        assertEquals("obproxyd", comm(daemon));
        assertEquals("obproxy", comm(child));
        assertEquals(home.toRealPath(), Path.of("/proc/" + daemon + "/cwd").toRealPath());
        assertEquals(home.toRealPath(), Path.of("/proc/" + child + "/cwd").toRealPath());
        final int port = listen;
        assertTrue(TestHosts.canConnect(BIND, port, 1000), "child listens when the watchdog returns");

        // kill -9 obproxy: the watchdog brings it back within about a second
        long t0 = System.nanoTime();
        assertTrue(ProcessHandle.of(child).orElseThrow().destroyForcibly());
        assertTrue(TestHosts.await(() -> {
            try {
                long p = readPid(childPidFile);
                return p != child && TestHosts.localPidAlive(p) && TestHosts.canConnect(BIND, port, 200);
            } catch (IOException | NumberFormatException e) {
                return false;
            }
        }, Duration.ofSeconds(5)), "respawned");
        long respawnMillis = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(respawnMillis < 3000, "respawned in " + respawnMillis + " ms");
        long second = readPid(childPidFile);
        started.add(second);
        assertEquals("obproxy", comm(second));

        // stop the watchdog first, then obproxy: nothing comes back
        assertTrue(ProcessHandle.of(daemon).orElseThrow().destroy());
        assertTrue(TestHosts.await(() -> !TestHosts.localPidAlive(daemon), Duration.ofSeconds(5)));
        assertTrue(Files.exists(daemonPidFile), "the watchdog leaves its pid file too");
        assertTrue(ProcessHandle.of(second).orElseThrow().destroyForcibly());
        assertTrue(TestHosts.await(() -> !TestHosts.localPidAlive(second), Duration.ofSeconds(5)));
        Thread.sleep(1000);
        assertEquals(second, readPid(childPidFile), "no respawn once obproxyd is gone");
        assertFalse(TestHosts.canConnect(BIND, port, 500));
    }

    @Test
    void startDemoStartsThreeObserversAndAnObproxyWithItsWatchdog() throws Exception {
        // a base port whose neighbours (base .. base+21) are free: retried in a fresh root if not
        Path root = null;
        int base = 0;
        TestHosts.Run r = null;
        for (int attempt = 0; attempt < 10; attempt++) {
            root = tmp.resolve("demo" + attempt);
            base = 20000 + (int) (Math.random() * 10000);
            r = standin("start-demo", "--root", root.toString(), "--base-port", Integer.toString(base));
            collectDemoPids(root);
            if (r.ok() || !r.stderr().contains("busy")) {
                break;
            }
            killLeftovers();
        }
        assertEquals(0, r.exitCode(), r::toString);
        for (String z : List.of("zone1-a", "zone2-a", "zone3-a")) {
            Path home = root.resolve(z);
            long pid = readPid(home.resolve("run/observer.pid"));
            assertTrue(TestHosts.localPidAlive(pid), z);
            assertEquals(home.toRealPath(), Path.of("/proc/" + pid + "/cwd").toRealPath());
            for (String d : List.of("store", "log", "etc", "run")) {
                assertTrue(Files.isDirectory(home.resolve(d)), z + "/" + d);
            }
            assertTrue(Files.list(home.resolve("store")).findAny().isPresent(), "store has files");
        }
        assertTrue(TestHosts.canConnect(BIND, base, 1000));
        assertTrue(TestHosts.canConnect(BIND, base + 10, 1000));
        assertTrue(TestHosts.canConnect(BIND, base + 20, 1000));
        assertTrue(TestHosts.canConnect(BIND, base + 2, 1000), "obproxy listen port");
        Path proxy = root.resolve("obproxy");
        long proxyPid = readPid(proxy.resolve("run/obproxy-" + BIND + "-" + (base + 2) + ".pid"));
        long daemonPid = readPid(proxy.resolve("run/obproxyd-" + BIND + "-" + (base + 2) + ".pid"));
        assertEquals("obproxy", comm(proxyPid));
        assertEquals("obproxyd", comm(daemonPid));
        assertTrue(r.stdout().contains("zone3-a"), r.stdout());

        // a second start-demo is idempotent
        TestHosts.Run again = standin("start-demo", "--root", root.toString(), "--base-port", Integer.toString(base));
        assertEquals(0, again.exitCode(), again::toString);
        assertTrue(again.stdout().contains("already running"), again.stdout());
        assertEquals(proxyPid, readPid(proxy.resolve("run/obproxy-" + BIND + "-" + (base + 2) + ".pid")));
    }

    /** Records every pid file's process under root, watchdogs first, for the clean-up. */
    private void collectDemoPids(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            return;
        }
        List<Path> pidFiles;
        try (var s = Files.walk(root)) {
            pidFiles = s.filter(p -> p.toString().endsWith(".pid")).sorted((a, b) ->
                    Boolean.compare(!a.getFileName().toString().startsWith("obproxyd"),
                            !b.getFileName().toString().startsWith("obproxyd"))).toList();
        }
        for (Path p : pidFiles) {
            try {
                long pid = readPid(p);
                if (!started.contains(pid)) {
                    started.add(pid);
                }
            } catch (IOException | NumberFormatException e) {
                // ignore
            }
        }
        assertNotNull(pidFiles);
    }
}
