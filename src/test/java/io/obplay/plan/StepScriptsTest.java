package io.obplay.plan;

import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.inventory.SshSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs the generated scripts with /bin/sh (dash on Debian) against real processes (examples/standin/standin.py),
 * real ports and real pid files on this machine.
 */
class StepScriptsTest {

    static final Path STANDIN = Path.of("examples/standin/standin.py").toAbsolutePath();
    static final String PYTHON = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    static final Duration LONG = Duration.ofSeconds(20);

    @TempDir
    Path tmp;

    final List<Process> children = new ArrayList<>();
    final List<ServerSocket> sockets = new ArrayList<>();

    @AfterEach
    void killLeftovers() throws IOException {
        for (ServerSocket s : sockets) {
            s.close();
        }
        for (Process p : children) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        // daemonized stand-ins are not our children: find them by their cwd
        String root = tmp.toRealPath().toString();
        for (long pid : pidsUnder(root)) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // fixtures

    static Server observer(Path home, int mysqlPort, int rpcPort) {
        String h = home.toString();
        Map<String, String> dirs = new LinkedHashMap<>();
        dirs.put("home", h);
        dirs.put("data_dir", h + "/store");
        dirs.put("redo_dir", h + "/store");
        dirs.put("clog_dir", h + "/store/clog");
        dirs.put("slog_dir", h + "/store/slog");
        dirs.put("log", h + "/log");
        dirs.put("run", h + "/run");
        dirs.put("etc", h + "/etc");
        return observer(home, dirs, mysqlPort, rpcPort);
    }

    static Server observer(Path home, Map<String, String> dirs, int mysqlPort, int rpcPort) {
        Map<String, Integer> ports = new LinkedHashMap<>();
        ports.put("mysql_port", mysqlPort);
        ports.put("rpc_port", rpcPort);
        return new Server(Role.OBSERVER, "127.0.0.1:2886", "zone1", 0, 0, "127.0.0.1", 2886, SshSettings.DEFAULTS,
                home.toString(), dirs, ports, Map.of("server", home + "/run/observer.pid"), Map.of());
    }

    static Server obproxy(Path home, int listenPort, int prometheusPort) {
        String h = home.toString();
        Map<String, String> dirs = new LinkedHashMap<>();
        dirs.put("home", h);
        dirs.put("log", h + "/log");
        dirs.put("run", h + "/run");
        dirs.put("etc", h + "/etc");
        Map<String, Integer> ports = new LinkedHashMap<>();
        ports.put("listen_port", listenPort);
        ports.put("prometheus_listen_port", prometheusPort);
        Map<String, String> pids = new LinkedHashMap<>();
        pids.put("server", h + "/run/obproxy.pid");
        pids.put("daemon", h + "/run/obproxyd-127.0.0.1-" + listenPort + ".pid");
        return new Server(Role.OBPROXY, "obproxy:1/1", "proxy", 1, 1, "127.0.0.1", 2886, SshSettings.DEFAULTS,
                h, dirs, ports, pids, Map.of());
    }

    int[] freePorts(int n) throws IOException {
        List<ServerSocket> open = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                open.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : open) {
                s.close();
            }
        }
    }

    /** Listens on a port from this JVM (a foreign listener, not under any home). */
    void listenHere(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        sockets.add(s);
    }

    /** Starts a daemonized stand-in; returns its pid. */
    static long serve(Path home, String name, String pidFile, int[] ports, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(PYTHON, STANDIN.toString(), "serve", "--home", home.toString(),
                "--name", name, "--pidfile", pidFile, "--ports", join(ports), "--bind", "127.0.0.1"));
        cmd.addAll(List.of(extra));
        Result r = exec(cmd, null);
        assertEquals(0, r.code, "stand-in did not start: " + r.out);
        return readPid(home.resolve(pidFile));
    }

    static Result exec(List<String> cmd, Path cwd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        if (cwd != null) {
            pb.directory(cwd.toFile());
        }
        long t0 = System.nanoTime();
        Process p = pb.start();
        byte[] out;
        try (InputStream in = p.getInputStream()) {
            out = in.readAllBytes();
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("timed out: " + cmd);
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                Duration.ofNanos(System.nanoTime() - t0));
    }

    /** The settle period of the tests' stops: shorter than the default, long enough for a watchdog's respawn. */
    static final Duration SETTLE = Duration.ofMillis(1500);

    static Script stop(Server s, Duration grace, Duration killWait) {
        return StepScripts.stop(s, grace, killWait, SETTLE);
    }

    static Script kill(Server s, Duration killWait) {
        return StepScripts.kill(s, killWait, SETTLE);
    }

    static Result run(Script s) throws Exception {
        Result r = exec(List.of("/bin/sh", "-c", s.runnable()), null);
        System.out.println("---- exit " + r.code + " in " + r.took.toMillis() + " ms\n" + r.out);
        return r;
    }

    record Result(int code, String out, Duration took) {
    }

    static String join(int[] ports) {
        return java.util.Arrays.stream(ports).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    static long readPid(Path f) throws IOException {
        return Long.parseLong(Files.readString(f).trim());
    }

    /** Alive = /proc/<pid> exists and is not a zombie. */
    static boolean alive(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("State:")) {
                    char st = line.substring(6).trim().charAt(0);
                    return st != 'Z' && st != 'X';
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    static boolean listens(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return false;
        } catch (BindException e) {
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Long> pidsUnder(String dir) throws IOException {
        List<Long> pids = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String n = p.getFileName().toString();
                if (!n.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                for (String link : List.of("cwd", "exe")) {
                    try {
                        String t = Files.readSymbolicLink(p.resolve(link)).toString();
                        if ((t.equals(dir) || t.startsWith(dir + "/")) && alive(Long.parseLong(n))) {
                            pids.add(Long.parseLong(n));
                            break;
                        }
                    } catch (IOException | UnsupportedOperationException ignored) {
                        // gone, or not ours to read
                    }
                }
            }
        }
        return pids;
    }

    static void waitUntil(String what, java.util.function.BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + LONG.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    static Path mkdirs(Path p) throws IOException {
        return Files.createDirectories(p);
    }

    static void write(Path f, int bytes) throws IOException {
        Files.createDirectories(f.getParent());
        Files.write(f, new byte[bytes]);
    }

    static void assertLine(Result r, String fragment) {
        assertTrue(r.out.contains(fragment), () -> "expected '" + fragment + "' in:\n" + r.out);
    }

    static void assertFailedLast(Result r, int code, String fragment) {
        assertEquals(code, r.code, r.out);
        String[] lines = r.out.strip().split("\n");
        String last = lines[lines.length - 1];
        assertTrue(last.startsWith("obplay: FAILED: ") && last.contains(fragment),
                () -> "last line should be 'obplay: FAILED: ...' with '" + fragment + "':\n" + r.out);
    }

    // ---------------------------------------------------------------------------------------------------------

    @Nested
    class Stop {

        @Test
        void termHonouringObserverStopsPortsFreePidFileGone() throws Exception {
            Path home = tmp.resolve("ob");
            int[] ports = freePorts(2);
            long pid = serve(home, "observer", "run/observer.pid", ports);
            Server s = observer(home, ports[0], ports[1]);

            Result r = run(stop(s, Duration.ofSeconds(10), Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "obplay: sending TERM to observer pid " + pid);
            assertFalse(r.out.contains("sending KILL"), r.out);
            assertTrue(r.out.matches("(?s).*obplay: stopped 127\\.0\\.0\\.1:2886 pid " + pid + " in \\d+\\.\\ds; then nothing ran under "
                    + java.util.regex.Pattern.quote(home.toString()) + " and no port LISTENed for the 1\\.5s settle period\n"), r.out);
            assertFalse(alive(pid));
            assertFalse(listens(ports[0]));
            assertFalse(listens(ports[1]));
            assertFalse(Files.exists(home.resolve("run/observer.pid")));
            assertTrue(r.out.lines().allMatch(l -> l.startsWith("obplay: ")), r.out);
        }

        @Test
        void escalatesToKillWhenTermIsIgnored() throws Exception {
            Path home = tmp.resolve("ob");
            int[] ports = freePorts(2);
            long pid = serve(home, "observer", "run/observer.pid", ports, "--ignore-term");

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "sending TERM to observer pid " + pid);
            assertLine(r, "still runs after the 1.0s grace period");
            assertLine(r, "sending KILL to observer pid " + pid);
            assertTrue(r.took.toMillis() >= 1000, "KILL came before the grace was over");
            assertFalse(alive(pid));
            assertFalse(listens(ports[0]) || listens(ports[1]));
            assertFalse(Files.exists(home.resolve("run/observer.pid")));
        }

        @Test
        void decoyWithTheSameNameInASiblingHomeSurvives() throws Exception {
            Path x = tmp.resolve("x");
            Path home = x.resolve("ob");
            Path decoyHome = x.resolve("ob2");
            int[] ports = freePorts(4);
            long pid = serve(home, "observer", "run/observer.pid", new int[]{ports[0], ports[1]});
            long decoy = serve(decoyHome, "observer", "run/observer.pid", new int[]{ports[2], ports[3]});

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(5), Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            assertFalse(alive(pid));
            assertTrue(alive(decoy), "the decoy in " + decoyHome + " was hit");
            assertTrue(listens(ports[2]) && listens(ports[3]));

            // and with no pid file left, the decoy does not count as "running under /tmp/x/ob" either
            Result again = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(5), Duration.ofSeconds(5)));
            assertEquals(0, again.code, again.out);
            assertLine(again, "already stopped");
            assertTrue(alive(decoy));
        }

        @Test
        void pidFileNamingAnUnrelatedProcessNeverSignalsIt() throws Exception {
            Path home = mkdirs(tmp.resolve("ob"));
            int[] ports = freePorts(2);
            Process sleep = new ProcessBuilder("sleep", "100").directory(new File("/")).start();
            children.add(sleep);
            Path pidFile = mkdirs(home.resolve("run")).resolve("observer.pid");
            Files.writeString(pidFile, sleep.pid() + "\n");

            for (Script script : List.of(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)),
                    kill(observer(home, ports[0], ports[1]), Duration.ofSeconds(1)))) {
                Files.writeString(pidFile, sleep.pid() + "\n");
                Result r = run(script);
                assertEquals(0, r.code, r.out);
                assertLine(r, "names pid " + sleep.pid() + ", which is not this server's (exe ");
                assertLine(r, "cwd /, user root)");
                assertLine(r, "not signalling it");
                assertLine(r, "already stopped");
                assertFalse(r.out.contains("sending"), r.out);
                assertTrue(sleep.isAlive(), "the unrelated process was signalled");
                assertFalse(Files.exists(pidFile));
            }
        }

        @Test
        void pidFileNamingAnUnrelatedProcessFailsWhileSomethingRunsUnderHome() throws Exception {
            Path home = mkdirs(tmp.resolve("ob"));
            int[] ports = freePorts(2);
            Process sleep = new ProcessBuilder("sleep", "100").directory(new File("/")).start();
            children.add(sleep);
            Process inHome = new ProcessBuilder("sleep", "100").directory(home.toFile()).start();
            children.add(inHome);
            Files.writeString(mkdirs(home.resolve("run")).resolve("observer.pid"), sleep.pid() + "\n");

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)));

            assertFailedLast(r, 3, "refusing to signal anything");
            assertLine(r, "running under " + home + ": pid " + inHome.pid());
            assertTrue(sleep.isAlive() && inHome.isAlive());
        }

        @Test
        void stalePidFileIsRemovedAndTheStopSucceeds() throws Exception {
            Path home = mkdirs(tmp.resolve("ob"));
            int[] ports = freePorts(2);
            Process gone = new ProcessBuilder("true").start();
            gone.waitFor();
            Path pidFile = mkdirs(home.resolve("run")).resolve("observer.pid");
            Files.writeString(pidFile, gone.pid() + "\n");

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "stale pid file " + pidFile + ": pid " + gone.pid() + " is not running");
            assertLine(r, "removed pid file " + pidFile);
            assertLine(r, "already stopped");
            assertFalse(Files.exists(pidFile));
        }

        @Test
        void stalePidFileButAPortStillListensFails() throws Exception {
            Path home = mkdirs(tmp.resolve("ob"));
            int[] ports = freePorts(2);
            listenHere(ports[1]);
            Process gone = new ProcessBuilder("true").start();
            gone.waitFor();
            Files.writeString(mkdirs(home.resolve("run")).resolve("observer.pid"), gone.pid() + "\n");

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)));

            assertFailedLast(r, 3, "port(s) [" + ports[1] + " on 127.0.0.1] LISTEN");
            assertTrue(Files.exists(home.resolve("run/observer.pid")), "refused: the stale pid file is kept as it was");
        }

        @Test
        void noPidFileAndNothingRunningIsAlreadyStopped() throws Exception {
            Path home = mkdirs(tmp.resolve("ob"));
            int[] ports = freePorts(2);

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "no pid file " + home + "/run/observer.pid");
            assertLine(r, "observer 127.0.0.1:2886 already stopped");
        }

        @Test
        void noPidFileButTheServerRunsRefusesAndSignalsNothing() throws Exception {
            Path home = tmp.resolve("ob");
            int[] ports = freePorts(2);
            long pid = serve(home, "observer", "run/observer.pid", ports);
            Files.delete(home.resolve("run/observer.pid"));

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)));

            assertFailedLast(r, 3, "pid(s) [" + pid + "] run under " + home);
            assertLine(r, "port(s) [" + ports[0] + " on 127.0.0.1, " + ports[1] + " on 127.0.0.1] LISTEN");
            assertLine(r, "running under " + home + ": pid " + pid + " (exe ");
            assertTrue(alive(pid));
        }

        @Test
        void noPidFileButAForeignPortListensRefuses() throws Exception {
            Path home = mkdirs(tmp.resolve("ob"));
            int[] ports = freePorts(2);
            listenHere(ports[0]);

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)));

            assertFailedLast(r, 3, "pid(s) [none] run under " + home + " and port(s) [" + ports[0] + " on 127.0.0.1] LISTEN");
        }

        @Test
        void garbageInThePidFileFailsClearly() throws Exception {
            Path home = mkdirs(tmp.resolve("ob"));
            int[] ports = freePorts(2);
            Path pidFile = mkdirs(home.resolve("run")).resolve("observer.pid");
            for (String garbage : List.of("12 34\n", "abc\n", "0\n", "-1\n", "", "123\n456\n")) {
                Files.writeString(pidFile, garbage);
                Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)));
                assertFailedLast(r, 1, "pid file " + pidFile + " does not hold a pid");
                assertTrue(Files.exists(pidFile));
            }
        }

        @Test
        void pidFileWithSpacesAroundThePidIsFine() throws Exception {
            Path home = tmp.resolve("ob");
            int[] ports = freePorts(2);
            long pid = serve(home, "observer", "run/observer.pid", ports);
            Files.writeString(home.resolve("run/observer.pid"), "  " + pid + " \r\n\n");

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(5), Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            assertFalse(alive(pid));
        }

        @Test
        void timesOutWhenAPortStaysBusyAfterTheProcessIsGone() throws Exception {
            Path home = tmp.resolve("ob");
            int[] ports = freePorts(2);
            long pid = serve(home, "observer", "run/observer.pid", new int[]{ports[0]});
            listenHere(ports[1]); // somebody else holds rpc_port

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofMillis(500), Duration.ofMillis(500)));

            assertFailedLast(r, 4, "timed out: observer pid(s) [" + pid + "] gone but port(s) [" + ports[1] + " on 127.0.0.1] still LISTEN");
            assertLine(r, "it is held by pid " + ProcessHandle.current().pid() + " (exe ");
            assertFalse(alive(pid));
            assertTrue(r.took.toMillis() < 10_000, "did not give up in time");
        }

        @Test
        void homeWithASpaceAndAQuote() throws Exception {
            Path home = tmp.resolve("it's an \"ob\" $(home)");
            int[] ports = freePorts(2);
            long pid = serve(home, "observer", "run/observer.pid", ports);

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(5), Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "cwd " + home.toRealPath());
            assertFalse(alive(pid));
            assertFalse(Files.exists(home.resolve("run/observer.pid")));
        }

        @Test
        void portsListeningOnIpv6AreSeen() throws Exception {
            Path home = tmp.resolve("ob");
            int[] ports = freePorts(2);
            long pid = serve(home, "observer", "run/observer.pid", ports, "--bind", "::1");

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(5), Duration.ofSeconds(5)));
            assertEquals(0, r.code, r.out);
            assertFalse(alive(pid));

            // ::1 is not the server's address (its host is 127.0.0.1): someone else's, not waited for
            ServerSocket v6 = new ServerSocket();
            v6.bind(new InetSocketAddress(InetAddress.getByName("::1"), ports[1]));
            sockets.add(v6);
            Result other = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)));
            assertEquals(0, other.code, other.out);
            assertLine(other, "port(s) [" + ports[1] + " on ::1] LISTEN on addresses that are not 127.0.0.1:2886's");
            assertLine(other, "already stopped");

            // the IPv6 wildcard address is everybody's, the server's too
            ServerSocket any = new ServerSocket();
            any.bind(new InetSocketAddress(InetAddress.getByName("::"), ports[0]));
            sockets.add(any);
            Result busy = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)));
            assertFailedLast(busy, 3, "port(s) [" + ports[0] + " on ::] LISTEN");
        }
    }

    @Nested
    class Kill {

        @Test
        void killsAtOnceEvenWhenTermIsIgnored() throws Exception {
            Path home = tmp.resolve("ob");
            int[] ports = freePorts(2);
            long pid = serve(home, "observer", "run/observer.pid", ports, "--ignore-term");

            Script script = kill(observer(home, ports[0], ports[1]), Duration.ofSeconds(5));
            Result r = run(script);

            assertEquals(0, r.code, r.out);
            assertLine(r, "sending KILL to observer pid " + pid);
            assertFalse(r.out.contains("TERM"), r.out);
            assertFalse(r.out.contains("grace"), r.out);
            assertFalse(alive(pid));
            assertFalse(listens(ports[0]) || listens(ports[1]));
            assertFalse(Files.exists(home.resolve("run/observer.pid")));
            assertEquals(List.of("KILL observer pid from " + home + "/run/observer.pid (proved by cwd/exe under " + home
                    + ", as resolved on the host); stopped once nothing runs under " + home + " and no port of it LISTENs (on"
                    + " its own or a wildcard address) for the 1.5s settle period: what comes back fails the sub-task"),
                    script.signals());
        }
    }

    @Nested
    class Obproxy {

        long startWithWatchdog(Path home, Server s, int[] ports) throws Exception {
            String child = "run/obproxy.pid";
            String daemon = s.pidFiles().get("daemon").substring(home.toString().length() + 1);
            Result r = exec(List.of(PYTHON, STANDIN.toString(), "watchdog", "--home", home.toString(), "--pidfile", daemon,
                    "--child-pidfile", child, "--", "--home", home.toString(), "--name", "obproxy", "--pidfile", child,
                    "--ports", join(ports), "--bind", "127.0.0.1"), null);
            assertEquals(0, r.code, r.out);
            waitUntil("obproxy to listen", () -> listens(ports[0]) && listens(ports[1]) && Files.exists(home.resolve(child)));
            return readPid(home.resolve(daemon));
        }

        @Test
        void stopKillsTheWatchdogFirstAndObproxyStaysDown() throws Exception {
            Path home = tmp.resolve("obproxy");
            int[] ports = freePorts(2);
            Server s = obproxy(home, ports[0], ports[1]);
            long daemon = startWithWatchdog(home, s, ports);
            long proxy = readPid(home.resolve("run/obproxy.pid"));

            Script script = stop(s, Duration.ofSeconds(5), Duration.ofSeconds(5));
            Result r = run(script);

            assertEquals(0, r.code, r.out);
            assertTrue(r.out.indexOf("sending KILL to obproxyd pid " + daemon)
                    < r.out.indexOf("sending TERM to obproxy pid " + proxy), r.out);
            Thread.sleep(1500); // obproxyd would respawn obproxy within 0.3 s
            assertFalse(alive(daemon));
            assertFalse(alive(proxy));
            assertFalse(listens(ports[0]) || listens(ports[1]));
            assertEquals(List.of(), pidsUnder(home.toRealPath().toString()));
            assertFalse(Files.exists(Path.of(s.pidFiles().get("daemon"))));
            assertFalse(Files.exists(home.resolve("run/obproxy.pid")));
            assertEquals(3, script.signals().size());
            assertTrue(script.signals().get(0).startsWith("STOP, then KILL obproxyd first (it would respawn obproxy): the pid in "
                    + s.pidFiles().get("daemon") + " once proved, and any process named obproxyd"), script.signals().get(0));
            assertTrue(script.signals().get(1).startsWith("TERM obproxy pid from " + home + "/run/obproxy.pid"));
            assertTrue(script.signals().get(2).startsWith("KILL obproxy after 5s grace if still running; stopped once nothing"
                    + " runs under " + home), script.signals().get(2));
            assertTrue(script.signals().get(2).endsWith("for the 1.5s settle period: what comes back fails the sub-task"));
        }

        @Test
        void killKillsTheWatchdogFirstAndObproxyStaysDown() throws Exception {
            Path home = tmp.resolve("obproxy");
            int[] ports = freePorts(2);
            Server s = obproxy(home, ports[0], ports[1]);
            long daemon = startWithWatchdog(home, s, ports);

            Result r = run(kill(s, Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            Thread.sleep(1500);
            assertFalse(alive(daemon));
            assertFalse(listens(ports[0]) || listens(ports[1]));
            assertEquals(List.of(), pidsUnder(home.toRealPath().toString()));
        }

        @Test
        void withoutTheWatchdogAStaleDaemonPidFileIsFine() throws Exception {
            Path home = tmp.resolve("obproxy");
            int[] ports = freePorts(2);
            Server s = obproxy(home, ports[0], ports[1]);
            long proxy = serve(home, "obproxy", "run/obproxy.pid", ports);
            Process gone = new ProcessBuilder("true").start();
            gone.waitFor();
            Files.writeString(Path.of(s.pidFiles().get("daemon")), gone.pid() + "\n");

            Result r = run(stop(s, Duration.ofSeconds(5), Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "stale pid file " + s.pidFiles().get("daemon"));
            assertFalse(alive(proxy));
        }

        @Test
        void signalsTheWholeProcessGroupWhenObproxyLeadsIt() throws Exception {
            Path home = mkdirs(tmp.resolve("obproxy"));
            int[] ports = freePorts(2);
            Server s = obproxy(home, ports[0], ports[1]);
            Path memberPid = tmp.resolve("member.pid");
            // setsid: the shell leads a new group, starts a member outside the home, then becomes obproxy
            Process leader = new ProcessBuilder("setsid", "sh", "-c",
                    "sleep 300 & echo $! > \"$1\"; exec \"$2\" \"$3\" serve --foreground --home \"$4\" --name obproxy "
                            + "--pidfile run/obproxy.pid --ports \"$5\" --bind 127.0.0.1",
                    "sh", memberPid.toString(), PYTHON, STANDIN.toString(), home.toString(), join(ports))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            children.add(leader);
            waitUntil("obproxy to listen", () -> listens(ports[0]) && listens(ports[1])
                    && Files.exists(home.resolve("run/obproxy.pid")) && Files.exists(memberPid));
            long member = readPid(memberPid);
            assertEquals(leader.pid(), readPid(home.resolve("run/obproxy.pid")));

            Result r = run(stop(s, Duration.ofSeconds(5), Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "sending TERM to the process group of obproxy pid " + leader.pid());
            waitUntil("the group member to die", () -> !alive(member));
        }
    }

    @Nested
    class Cleanup {

        Path home;
        Server s;
        int[] ports;

        void layout() throws IOException {
            home = tmp.resolve("ob");
            ports = freePorts(2);
            Map<String, String> dirs = new LinkedHashMap<>();
            dirs.put("home", home.toString());
            dirs.put("data_dir", tmp.resolve("data/ob").toString());
            dirs.put("redo_dir", tmp.resolve("redo").toString());
            dirs.put("clog_dir", tmp.resolve("redo/clog").toString());
            dirs.put("slog_dir", tmp.resolve("redo/slog").toString());
            dirs.put("log", home.resolve("log").toString());
            dirs.put("run", home.resolve("run").toString());
            dirs.put("etc", home.resolve("etc").toString());
            s = observer(home, dirs, ports[0], ports[1]);
            write(home.resolve("log/observer.log"), 10 * 1024);
            write(home.resolve("etc/observer.config.bin"), 100);
            mkdirs(home.resolve("run"));
            write(tmp.resolve("data/ob/sstable/block_file"), 300 * 1024);
            write(tmp.resolve("redo/clog/1"), 50 * 1024);
            write(tmp.resolve("redo/slog/1"), 1024);
            Files.createSymbolicLink(home.resolve("store"), tmp.resolve("data/ob"));
        }

        @Test
        void removesExactlyTheListedPathsAndReportsSizes() throws Exception {
            layout();
            List<String> paths = List.of(home.resolve("log").toString(), tmp.resolve("data/ob").toString(),
                    tmp.resolve("redo/clog").toString(), home.resolve("nothing-here").toString());
            Script script = StepScripts.cleanup(s, paths);
            assertEquals(paths, script.paths().stream().map(w -> w.substring(0, w.indexOf("  ("))).toList());
            assertTrue(script.paths().get(1).endsWith("  (data_dir: removed; a symlink: the directory it names, then the link; "
                    + "links inside: as links; a mount point or a dir whose parent is not writable: emptied, kept)"), script.paths().get(1));
            assertTrue(script.paths().get(3).endsWith("  (in home: removed; a symlink: the link only; a mount point or a dir whose "
                    + "parent is not writable: emptied, kept)"), script.paths().get(3));
            assertEquals(List.of(), script.signals());

            Result r = run(script);

            assertEquals(0, r.code, r.out);
            assertFalse(Files.exists(home.resolve("log")));
            assertFalse(Files.exists(tmp.resolve("data/ob")));
            assertFalse(Files.exists(tmp.resolve("redo/clog")));
            assertTrue(Files.exists(home.resolve("etc/observer.config.bin")));
            assertTrue(Files.exists(tmp.resolve("redo/slog/1")));
            assertTrue(Files.exists(tmp.resolve("data")));
            assertTrue(r.out.matches("(?s).*obplay: removed " + home + "/log \\(1[0-9] KiB\\)\n.*"), r.out);
            assertTrue(r.out.matches("(?s).*obplay: removed " + tmp + "/data/ob \\(30[0-9] KiB\\)\n.*"), r.out);
            assertTrue(r.out.matches("(?s).*obplay: removed " + tmp + "/redo/clog \\(5[0-9] KiB\\)\n.*"), r.out);
            assertLine(r, "obplay: absent: " + home + "/nothing-here");
            assertLine(r, "obplay: cleanup of 127.0.0.1:2886 done");
        }

        @Test
        void theHomeGoesWithItsSymlinkButNotTheSymlinksTarget() throws Exception {
            layout();
            Path precious = tmp.resolve("precious/keep.dat");
            write(precious, 2048);
            Files.createSymbolicLink(home.resolve("log/outside"), precious.getParent());
            Files.createSymbolicLink(home.resolve("log/file-outside"), precious);

            Result r = run(StepScripts.cleanup(s, List.of(home.toString())));

            assertEquals(0, r.code, r.out);
            assertFalse(Files.exists(home, java.nio.file.LinkOption.NOFOLLOW_LINKS));
            assertTrue(Files.exists(precious), "a symlink's target outside the tree was deleted");
            assertTrue(Files.exists(tmp.resolve("data/ob/sstable/block_file")), "home/store's target was deleted");
        }

        @Test
        void aSymlinkPathLosesTheLinkOnly() throws Exception {
            layout();
            Result r = run(StepScripts.cleanup(s, List.of(home.resolve("store").toString())));

            assertEquals(0, r.code, r.out);
            assertLine(r, "removed symlink " + home + "/store; its target " + tmp + "/data/ob stays");
            assertFalse(Files.exists(home.resolve("store"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
            assertTrue(Files.exists(tmp.resolve("data/ob/sstable/block_file")));
        }

        @Test
        void aPathWithASpaceAndAQuote() throws Exception {
            layout();
            Path odd = home.resolve("log/it's a \"dir\" $(touch pwned)");
            write(odd.resolve("f"), 4096);

            Result r = run(StepScripts.cleanup(s, List.of(odd.toString())));

            assertEquals(0, r.code, r.out);
            assertFalse(Files.exists(odd));
            assertTrue(Files.exists(home.resolve("log/observer.log")));
            assertLine(r, "removed " + odd + " (");
            assertFalse(Files.exists(Path.of("pwned")) || Files.exists(Path.of("/pwned")));
        }

        @Test
        void refusesBadPathsBeforeDeletingAnything() throws Exception {
            layout();
            String ok = home.resolve("log").toString();
            Map<String, String> bad = new LinkedHashMap<>();
            bad.put("/", "refusing to delete /");
            bad.put("", "refusing to delete an empty path");
            bad.put("log/observer.log", "refusing to delete log/observer.log: not an absolute path");
            bad.put(home + "/../ob2", "it has an empty, . or .. segment");
            bad.put(home + "/log/..", "it has an empty, . or .. segment");
            bad.put(home + "//log", "it has an empty, . or .. segment");
            bad.put(tmp.resolve("ob2").toString(), "it is not in 127.0.0.1:2886's declared directories");
            bad.put(tmp.resolve("data").toString(), "it is not in 127.0.0.1:2886's declared directories");
            for (Map.Entry<String, String> e : bad.entrySet()) {
                Result r = run(StepScripts.cleanup(s, List.of(ok, e.getKey())));
                assertFailedLast(r, 3, e.getValue());
                assertTrue(Files.exists(home.resolve("log/observer.log")), "deleted before all paths were checked");
            }
        }

        @Test
        void refusesAPathThatReallyLiesOutsideThroughASymlinkAbove() throws Exception {
            layout();
            Path victim = tmp.resolve("victim");
            write(victim.resolve("important"), 100);
            Files.createSymbolicLink(home.resolve("log/escape"), victim);

            Result r = run(StepScripts.cleanup(s, List.of(home.resolve("log/escape/important").toString())));

            assertFailedLast(r, 3, "it really is " + victim.toRealPath() + "/important, outside the declared directories");
            assertTrue(Files.exists(victim.resolve("important")));

            // through home/store -> data_dir it is inside a declared directory: allowed
            Result inside = run(StepScripts.cleanup(s, List.of(home.resolve("store/sstable").toString())));
            assertEquals(0, inside.code, inside.out);
            assertFalse(Files.exists(tmp.resolve("data/ob/sstable")));
        }

        @Test
        void refusesWhileTheServerRuns() throws Exception {
            layout();
            long pid = serve(home, "observer", "run/observer.pid", ports);
            List<String> paths = List.of(home.resolve("log").toString());

            Result r = run(StepScripts.cleanup(s, paths));
            assertFailedLast(r, 3, "refusing to delete anything: 127.0.0.1:2886 runs, pid " + pid);

            Files.delete(home.resolve("run/observer.pid"));
            Result noPidFile = run(StepScripts.cleanup(s, paths));
            assertFailedLast(noPidFile, 3, "pid(s) [" + pid + "] under " + home);

            assertTrue(alive(pid));
            assertTrue(Files.exists(home.resolve("log/observer.log")));
        }

        @Test
        void refusesWhileAPortListens() throws Exception {
            layout();
            listenHere(ports[1]);
            Result r = run(StepScripts.cleanup(s, List.of(home.resolve("log").toString())));
            assertFailedLast(r, 3, "port(s) [" + ports[1] + " on 127.0.0.1] LISTEN");
            assertTrue(Files.exists(home.resolve("log/observer.log")));
        }

        @Test
        void aMountPointKeepsItsMountAndLosesItsContents() throws Exception {
            layout();
            Path mount = mkdirs(tmp.resolve("data/ob/mnt 1"));
            Path precious = tmp.resolve("precious/keep.dat");
            write(precious, 100);
            Script script = StepScripts.cleanup(s, List.of(mount.toString()));
            // a private mount namespace: the tmpfs goes away with it
            String inside = "mount -t tmpfs none \"$1\" && echo x > \"$1/f\" && mkdir \"$1/.hidden\" && ln -s \"$3\" \"$1/link\" || exit 99\n"
                    + "sh -c \"$2\"; rc=$?\n"
                    + "mountpoint -q \"$1\" && echo STILL-MOUNTED\n"
                    + "[ -z \"$(ls -A \"$1\")\" ] && echo NOW-EMPTY\n"
                    + "exit $rc\n";
            Result r = exec(List.of("unshare", "--mount", "--map-root-user", "sh", "-c", inside, "sh", mount.toString(),
                    script.runnable(), precious.getParent().toString()), null);
            System.out.println(r.out);

            assertEquals(0, r.code, r.out);
            assertLine(r, "obplay: emptied mount point " + mount + " (");
            assertLine(r, "STILL-MOUNTED");
            assertLine(r, "NOW-EMPTY");
            assertTrue(Files.isDirectory(mount));
            assertTrue(Files.exists(precious), "the target of a symlink in the mount was deleted");
        }
    }

    @Nested
    class Shell {

        @Test
        void runsInTheHomeAndExitsWithTheCommandsStatus() throws Exception {
            Path home = mkdirs(tmp.resolve("o b'"));
            Server s = observer(home, 1, 2);
            Result r = run(StepScripts.shell(s, "pwd; echo \"it's\" > here.txt; exit 7"));
            assertEquals(7, r.code, r.out);
            assertTrue(r.out.startsWith("obplay: $ pwd; echo \"it's\" > here.txt; exit 7\n"), r.out);
            assertLine(r, home.toString() + "\n");
            assertEquals("it's\n", Files.readString(home.resolve("here.txt")));
            assertFailedLast(r, 7, "status 7");

            Result ok = run(StepScripts.shell(s, "true"));
            assertEquals(0, ok.code, ok.out);
        }

        @Test
        void withoutAHomeItRunsInRoot() throws Exception {
            Server s = observer(tmp.resolve("missing"), 1, 2);
            Result r = run(StepScripts.shell(s, "pwd"));
            assertEquals(0, r.code, r.out);
            assertEquals("obplay: $ pwd\n/\n", r.out);
        }
    }

    @Nested
    class Text {

        List<Script> all(Path home) {
            Server ob = observer(home, 2881, 2882);
            Server px = obproxy(home, 2883, 2884);
            return List.of(
                    StepScripts.stop(ob, Duration.ofSeconds(60), Duration.ofSeconds(30)),
                    StepScripts.kill(ob, Duration.ofSeconds(30)),
                    StepScripts.stop(px, Duration.ofMillis(1500), Duration.ofSeconds(30)),
                    StepScripts.kill(px, Duration.ofSeconds(30)),
                    StepScripts.cleanup(ob, List.of(home + "/log", home + "/store", home.toString())),
                    StepScripts.cleanup(px, List.of(home + "/etc", home + "/it's")),
                    StepScripts.shell(ob, "ls -l\necho 'done'"),
                    StepScripts.shell(px, StepScripts.statusCommand(px)));
        }

        @Test
        void sameInputSameText() {
            Path home = Path.of("/home/admin/it's oceanbase");
            List<String> first = all(home).stream().map(Script::text).toList();
            List<String> second = all(Path.of("/home/admin/it's oceanbase")).stream().map(Script::text).toList();
            assertEquals(first, second);
            assertEquals(all(home), all(home));
            assertNotEquals(first, all(Path.of("/home/admin/ob")).stream().map(Script::text).toList());
        }

        @Test
        void everyScriptParsesWithShN() throws Exception {
            for (Script s : all(Path.of("/home/admin/it's \"ob\" $HOME `x`"))) {
                Result r = exec(List.of("/bin/sh", "-n", "-c", s.runnable()), null);
                assertEquals(0, r.code, r.out + "\n" + s.runnable());
            }
        }

        @Test
        void shellcheckFindsNothing() throws Exception {
            Path shellcheck = Stream.of("/usr/bin/shellcheck", "/usr/local/bin/shellcheck").map(Path::of)
                    .filter(Files::isExecutable).findFirst()
                    .orElseThrow(() -> new AssertionError("shellcheck is missing: apt-get install -y shellcheck"));
            int i = 0;
            for (Script s : all(Path.of("/home/admin/it's \"ob\""))) {
                Path f = tmp.resolve("script" + i++ + ".sh");
                Files.writeString(f, s.runnable());
                Result r = exec(List.of(shellcheck.toString(), "-s", "sh", f.toString()), null);
                assertEquals(0, r.code, r.out + "\n" + s.runnable());
            }
        }

        @Test
        void signalsAndPathsInWords() {
            Path home = Path.of("/home/admin/oceanbase");
            Script stop = StepScripts.stop(observer(home, 2881, 2882), Duration.ofSeconds(60), Duration.ofSeconds(30));
            assertEquals(List.of(
                    "TERM observer pid from /home/admin/oceanbase/run/observer.pid (proved by cwd/exe under /home/admin/oceanbase,"
                            + " as resolved on the host)",
                    "KILL observer after 60s grace if still running; stopped once nothing runs under /home/admin/oceanbase and no"
                            + " port of it LISTENs (on its own or a wildcard address) for the 3s settle period: what comes back"
                            + " fails the sub-task"), stop.signals());
            assertEquals(List.of(), stop.paths());
            Script stop2 = StepScripts.stop(observer(home, 2881, 2882), Duration.ofMillis(1250), Duration.ofSeconds(30));
            assertTrue(stop2.signals().get(1).startsWith("KILL observer after 1.25s grace if still running; "));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Hosts laid out as other deployments lay them out: watchdogs under other names or none, the same port numbers
    // on several addresses, homes behind symlinks, pid files naming other users' processes.

    static Server observerOn(String host, Path home, int mysqlPort, int rpcPort) {
        Server s = observer(home, mysqlPort, rpcPort);
        return new Server(Role.OBSERVER, host + ":2886", "zone1", 0, 0, host, 2886, SshSettings.DEFAULTS, s.home(), s.dirs(),
                s.ports(), s.pidFiles(), Map.of());
    }

    /** An obproxy with both pid-file layouts, as the inventory's defaults give it. */
    static Server obproxyBothLayouts(Path home, int listenPort, int prometheusPort) {
        Server s = obproxy(home, listenPort, prometheusPort);
        Map<String, String> pids = new LinkedHashMap<>();
        pids.put("server", home + "/run/obproxy.pid");
        pids.put("server_obd", home + "/run/obproxy-127.0.0.1-" + listenPort + ".pid");
        pids.put("daemon", home + "/run/obproxyd.pid");
        pids.put("daemon_obd", home + "/run/obproxyd-127.0.0.1-" + listenPort + ".pid");
        return new Server(Role.OBPROXY, s.name(), s.group(), 1, 1, s.host(), 2886, SshSettings.DEFAULTS, s.home(), s.dirs(),
                s.ports(), pids, Map.of());
    }

    /** Starts a stand-in watchdog (named {@code name}, living in {@code wdHome}) that keeps an obproxy running in {@code home}. */
    static long watchdog(String name, Path wdHome, String wdPidFile, Path home, String childPidFile, int[] ports) throws Exception {
        Result r = exec(List.of(PYTHON, STANDIN.toString(), "watchdog", "--name", name, "--home", wdHome.toString(),
                "--pidfile", wdPidFile, "--child-pidfile", home.resolve(childPidFile).toString(), "--", "--home", home.toString(),
                "--name", "obproxy", "--pidfile", childPidFile, "--ports", join(ports), "--bind", "127.0.0.1"), null);
        assertEquals(0, r.code, r.out);
        waitUntil("obproxy to listen", () -> listens(ports[0]) && listens(ports[1]));
        return readPid(wdHome.resolve(wdPidFile));
    }

    static boolean listensOn(String address, int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(address), port));
            return false;
        } catch (BindException e) {
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a script as user nobody (this test runs as root). */
    static Result runAsNobody(Script s) throws Exception {
        Result r = exec(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", s.runnable()), null);
        System.out.println("---- (as nobody) exit " + r.code + "\n" + r.out);
        return r;
    }

    @Nested
    class Watchdogs {

        @Test
        void aWatchdogWithoutAPidFileIsFoundByWhatItIsAndKilledFirst() throws Exception {
            Path home = tmp.resolve("px");
            int[] ports = freePorts(2);
            Server s = obproxyBothLayouts(home, ports[0], ports[1]);
            // its pid file is under a name no layout uses, then gone: only what it is can find it
            long daemon = watchdog("obproxyd", home, "var/guard.pid", home, "run/obproxy-127.0.0.1-" + ports[0] + ".pid", ports);
            Files.delete(home.resolve("var/guard.pid"));
            long proxy = readPid(home.resolve("run/obproxy-127.0.0.1-" + ports[0] + ".pid"));

            Result r = run(stop(s, Duration.ofSeconds(5), Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "no obproxyd pid file " + home + "/run/obproxyd.pid");
            assertLine(r, "no obproxyd pid file " + home + "/run/obproxyd-127.0.0.1-" + ports[0] + ".pid");
            assertLine(r, "obproxyd pid " + daemon + " found by what it is: name obproxyd");
            assertLine(r, "no pid file " + home + "/run/obproxy.pid");
            assertLine(r, "obproxy pid " + proxy + " is this server's");
            assertLine(r, "from " + home + "/run/obproxy-127.0.0.1-" + ports[0] + ".pid");
            assertTrue(r.out.indexOf("sending KILL to obproxyd pid " + daemon) < r.out.indexOf("sending TERM to"), r.out);
            Thread.sleep(1500);  // it would have respawned obproxy within 0.5 s
            assertFalse(alive(daemon) || alive(proxy));
            assertFalse(listens(ports[0]) || listens(ports[1]));
            assertEquals(List.of(), pidsUnder(home.toRealPath().toString()));
        }

        @Test
        void anObdStyleShellWatchdogRunFromElsewhereIsFoundByItsScript() throws Exception {
            Path home = mkdirs(tmp.resolve("odp"));
            int[] ports = freePorts(2);
            Server s = obproxy(home, ports[0], ports[1]);  // knows only OBD's pid file names
            Path script = home.resolve("obproxyd.sh");
            Files.writeString(script, """
                    # plays OBD's obproxyd.sh: its pid in obshell's file, respawns obproxy when its pid is gone
                    echo $$ > "$1/run/obproxyd.pid"
                    while :; do
                      pid=$(cat "$1/run/obproxy.pid" 2>/dev/null)
                      if [ -z "$pid" ] || [ ! -d "/proc/$pid" ]; then
                        "$2" "$3" serve --home "$1" --name obproxy --pidfile run/obproxy.pid --ports "$4" --bind 127.0.0.1 >/dev/null 2>&1
                      fi
                      sleep 0.3
                    done
                    """);
            mkdirs(home.resolve("run"));
            Process sh = new ProcessBuilder("sh", script.toString(), home.toString(), PYTHON, STANDIN.toString(), join(ports))
                    .directory(new File("/")).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            children.add(sh);
            waitUntil("obproxy to listen", () -> listens(ports[0]) && listens(ports[1]));

            Result r = run(kill(s, Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "obproxyd pid " + sh.pid() + " found by what it is: name sh, exe ");
            assertLine(r, "sending KILL to obproxyd pid " + sh.pid());
            Thread.sleep(1500);
            assertFalse(sh.isAlive());
            assertFalse(listens(ports[0]) || listens(ports[1]));
            assertEquals(List.of(), pidsUnder(home.toRealPath().toString()));
        }

        @Test
        void aWatchdogObplayCannotKnowThatRespawnsFailsTheStopNamingWhatCameBack() throws Exception {
            Path home = tmp.resolve("px");
            Path elsewhere = mkdirs(tmp.resolve("supervisor"));
            int[] ports = freePorts(2);
            Server s = obproxy(home, ports[0], ports[1]);
            long keeper = watchdog("keeper", elsewhere, "keeper.pid", home, "run/obproxy.pid", ports);

            for (Script script : List.of(stop(s, Duration.ofSeconds(5), Duration.ofSeconds(5)), kill(s, Duration.ofSeconds(5)))) {
                waitUntil("obproxy to listen", () -> listens(ports[0]) && listens(ports[1]));
                Result r = run(script);

                assertFailedLast(r, 1, "not stopped: ");
                String last = r.out.strip().substring(r.out.strip().lastIndexOf('\n') + 1);
                assertTrue(last.matches(".*pid \\d+ \\(.*parent pid \\d+ .*"), "names the pid and its parent: " + last);
                assertTrue(alive(keeper), "the unknown watchdog was not signalled");
            }
        }
    }

    @Nested
    class PortsByAddress {

        Path homeA;
        Path homeB;
        int[] ports;

        long[] startBoth() throws Exception {
            long a = serve(homeA, "observer", "run/observer.pid", ports, "--bind", "127.0.0.2");
            long b = serve(homeB, "observer", "run/observer.pid", ports, "--bind", "127.0.0.3");
            assertTrue(listensOn("127.0.0.2", ports[0]) && listensOn("127.0.0.3", ports[0]));
            return new long[]{a, b};
        }

        @Test
        void twoServersOnTwoAddressesWithTheSamePortsEachStoppedAloneThenBothAtOnce() throws Exception {
            homeA = tmp.resolve("a/ob");
            homeB = tmp.resolve("b/ob");
            ports = freePorts(2);
            Server a = observerOn("127.0.0.2", homeA, ports[0], ports[1]);
            Server b = observerOn("127.0.0.3", homeB, ports[0], ports[1]);
            long[] pids = startBoth();

            Result ra = run(stop(a, Duration.ofSeconds(5), Duration.ofSeconds(5)));
            assertEquals(0, ra.code, ra.out);
            assertLine(ra, "127.0.0.2:2886's addresses: 127.0.0.2 (and any wildcard address)");
            assertLine(ra, "port(s) [" + ports[0] + " on 127.0.0.3, " + ports[1] + " on 127.0.0.3] LISTEN on addresses that are not"
                    + " 127.0.0.2:2886's");
            assertLine(ra, "someone else's, not waited for");
            assertFalse(alive(pids[0]));
            assertTrue(alive(pids[1]) && listensOn("127.0.0.3", ports[0]) && listensOn("127.0.0.3", ports[1]));

            Result rb = run(kill(b, Duration.ofSeconds(5)));
            assertEquals(0, rb.code, rb.out);
            assertFalse(alive(pids[1]));

            long[] again = startBoth();
            java.util.concurrent.CompletableFuture<Result> fa = java.util.concurrent.CompletableFuture.supplyAsync(() -> runQuietly(
                    stop(a, Duration.ofSeconds(5), Duration.ofSeconds(5))));
            java.util.concurrent.CompletableFuture<Result> fb = java.util.concurrent.CompletableFuture.supplyAsync(() -> runQuietly(
                    stop(b, Duration.ofSeconds(5), Duration.ofSeconds(5))));
            Result ba = fa.get(60, TimeUnit.SECONDS);
            Result bb = fb.get(60, TimeUnit.SECONDS);
            assertEquals(0, ba.code, ba.out);
            assertEquals(0, bb.code, bb.out);
            assertFalse(alive(again[0]) || alive(again[1]));
            assertFalse(listensOn("127.0.0.2", ports[0]) || listensOn("127.0.0.3", ports[0]));
        }

        @Test
        void aWildcardListenerIsTheServersPortAndTheServersOwnListenAddressCountsToo() throws Exception {
            homeA = tmp.resolve("a/ob");
            ports = freePorts(2);
            // the inventory says 127.0.0.2, the observer listens on 127.0.0.4: that address is learned from its sockets
            Server a = observerOn("127.0.0.2", homeA, ports[0], ports[1]);
            long pid = serve(homeA, "observer", "run/observer.pid", ports, "--bind", "127.0.0.4", "--ignore-term");
            Result r = run(stop(a, Duration.ofMillis(500), Duration.ofSeconds(5)));
            assertEquals(0, r.code, r.out);
            assertLine(r, "127.0.0.2:2886's addresses: 127.0.0.2, 127.0.0.4 (and any wildcard address)");
            assertFalse(alive(pid));

            // someone else, in another home, on the IPv4 wildcard address: it takes the server's port on every address
            long wild = serve(tmp.resolve("other"), "sshd", "run/sshd.pid", new int[]{ports[1]}, "--bind", "0.0.0.0");
            Result busy = run(stop(a, Duration.ofSeconds(1), Duration.ofSeconds(1)));
            assertFailedLast(busy, 3, "port(s) [" + ports[1] + " on 0.0.0.0] LISTEN");
            assertTrue(alive(wild));
        }

        Result runQuietly(Script s) {
            try {
                return run(s);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    void listenHereOn(String address, int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getByName(address), port));
        sockets.add(s);
    }

    @Nested
    class SymlinkedHome {

        Path real;
        Path link;

        void layout() throws IOException {
            real = mkdirs(tmp.resolve("disk1/ob-real"));
            link = tmp.resolve("home/oceanbase");
            mkdirs(link.getParent());
            Files.createSymbolicLink(link, real);
        }

        @Test
        void aListeningObserverBehindTheLinkIsStoppedAndItsPidFileRemovedOnlyThen() throws Exception {
            layout();
            int[] ports = freePorts(2);
            long pid = serve(link, "observer", "run/observer.pid", ports);
            Server s = observer(link, ports[0], ports[1]);

            Result r = run(stop(s, Duration.ofSeconds(5), Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "home " + link + " is " + real.toRealPath() + " once symlinks are resolved");
            assertLine(r, "observer pid " + pid + " is this server's (cwd " + real.toRealPath());
            assertLine(r, "sending TERM to observer pid " + pid);
            assertTrue(r.out.indexOf("removed pid file") > r.out.indexOf("sending TERM"), r.out);
            assertFalse(alive(pid));
            assertFalse(Files.exists(real.resolve("run/observer.pid")));
        }

        @Test
        void anObserverRunningButNotListeningYetIsNeverAlreadyStopped() throws Exception {
            layout();
            int[] ports = freePorts(2);
            long pid = serve(link, "observer", "run/observer.pid", new int[0]);  // starting: no port yet
            Server s = observer(link, ports[0], ports[1]);

            Result r = run(kill(s, Duration.ofSeconds(5)));
            assertEquals(0, r.code, r.out);
            assertFalse(r.out.contains("already stopped"), r.out);
            assertLine(r, "sending KILL to observer pid " + pid);
            assertFalse(alive(pid));

            // and without its pid file: refused, never "already stopped"
            long again = serve(link, "observer", "run/observer.pid", new int[0]);
            Files.delete(link.resolve("run/observer.pid"));
            Result refused = run(stop(s, Duration.ofSeconds(1), Duration.ofSeconds(1)));
            assertFailedLast(refused, 3, "pid(s) [" + again + "] run under " + link);
            assertTrue(alive(again));

            // cleanup refuses too, through the link
            Script cleanup = StepScripts.cleanup(s, List.of(link + "/log"));
            Result kept = run(cleanup);
            assertFailedLast(kept, 3, "refusing to delete anything while 127.0.0.1:2886 runs: pid(s) [" + again + "]");
            assertTrue(Files.isDirectory(real.resolve("log")));
        }
    }

    @Nested
    class PidFiles {

        @Test
        void aPidFileNamingAnotherUsersProcessIsNotSignalledAndGoes() throws Exception {
            Path home = mkdirs(tmp.resolve("ob"));
            int[] ports = freePorts(2);
            Process other = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", "100")
                    .directory(new File("/")).start();
            children.add(other);
            waitUntil("the process to run as nobody", () -> {
                try {
                    return Files.readString(Path.of("/proc/" + other.pid() + "/status")).contains("\nUid:\t65534");
                } catch (IOException e) {
                    return false;
                }
            });
            Path pidFile = mkdirs(home.resolve("run")).resolve("observer.pid");
            Files.writeString(pidFile, other.pid() + "\n");

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "names pid " + other.pid() + ", which is not this server's (exe ");
            assertLine(r, "user nobody): not signalling it");
            assertLine(r, "removed pid file " + pidFile);
            assertTrue(other.isAlive());
        }

        @Test
        void runAsAnotherUserAPidFileItCannotAccountForIsKeptAndTheStopRefused() throws Exception {
            Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            Path home = mkdirs(tmp.resolve("ob"));
            Path run = mkdirs(home.resolve("run"));
            Files.setPosixFilePermissions(run, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
            int[] ports = freePorts(2);
            Process root = new ProcessBuilder("sleep", "100").directory(new File("/")).start();
            children.add(root);
            Path pidFile = run.resolve("observer.pid");
            Files.writeString(pidFile, root.pid() + "\n");
            Server s = observer(home, ports[0], ports[1]);

            // root's process, root's pid file, and nobody cannot read its cwd: whose it is cannot be told
            Result r = runAsNobody(stop(s, Duration.ofSeconds(1), Duration.ofSeconds(1)));
            assertFailedLast(r, 3, "names pid " + root.pid() + ", which runs as user root and whose cwd and exe user nobody cannot read");
            assertTrue(Files.exists(pidFile), "kept");
            assertTrue(root.isAlive());

            // the pid file is nobody's and the process root's: proved someone else's
            exec(List.of("chown", "65534", pidFile.toString()), null);
            Result other = runAsNobody(stop(s, Duration.ofSeconds(1), Duration.ofSeconds(1)));
            assertEquals(0, other.code, other.out);
            assertLine(other, "it runs as user root, the pid file belongs to user id 65534");
            assertFalse(Files.exists(pidFile));
            assertTrue(root.isAlive());
        }

        @Test
        void bothLayoutsAreReadAndTheLogSaysWhichFileNamedTheServer() throws Exception {
            Path home = tmp.resolve("px");
            int[] ports = freePorts(2);
            Server s = obproxyBothLayouts(home, ports[0], ports[1]);
            long proxy = serve(home, "obproxy", "run/obproxy-127.0.0.1-" + ports[0] + ".pid", ports);
            Process gone = new ProcessBuilder("true").start();
            gone.waitFor();
            Files.writeString(home.resolve("run/obproxy.pid"), gone.pid() + "\n");      // stale, obshell's name
            Files.writeString(home.resolve("run/obproxyd.pid"), gone.pid() + "\n");     // stale, obshell's name

            Result r = run(stop(s, Duration.ofSeconds(5), Duration.ofSeconds(5)));

            assertEquals(0, r.code, r.out);
            assertLine(r, "stale pid file " + home + "/run/obproxy.pid: pid " + gone.pid() + " is not running");
            assertLine(r, "stale pid file " + home + "/run/obproxyd.pid: pid " + gone.pid() + " is not running");
            assertLine(r, "obproxy pid " + proxy + " is this server's");
            assertLine(r, "from " + home + "/run/obproxy-127.0.0.1-" + ports[0] + ".pid");
            assertFalse(alive(proxy));
            try (Stream<Path> left = Files.list(home.resolve("run"))) {
                assertEquals(List.of(), left.toList(), "every pid file was proved dead and removed");
            }
        }

        @Test
        void aProcessUnderTheHomeThatIsNotTheServerIsNeverSignalledAndRefusesTheStop() throws Exception {
            Path home = tmp.resolve("ob");
            int[] ports = freePorts(2);
            long pid = serve(home, "observer", "run/observer.pid", ports);
            Process shell = new ProcessBuilder("sleep", "100").directory(home.toFile()).start();
            children.add(shell);

            Result r = run(stop(observer(home, ports[0], ports[1]), Duration.ofSeconds(1), Duration.ofSeconds(1)));

            assertFailedLast(r, 3, "pid(s) [" + shell.pid() + "] run under " + home + " and are neither observer pid(s) [" + pid + "]");
            assertFalse(r.out.contains("sending"), r.out);
            assertTrue(alive(pid) && shell.isAlive());
            assertTrue(Files.exists(home.resolve("run/observer.pid")));
        }

        @Test
        void theStatusReportUsesTheSameProofsAndPortRule() throws Exception {
            Path home = tmp.resolve("ob");
            int[] ports = freePorts(2);
            long pid = serve(home, "observer", "run/observer.pid", ports, "--bind", "127.0.0.2");
            Server s = observerOn("127.0.0.2", home, ports[0], ports[1]);
            listenHereOn("127.0.0.5", ports[0]);

            Script status = StepScripts.shell(s, StepScripts.statusCommand(s));
            assertEquals(StepScripts.STATUS_LIBRARY, status.library());
            Result r = run(status);

            assertEquals(0, r.code, r.out);
            assertLine(r, "home " + home + " is there");
            assertLine(r, home + "/run/observer.pid: pid " + pid + " runs (observer, cwd " + home.toRealPath() + "): this server's");
            assertLine(r, "running under " + home + ": pid " + pid + " (exe ");
            assertLine(r, "port(s) [" + ports[0] + " on 127.0.0.2, " + ports[1] + " on 127.0.0.2] LISTEN on 127.0.0.2:2886's addresses");
            assertLine(r, "port(s) [" + ports[0] + " on 127.0.0.5] LISTEN on addresses that are not 127.0.0.2:2886's");
        }
    }

    @Nested
    class Addresses {

        String own(String host) throws Exception {
            String script = StepScripts.library(StepScripts.STATUS_LIBRARY) + "\nNAME=x HOST=" + StepScripts.quote(host)
                    + " HOME_DIR=/nonexistent-obplay-home PORTS='1'\ncheck_home\nown_addrs\nprintf '%s\\n' \"$OWN_SHOWN\"\n";
            Result r = exec(List.of("/bin/sh", "-c", script), null);
            assertEquals(0, r.code, r.out);
            return r.out.strip();
        }

        @Test
        void hostsAreReadAsTheAddressesTheyAreOnTheHost() throws Exception {
            assertEquals("127.0.0.1", own("127.0.0.1"));
            assertEquals("10.0.0.1", own("::ffff:10.0.0.1"), "an IPv4-mapped address is its IPv4 address");
            assertEquals("2001:db8::1", own("[2001:DB8:0:0::1]"));
            assertEquals("fe80::1", own("fe80::1%eth0"));
            assertEquals("1:2:3:4:5:6:7:8", own("1:2:3:4:5:6:7:8"));
            assertEquals("1::", own("1:0:0:0:0:0:0:0"));
            assertEquals("0.0.0.0", own("0.0.0.0"));
            assertTrue(own("localhost").contains("127.0.0.1"), "a name is resolved on the host");
            assertEquals("", own("no-such-host.invalid"));
            assertEquals("", own("1.2.3.256"));
        }
    }
}
