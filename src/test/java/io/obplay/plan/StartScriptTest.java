package io.obplay.plan;

import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.inventory.SshSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.obplay.plan.StepScriptsTest.Result;
import static io.obplay.plan.StepScriptsTest.alive;
import static io.obplay.plan.StepScriptsTest.pidsUnder;
import static io.obplay.plan.StepScriptsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The start script against real processes: a small startable fake in the test's home (a python bin/observer or
 * bin/obproxy that daemonizes as the real one does, writes a pid file and listens, after a delay, or crashes), in
 * several layouts. Each test checks what the script says, its exit status, and what really runs afterwards.
 */
public class StartScriptTest {

    static final Duration SETTLE = Duration.ofMillis(800);

    @TempDir
    Path tmp;

    final List<ServerSocket> sockets = new ArrayList<>();

    @AfterEach
    void killLeftovers() throws IOException {
        for (ServerSocket s : sockets) {
            s.close();
        }
        for (long pid : pidsUnder(tmp.toRealPath().toString())) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // fixtures

    /** How the fake behaves: where it writes its pid, when it listens (or crashes), what its launcher exits with. */
    public record Fake(String pidFile, double listenAfter, boolean crash, int launcherExit) {
        public static Fake plain(String pidFile) {
            return new Fake(pidFile, 0.3, false, 0);
        }
    }

    /** A deployed observer's home: its directories, etc/observer.config.bin, and a fake bin/observer. */
    public static Server deployedObserver(Path home, Fake fake, int... ports) throws IOException {
        for (String d : List.of("log", "run", "etc", "bin", "lib", "store", "store/clog", "store/slog")) {
            Files.createDirectories(home.resolve(d));
        }
        Files.writeString(home.resolve("etc/observer.config.bin"), "fake config\n");
        writeFake(home.resolve("bin/observer"), "log/observer.log", fake, ports);
        return observer(home, ports);
    }

    static Server observer(Path home, int... ports) {
        String h = home.toString();
        Map<String, String> dirs = new LinkedHashMap<>();
        dirs.put("home", h);
        for (String d : List.of("log", "run", "etc", "bin", "lib", "store")) {
            dirs.put(d, h + "/" + d);
        }
        dirs.put("data_dir", h + "/store");
        dirs.put("clog_dir", h + "/store/clog");
        dirs.put("slog_dir", h + "/store/slog");
        Map<String, Integer> p = new LinkedHashMap<>();
        p.put("mysql_port", ports[0]);
        p.put("rpc_port", ports[1]);
        return new Server(Role.OBSERVER, "127.0.0.1:2886", "zone1", 0, 0, "127.0.0.1", 2886, SshSettings.DEFAULTS, h, dirs,
                p, Map.of("server", h + "/run/observer.pid"), Map.of());
    }

    /** A python program that starts as the real server does: it forks, the launcher exits, the daemon stays. */
    public static void writeFake(Path bin, String log, Fake f, int... ports) throws IOException {
        StringBuilder portList = new StringBuilder();
        for (int p : ports) {
            portList.append(p).append(", ");
        }
        String py = "#!/usr/bin/python3\n"
                + "import os, socket, sys, time\n"
                + "home = os.path.dirname(os.path.dirname(os.path.abspath(sys.argv[0])))\n"
                + "os.chdir(home)\n"
                + "out = open(os.path.join(home, '" + log + "'), 'a')\n"
                + "def say(m):\n    out.write(time.strftime('[%H:%M:%S] ') + m + '\\n'); out.flush()\n"
                + "say('launched with args %r, LD_LIBRARY_PATH=%s, cwd %s' % (sys.argv[1:], os.environ.get('LD_LIBRARY_PATH', ''), os.getcwd()))\n"
                + "if " + f.launcherExit() + ":\n    say('bad option'); print('observer: bad option'); sys.exit(" + f.launcherExit() + ")\n"
                + "if os.fork() > 0:\n    os._exit(0)\n"
                + "os.setsid()\n"
                + "if os.fork() > 0:\n    os._exit(0)\n"
                + "fd = os.open('/dev/null', os.O_RDWR)\n"
                + "for i in (0, 1, 2):\n    os.dup2(fd, i)\n"
                + "open('" + f.pidFile() + "', 'w').write('%d\\n' % os.getpid())\n"
                + "say('pid %d, initializing' % os.getpid())\n"
                + "time.sleep(" + f.listenAfter() + ")\n"
                + "if " + (f.crash() ? "True" : "False") + ":\n    say('ERROR: fake failure: the clog disk is full'); os._exit(2)\n"
                + "socks = []\n"
                + "for p in [" + portList + "]:\n"
                + "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', p)); s.listen(8); socks.append(s)\n"
                + "say('listening')\n"
                + "while True:\n    time.sleep(1)\n";
        Files.writeString(bin, py);
        Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));
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

    static boolean listens(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static Script start(Server s, Duration wait) {
        return StepScripts.start(s, wait, SETTLE);
    }

    static void assertLine(Result r, String part) {
        assertTrue(r.out().lines().anyMatch(l -> l.contains(part)), "no line with '" + part + "' in:\n" + r.out());
    }

    static void assertFailedLast(Result r, int code, String part) {
        assertEquals(code, r.code(), r.out());
        List<String> lines = r.out().lines().toList();
        String last = lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        assertTrue(last.startsWith("obplay: FAILED: ") && last.contains(part), "last line '" + last + "' lacks '" + part + "'");
    }

    long pid(Path file) throws IOException {
        return Long.parseLong(Files.readString(file).trim());
    }

    // ---------------------------------------------------------------------------------------------------------

    @Test
    void startsAsObshellDoesAndIsDoneOnlyOnceEveryPortListensForTheSettlePeriod() throws Exception {
        Path home = tmp.resolve("ob home");
        int[] ports = freePorts(2);
        Server s = deployedObserver(home, new Fake("run/observer.pid", 1.5, false, 0), ports);

        Result r = run(start(s, Duration.ofSeconds(20)));

        assertEquals(0, r.code(), r.out());
        long pid = pid(home.resolve("run/observer.pid"));
        assertTrue(alive(pid));
        assertTrue(listens(ports[0]) && listens(ports[1]));
        assertTrue(r.took().compareTo(Duration.ofMillis(1500).plus(SETTLE)) >= 0, "done only after it listened and settled");
        assertLine(r, "launching 127.0.0.1:2886: cd '" + home + "' && LD_LIBRARY_PATH='" + home + "/lib' exec '" + home + "/bin/observer'");
        assertLine(r, "is up after ");
        assertTrue(r.out().endsWith("obplay: started 127.0.0.1:2886: pid " + pid + " from " + home + "/run/observer.pid, port(s) ["
                + ports[0] + " on 127.0.0.1, " + ports[1] + " on 127.0.0.1] LISTEN, ready for the 0.8s settle period\n"), r.out());
        String log = Files.readString(home.resolve("log/observer.log"));
        assertTrue(log.contains("launched with args [], LD_LIBRARY_PATH=" + home + "/lib, cwd " + home.toRealPath()), log);
        assertEquals(home.toRealPath(), Path.of("/proc/" + pid + "/cwd").toRealPath(), "runs from its home");
    }

    @Test
    void anObproxyWhosePidFileHasOBDsNameIsReadyByThatFile() throws Exception {
        Path home = tmp.resolve("px");
        int[] ports = freePorts(2);
        for (String d : List.of("log", "run", "etc", "bin", "lib")) {
            Files.createDirectories(home.resolve(d));
        }
        String obd = "run/obproxy-127.0.0.1-" + ports[0] + ".pid";
        writeFake(home.resolve("bin/obproxy"), "log/obproxy.log", new Fake(obd, 0.5, false, 0), ports);
        Server s = StepScriptsTest.obproxyBothLayouts(home, ports[0], ports[1]);

        Result r = run(start(s, Duration.ofSeconds(20)));

        assertEquals(0, r.code(), r.out());
        long pid = pid(home.resolve(obd));
        assertTrue(alive(pid));
        assertLine(r, "launching obproxy:1/1: cd '" + home + "' && exec ./bin/obproxy");
        assertLine(r, "started obproxy:1/1: pid " + pid + " from " + home + "/" + obd);
        assertFalse(Files.exists(home.resolve("run/obproxy.pid")), "obshell's name was not written: the server wrote OBD's");
    }

    @Test
    void aServerThatCrashesWhileStartingFailsWithTheLastLinesOfItsLog() throws Exception {
        Path home = tmp.resolve("ob");
        int[] ports = freePorts(2);
        Server s = deployedObserver(home, new Fake("run/observer.pid", 0.5, true, 0), ports);

        Result r = run(start(s, Duration.ofSeconds(20)));

        assertFailedLast(r, 1, "127.0.0.1:2886 exited after ");
        assertLine(r, "last lines of " + home + "/log/observer.log:");
        assertLine(r, "  | [");
        assertLine(r, "ERROR: fake failure: the clog disk is full");
        assertTrue(r.took().compareTo(Duration.ofSeconds(10)) < 0, "fails when it exits, not at the timeout: " + r.took());
        assertFalse(listens(ports[0]));
    }

    @Test
    void aServerThatNeverListensFailsAtTheWaitWithItsLogAndIsLeftAlone() throws Exception {
        Path home = tmp.resolve("ob");
        int[] ports = freePorts(2);
        Server s = deployedObserver(home, new Fake("run/observer.pid", 120, false, 0), ports);

        Result r = run(start(s, Duration.ofSeconds(3)));

        assertFailedLast(r, 4, "127.0.0.1:2886 not ready after 3.0s: pid ");
        assertTrue(r.out().lines().toList().get(r.out().lines().toList().size() - 1)
                .endsWith("runs, but port(s) [" + ports[0] + " " + ports[1] + "] do not LISTEN on its addresses"), r.out());
        assertLine(r, "pid " + pid(home.resolve("run/observer.pid")) + ", initializing");
        long pid = pid(home.resolve("run/observer.pid"));
        assertLine(r, "left running, not signalled: pid(s) [" + pid + "]");
        assertTrue(alive(pid), "not signalled");
    }

    @Test
    void aStartCommandThatFailsFailsTheStartWithWhatItPrinted() throws Exception {
        Path home = tmp.resolve("ob");
        int[] ports = freePorts(2);
        Server s = deployedObserver(home, new Fake("run/observer.pid", 0.1, false, 7), ports);

        Result r = run(start(s, Duration.ofSeconds(20)));

        assertFailedLast(r, 1, "127.0.0.1:2886 did not start: the start command exited with status 7");
        assertLine(r, "the start command printed:");
        assertLine(r, "  | observer: bad option");
    }

    @Test
    void theInventorysStartCommandReplacesObshellsLaunch() throws Exception {
        Path home = tmp.resolve("ob");
        int[] ports = freePorts(2);
        Server s = deployedObserver(home, Fake.plain("run/observer.pid"), ports);

        Result r = run(StepScripts.start(s, "LD_LIBRARY_PATH=/opt/ob/lib ./bin/observer --from 'the inventory'",
                Duration.ofSeconds(20), SETTLE));

        assertEquals(0, r.code(), r.out());
        assertTrue(Files.readString(home.resolve("log/observer.log"))
                .contains("launched with args ['--from', 'the inventory'], LD_LIBRARY_PATH=/opt/ob/lib"));
    }

    // ---------------------------------------------------------------------------------------------------------
    // refusals: exit 3, nothing started

    private void assertNothingStarted(Path home) throws IOException {
        assertFalse(Files.exists(home.resolve("log/observer.log")), "the fake was never launched");
        assertFalse(Files.exists(home.resolve("run/observer.pid")));
    }

    @Test
    void refusesWhenItAlreadyRuns() throws Exception {
        Path home = tmp.resolve("ob");
        int[] ports = freePorts(2);
        Server s = deployedObserver(home, Fake.plain("run/observer.pid"), ports);
        assertEquals(0, run(start(s, Duration.ofSeconds(20))).code());
        long pid = pid(home.resolve("run/observer.pid"));
        long size = Files.size(home.resolve("log/observer.log"));

        Result again = run(start(s, Duration.ofSeconds(20)));

        assertFailedLast(again, 3, "refusing to start 127.0.0.1:2886: it already runs, pid " + pid + " from " + home + "/run/observer.pid");
        assertEquals(size, Files.size(home.resolve("log/observer.log")), "not launched again");
        assertTrue(alive(pid));
    }

    @Test
    void refusesWhenAPortIsHeldByAnotherProcess() throws Exception {
        Path home = tmp.resolve("ob");
        int[] ports = freePorts(2);
        Server s = deployedObserver(home, Fake.plain("run/observer.pid"), ports);
        ServerSocket other = new ServerSocket();
        other.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), ports[1]));
        sockets.add(other);

        Result r = run(start(s, Duration.ofSeconds(20)));

        assertFailedLast(r, 3, "refusing to start 127.0.0.1:2886: port(s) [" + ports[1] + " on 127.0.0.1] LISTEN already, held by another process (pid "
                + ProcessHandle.current().pid());
        assertNothingStarted(home);
    }

    @Test
    void refusesAnObserverThatWasNeverStarted() throws Exception {
        Path home = tmp.resolve("ob");
        int[] ports = freePorts(2);
        Server s = deployedObserver(home, Fake.plain("run/observer.pid"), ports);
        Files.delete(home.resolve("etc/observer.config.bin"));

        Result r = run(start(s, Duration.ofSeconds(20)));

        assertFailedLast(r, 3, "refusing to start 127.0.0.1:2886: " + home + "/etc/observer.config.bin is absent, so it has never been"
                + " started; starting it would be a deployment");
        assertNothingStarted(home);
    }

    @Test
    void refusesWhenADeclaredDirectoryIsMissing() throws Exception {
        Path home = tmp.resolve("ob");
        int[] ports = freePorts(2);
        Server s = deployedObserver(home, Fake.plain("run/observer.pid"), ports);
        Files.delete(home.resolve("store/clog"));

        Result r = run(start(s, Duration.ofSeconds(20)));

        assertFailedLast(r, 3, "refusing to start 127.0.0.1:2886: declared directories missing: clog_dir " + home + "/store/clog");
        assertNothingStarted(home);
    }

    @Test
    void aStalePidFileIsRemovedAndTheServerStarts() throws Exception {
        Path home = tmp.resolve("ob");
        int[] ports = freePorts(2);
        Server s = deployedObserver(home, Fake.plain("run/observer.pid"), ports);
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Files.writeString(home.resolve("run/observer.pid"), gone.pid() + "\n");

        Result r = run(start(s, Duration.ofSeconds(20)));

        assertEquals(0, r.code(), r.out());
        assertLine(r, "removed stale pid file " + home + "/run/observer.pid: pid " + gone.pid() + " is not running");
        assertTrue(alive(pid(home.resolve("run/observer.pid"))));
    }
}
