package io.obplay.fleet;

import io.obplay.cli.ExitCodes;
import io.obplay.cli.Main;
import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.store.Store;
import io.obplay.store.sqlite.SqliteStore;
import io.obplay.testing.HostContainer;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.Container.ExecResult;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The restart step, {@code strategy: rolling} and the playbook's {@code gate:} end to end over real SSH to three real
 * hosts ({@link HostContainer}s, one zone each), each with a startable stand-in observer ({@code standin.py install},
 * started as obshell starts it) on the production ports 2881/2882 and home {@value #OB_HOME}.
 *
 * <p>The fixtures are varied so that they do not agree with obplay's scripts by construction: zone2's observer writes
 * its pid file under another name (declared in the inventory with {@code pid_file:}), zone3's listens only 2 s after
 * it started (zone1's after the stand-in's default 0.5 s).
 *
 * <p>While a rolling restart runs, a sampler thread of this test connects by TCP to every host's bridge address on
 * 2881 every ~50 ms and records which zones are down: never two at once, each at least once.
 *
 * <p>The fixture (three containers shared by the class, cleaned after each test) is {@link FleetSshTest}'s.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RollingRestartSshTest {
    static final String OB_HOME = "/home/admin/oceanbase";
    static final String DEFAULT_PID = OB_HOME + "/run/observer.pid";
    /** zone2's pid file: not the default name, declared in the inventory. */
    static final String ZONE2_PID_REL = "run/observer-zone2-2881.pid";

    static HostContainer h1;
    static HostContainer h2;
    static HostContainer h3;
    static List<HostContainer> hosts;

    @TempDir
    Path dir;
    Path state;
    Path knownHosts;

    // ------------------------------------------------------------------------------------------------------------
    // fixture (FleetSshTest's)

    @BeforeAll
    static void startHosts() {
        TestHosts.requireHostImage();
        List<CompletableFuture<HostContainer>> starting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            starting.add(CompletableFuture.supplyAsync(() -> new HostContainer().start()));
        }
        List<HostContainer> started = new ArrayList<>();
        RuntimeException failure = null;
        for (CompletableFuture<HostContainer> f : starting) {
            try {
                started.add(f.join());
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        hosts = started;
        if (failure != null) {
            throw failure;
        }
        h1 = started.get(0);
        h2 = started.get(1);
        h3 = started.get(2);
        for (HostContainer h : hosts) {
            assertTrue(TestHosts.canConnect(h.ipAddress(), 22, 5_000), "this machine cannot reach the container "
                    + h.containerId().substring(0, 12) + " at its bridge address " + h.ipAddress()
                    + ":22; these tests need a local Docker daemon (see src/test/docker/README.md)");
        }
    }

    @AfterAll
    static void stopHosts() {
        if (hosts != null) {
            hosts.forEach(HostContainer::close);
        }
    }

    @BeforeEach
    void files() throws Exception {
        state = dir.resolve("state");
        knownHosts = dir.resolve("known_hosts");
        StringBuilder b = new StringBuilder();
        for (HostContainer h : hosts) {
            b.append(h.knownHostsLine(h.ipAddress(), 22)).append('\n');
        }
        Files.writeString(knownHosts, b.toString());
    }

    /** Every test starts from empty hosts: no process of admin (nor of nobody, the port holder), no home, sshd up. */
    @AfterEach
    void cleanHosts() {
        for (HostContainer h : hosts) {
            if (!h.isListening(22)) {
                h.startSshd();
            }
            h.sh("pkill -KILL -u admin; pkill -KILL -u nobody; rm -rf " + OB_HOME + " /tmp/obplay-start.*");
            assertTrue(TestHosts.await(() -> h.exec("pgrep", "-u", "admin").getExitCode() == 1
                            && h.exec("pgrep", "-u", "nobody").getExitCode() == 1, Duration.ofSeconds(10)),
                    "admin's and nobody's processes are gone in " + h.ipAddress());
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // helpers

    record Cli(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    /** obplay in this JVM, as {@code java -jar obplay.jar args...}. */
    static Cli obplay(Object... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] a = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            a[i] = String.valueOf(args[i]);
        }
        int code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), a);
        return new Cli(code, out.toString(), err.toString());
    }

    Cli run(Path inventory, Path playbook) {
        return obplay("run", "-i", inventory, playbook, "--yes", "--state-dir", state);
    }

    /**
     * SSH as admin with the test key and strict host keys; production observer defaults. zone1 = h1, zone2 = h2 (its
     * pid file declared under another name), zone3 = h3.
     */
    Path inventory() throws IOException {
        String text = """
                cluster: fleet
                transport: ssh
                ssh:
                  user: admin
                  port: 22
                  key: %s
                  known_hosts: %s
                  host_key_checking: strict
                  connect_timeout: 5s
                observer:
                  home_path: %s
                  mysql_port: 2881
                  rpc_port: 2882
                  agent_port: 2886
                zones:
                  zone1:
                    servers:
                      - { host: %s }
                  zone2:
                    servers:
                      - { host: %s, pid_file: %s }
                  zone3:
                    servers:
                      - { host: %s }
                """.formatted(TestHosts.keyFile(), knownHosts, OB_HOME, h1.ipAddress(), h2.ipAddress(), ZONE2_PID_REL,
                h3.ipAddress());
        return file("inventory.yaml", text);
    }

    /** The rolling restart of the whole cluster; its gate pauses, then runs a command that records it passed. */
    Path rollingRestart() throws IOException {
        Path gates = dir.resolve("gates.log");
        return file("rolling-restart.yaml", """
                name: rolling restart
                targets: { all: true }
                strategy: rolling
                gate:
                  pause: 500ms
                  timeout: 30s
                  interval: 200ms
                  command: ["sh", "-c", "echo gate passed >> '%s'"]
                  obshell: false
                  sql: false
                steps:
                  - restart: { grace: 10s, kill_wait: 10s, settle: 1s, wait: 30s }
                """.formatted(gates));
    }

    Path file(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    Dag dag(long id) {
        try (Store s = SqliteStore.open(state)) {
            return s.dag(id).orElseThrow();
        }
    }

    /** The DAG the last run recorded. */
    Dag latest(Cli r) {
        try (Store s = SqliteStore.open(state)) {
            List<Dag> d = s.dags(1);
            assertEquals(1, d.size(), () -> "a DAG was recorded by:\n" + r);
            return s.dag(d.get(0).dagId()).orElseThrow();  // with its nodes
        }
    }

    static String zone(HostContainer h) {
        return "zone" + (hosts.indexOf(h) + 1);
    }

    static String pidFile(HostContainer h) {
        return h == h2 ? OB_HOME + "/" + ZONE2_PID_REL : DEFAULT_PID;
    }

    /**
     * {@code standin.py install} in {@value #OB_HOME}, as admin: zone1 default pid file and listen delay 0.5 s, zone2
     * its pid file under {@link #ZONE2_PID_REL}, zone3 a listen delay of 2 s; and the data directories a deployment
     * leaves (the start refuses without them).
     */
    static void install(HostContainer h) {
        h.execOk("install", "-d", "-o", "admin", "-g", "admin", OB_HOME);
        List<String> cmd = new ArrayList<>(List.of("python3", TestHosts.CONTAINER_STANDIN, "install", "--home", OB_HOME,
                "--kind", "observer", "--ports", "2881,2882", "--bind", "0.0.0.0", "--zone", zone(h)));
        if (h == h2) {
            cmd.addAll(List.of("--pidfile", ZONE2_PID_REL));
        }
        if (h == h3) {
            cmd.addAll(List.of("--listen-delay", "2"));
        }
        ExecResult r = h.execAs("admin", cmd.toArray(String[]::new));
        assertEquals(0, r.getExitCode(), () -> "install in " + h.ipAddress() + ": " + r.getStdout() + r.getStderr());
        // a deployed observer's data directories (the inventory's defaults: store, store/clog, store/slog)
        h.execOk("install", "-d", "-o", "admin", "-g", "admin", OB_HOME + "/store", OB_HOME + "/store/clog",
                OB_HOME + "/store/slog");
    }

    /** Starts the installed observer as obshell does, as admin; returns its pid once its pid file is there and 2881/2882 LISTEN. */
    static int startAsObshell(HostContainer h) {
        ExecResult r = h.execAs("admin", "sh", "-c", "cd " + OB_HOME + " && LD_LIBRARY_PATH=" + OB_HOME + "/lib "
                + OB_HOME + "/bin/observer </dev/null >/tmp/standin-start.out 2>&1; rc=$?; cat /tmp/standin-start.out; exit $rc");
        assertEquals(0, r.getExitCode(), () -> "start in " + h.ipAddress() + ": " + r.getStdout() + r.getStderr());
        assertTrue(TestHosts.await(() -> h.isListening(2881) && h.isListening(2882), Duration.ofSeconds(10)),
                "the observer of " + zone(h) + " listens");
        Integer pid = h.readPid(pidFile(h));
        assertNotNull(pid, "pid file " + pidFile(h) + " in " + zone(h));
        assertTrue(h.isAlive(pid));
        return pid;
    }

    static int installAndStart(HostContainer h) {
        install(h);
        return startAsObshell(h);
    }

    static boolean listensFromHere(HostContainer h) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(h.ipAddress(), 2881), 300);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Connects to each host's 2881 every ~50 ms from this machine and records the zones that are down at each sample. */
    static final class Sampler implements AutoCloseable {
        final List<Set<String>> samples = new CopyOnWriteArrayList<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;

        Sampler() {
            thread = new Thread(() -> {
                while (!stop.get()) {
                    Set<String> down = new LinkedHashSet<>();
                    for (HostContainer h : hosts) {
                        if (!listensFromHere(h)) {
                            down.add(zone(h));
                        }
                    }
                    samples.add(down);
                    try {
                        Thread.sleep(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "zone-sampler");
            thread.setDaemon(true);
            thread.start();
            assertTrue(TestHosts.await(() -> samples.size() >= 3, Duration.ofSeconds(5)), "the sampler samples");
        }

        boolean sawDown(String zone) {
            return samples.stream().anyMatch(s -> s.contains(zone));
        }

        int maxDown() {
            return samples.stream().mapToInt(Set::size).max().orElse(0);
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(5_000);
        }
    }

    static List<Node> named(Dag d, String prefix) {
        return d.nodes().stream().filter(n -> n.name().startsWith(prefix)).toList();
    }

    static SubTask only(Node n) {
        assertEquals(1, n.subTasks().size(), "one sub-task in " + n.name());
        return n.subTasks().get(0);
    }

    static Node restartOf(Dag d, HostContainer h) {
        return named(d, "Restart").stream()
                .filter(n -> n.subTasks().stream().anyMatch(t -> t.data().host().equals(h.ipAddress())))
                .findFirst().orElseThrow(() -> new AssertionError("no restart node on " + h.ipAddress() + " in " + names(d)));
    }

    static List<String> names(Dag d) {
        return d.nodes().stream().map(Node::name).toList();
    }

    static String logs(SubTask t) {
        return String.join("\n", t.taskLogs());
    }

    static void assertLog(SubTask t, String text) {
        if (t.taskLogs().stream().noneMatch(l -> l.contains(text))) {
            fail("no log line with '" + text + "' in:\n" + logs(t));
        }
    }

    /** The observer restarted: a new pid in its pid file, alive, cwd under the home, listening. */
    static int assertRestarted(HostContainer h, int before) {
        Integer now = h.readPid(pidFile(h));
        assertNotNull(now, "pid file " + pidFile(h) + " in " + zone(h));
        assertNotEquals(before, now.intValue(), zone(h) + "'s observer has a new pid");
        assertFalse(h.isAlive(before), zone(h) + "'s old observer " + before + " is gone");
        assertTrue(h.isAlive(now), zone(h) + "'s new observer " + now + " is alive");
        String cwd = h.cwdOf(now);
        assertTrue(cwd != null && (cwd.equals(OB_HOME) || cwd.startsWith(OB_HOME + "/")), "cwd " + cwd + " is under the home");
        assertEquals("observer", h.commOf(now));
        assertTrue(h.isListening(2881) && h.isListening(2882), zone(h) + " listens again");
        return now;
    }

    // ------------------------------------------------------------------------------------------------------------
    // 1. a rolling restart of three zones: one zone down at a time, each restarted, a gate after each zone

    @Test
    void aRollingRestartOfThreeZonesNeverHasTwoZonesDown() throws Exception {
        int[] before = new int[3];
        for (int i = 0; i < 3; i++) {
            before[i] = installAndStart(hosts.get(i));
        }
        Path inv = inventory();
        Path pb = rollingRestart();

        Cli plan = obplay("plan", "-i", inv, pb);
        assertEquals(ExitCodes.OK, plan.code(), plan::toString);
        for (int i = 1; i <= 3; i++) {
            assertTrue(plan.out().contains("Gate [zone" + i + "]"), "the plan shows the gate after zone" + i + ":\n" + plan);
        }

        Cli r;
        Sampler sampler = new Sampler();
        try (sampler) {
            assertTrue(sampler.samples.get(0).isEmpty(), "every zone is up before the run: " + sampler.samples.get(0));
            r = run(inv, pb);
        }
        assertEquals(ExitCodes.OK, r.code(), r::toString);

        // never two zones down at once, and each zone was really down once
        assertTrue(sampler.samples.size() > 50, "samples: " + sampler.samples.size());
        assertTrue(sampler.maxDown() <= 1, "at most one zone down at any sample; saw " + sampler.samples.stream()
                .filter(s -> s.size() > 1).findFirst().orElse(Set.of()));
        for (HostContainer h : hosts) {
            assertTrue(sampler.sawDown(zone(h)), zone(h) + " was seen down (it was restarted)");
        }
        // and the zones went down in order: zone1's outage is over before zone2's begins, and so on
        List<String> order = new ArrayList<>();
        for (Set<String> s : sampler.samples) {
            for (String z : s) {
                if (order.isEmpty() || !order.get(order.size() - 1).equals(z)) {
                    order.add(z);
                }
            }
        }
        assertEquals(List.of("zone1", "zone2", "zone3"), order, "one outage per zone, zone after zone");

        for (int i = 0; i < 3; i++) {
            assertRestarted(hosts.get(i), before[i]);
        }

        Dag d = dag(1);
        assertEquals(State.SUCCEED, d.state());
        assertEquals(List.of("Restart", "Gate [zone1]", "Restart", "Gate [zone2]", "Restart", "Gate [zone3]"),
                names(d).stream().map(n -> n.startsWith("Restart") ? "Restart" : n).toList(),
                "a restart then a gate, zone after zone: " + names(d));
        for (int i = 0; i < 3; i++) {
            HostContainer h = hosts.get(i);
            Node restart = d.nodes().get(2 * i);
            SubTask t = only(restart);
            assertEquals(h.ipAddress(), t.data().host(), restart.name() + " runs on " + zone(h));
            assertEquals(State.SUCCEED, t.state(), logs(t));
            assertLog(t, "started");
            Node gate = d.nodes().get(2 * i + 1);
            SubTask g = only(gate);
            assertEquals(State.SUCCEED, g.state(), logs(g));
            assertLog(g, "gate after zone" + (i + 1));
            assertLog(g, "the gate after zone" + (i + 1) + " passed");
        }
        assertLog(only(restartOf(d, h2)), ZONE2_PID_REL);

        // the gate's command ran on the controller, once per zone
        assertEquals(List.of("gate passed", "gate passed", "gate passed"), Files.readAllLines(dir.resolve("gates.log")));

        Cli show = obplay("dag", "show", "1", "--state-dir", state);
        assertEquals(ExitCodes.OK, show.code(), show::toString);
        for (int i = 1; i <= 3; i++) {
            assertTrue(show.out().contains("Gate [zone" + i + "]"), show.out());
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // 2. zone2 does not come back: the rolling stops there, zone3 is untouched; retry finishes it

    @Test
    void aZoneThatDoesNotComeBackStopsTheRollingAndRetryFinishesIt() throws Exception {
        int[] before = new int[3];
        for (int i = 0; i < 3; i++) {
            before[i] = installAndStart(hosts.get(i));
        }
        String reason = "disk of zone2 is read-only (test fault)";
        h2.execOk("su", "admin", "-s", "/bin/sh", "-c", "printf 'crash %s\\n' '" + reason + "' > " + OB_HOME + "/etc/standin.fault");
        Path inv = inventory();
        Path pb = rollingRestart();

        Cli r;
        Sampler sampler = new Sampler();
        try (sampler) {
            r = run(inv, pb);
        }
        assertEquals(ExitCodes.HOSTS_FAILED, r.code(), r::toString);

        int z1 = assertRestarted(h1, before[0]);
        assertFalse(h2.isListening(2881), "zone2 did not come back");
        assertFalse(h2.isAlive(before[1]), "zone2's old observer was stopped");
        assertEquals(Integer.valueOf(before[2]), h3.readPid(pidFile(h3)), "zone3 has the same observer");
        assertTrue(h3.isAlive(before[2]) && h3.isListening(2881), "zone3's observer still runs");
        assertFalse(sampler.sawDown("zone3"), "zone3 was never down");
        assertTrue(sampler.sawDown("zone1") && sampler.sawDown("zone2"));
        assertTrue(sampler.maxDown() <= 1, "never two zones down");

        Dag d = dag(1);
        assertEquals(State.FAILED, d.state());
        SubTask t2 = only(restartOf(d, h2));
        assertEquals(State.FAILED, t2.state(), logs(t2));
        assertLog(t2, "crashing at start: " + reason);
        assertEquals(State.SUCCEED, only(restartOf(d, h1)).state());
        SubTask t3 = only(restartOf(d, h3));
        assertNotEquals(State.SUCCEED, t3.state(), logs(t3));
        assertNotEquals(State.FAILED, t3.state(), logs(t3));
        assertTrue(t3.taskLogs().isEmpty(), "zone3's restart never ran:\n" + logs(t3));
        assertEquals(State.SUCCEED, only(named(d, "Gate [zone1]").get(0)).state());
        assertNotEquals(State.SUCCEED, only(named(d, "Gate [zone2]").get(0)).state());
        assertEquals(List.of("gate passed"), Files.readAllLines(dir.resolve("gates.log")), "only zone1's gate ran");

        // the fault is gone: retry finishes the rolling restart from zone2
        h2.execOk("rm", OB_HOME + "/etc/standin.fault");
        Cli retry;
        Sampler again = new Sampler();
        try (again) {
            retry = obplay("dag", "retry", "1", "--yes", "--state-dir", state);
        }
        assertEquals(ExitCodes.OK, retry.code(), retry::toString);
        assertFalse(again.sawDown("zone1"), "zone1 is not restarted again");
        assertTrue(again.sawDown("zone3"), "zone3 is restarted now");
        assertTrue(again.maxDown() <= 1, "never two zones down during the retry");
        assertEquals(Integer.valueOf(z1), h1.readPid(pidFile(h1)), "zone1 keeps the observer of the first run");
        assertTrue(h1.isAlive(z1));
        Integer z2 = h2.readPid(pidFile(h2));
        assertNotNull(z2);
        assertNotEquals(before[1], z2.intValue());
        assertTrue(h2.isAlive(z2) && h2.isListening(2881) && h2.isListening(2882), "zone2 runs again");
        assertTrue(h2.cwdOf(z2).startsWith(OB_HOME));
        assertRestarted(h3, before[2]);

        Dag done = dag(1);
        assertEquals(State.SUCCEED, done.state());
        done.nodes().forEach(n -> assertEquals(State.SUCCEED, only(n).state(), n.name()));
        assertEquals(List.of("gate passed", "gate passed", "gate passed"), Files.readAllLines(dir.resolve("gates.log")));
    }

    // ------------------------------------------------------------------------------------------------------------
    // 3. start refuses a running server, and a port another process holds

    @Test
    void startIsRefusedOnARunningServerAndOnAPortHeldByAnotherProcess() throws Exception {
        Path inv = inventory();
        Path pb = file("start-zone1.yaml", """
                name: start zone1
                targets: { zones: [zone1] }
                steps:
                  - start: { wait: 10s, settle: 1s }
                """);

        // a running observer
        int running = installAndStart(h1);
        Cli r = run(inv, pb);
        assertEquals(ExitCodes.HOSTS_FAILED, r.code(), r::toString);
        SubTask t = only(latest(r).nodes().get(0));
        assertEquals(State.FAILED, t.state(), logs(t));
        assertLog(t, "refusing to start");
        assertLog(t, "it already runs, pid " + running);
        assertEquals(Integer.valueOf(running), h1.readPid(DEFAULT_PID), "the same observer");
        assertTrue(h1.isAlive(running) && h1.isListening(2881) && h1.isListening(2882), "it runs on, listening");
        assertEquals(List.of(running), adminPids(h1), "no other process of admin was launched");

        // the refused start's FAILED DAG holds the cluster's maintenance lock: accept it (as an operator would)
        Cli pass = obplay("dag", "pass", String.valueOf(latest(r).dagId()), "--yes", "--state-dir", state);
        assertEquals(ExitCodes.OK, pass.code(), pass::toString);

        // a stopped observer whose mysql port another user's process holds, from another directory
        install(h2);
        int holder = holdPort(h2, 2881);
        Path pb2 = file("start-zone2.yaml", """
                name: start zone2
                targets: { zones: [zone2] }
                steps:
                  - start: { wait: 10s, settle: 1s }
                """);
        Cli r2 = run(inv, pb2);
        assertEquals(ExitCodes.HOSTS_FAILED, r2.code(), r2::toString);
        Dag d2 = latest(r2);
        assertNotEquals(dag(1).dagId(), d2.dagId(), () -> "the second run recorded its own DAG:\n" + r2);
        SubTask t2 = only(d2.nodes().get(0));
        assertEquals(State.FAILED, t2.state(), logs(t2));
        assertLog(t2, "refusing to start");
        assertLog(t2, "port(s) [2881 on 0.0.0.0] LISTEN already, held by another process");
        assertLog(t2, "2881");
        assertFalse(logs(t2).contains("launching"), "nothing was launched:\n" + logs(t2));
        assertFalse(h2.fileExists(pidFile(h2)), "no pid file was written");
        assertEquals(List.of(), adminPids(h2), "no process of admin (none under the home)");
        assertEquals("", h2.sh("for p in /proc/[0-9]*; do c=$(readlink $p/cwd 2>/dev/null) || continue; "
                + "case $c in " + OB_HOME + "|" + OB_HOME + "/*) echo ${p#/proc/};; esac; done").getStdout().strip(),
                "no process under the home");
        assertTrue(h2.isAlive(holder), "the other process still runs");
        assertTrue(h2.isListening(2881), "and still holds 2881");
        assertEquals("/tmp", h2.cwdOf(holder));
    }

    /** The pids of admin's processes in the container, sorted. */
    static List<Integer> adminPids(HostContainer h) {
        String out = h.exec("pgrep", "-u", "admin").getStdout().strip();
        return out.isEmpty() ? List.of() : out.lines().map(Integer::valueOf).sorted().toList();
    }

    /** A python3 of user nobody, in /tmp, listening on 0.0.0.0:port; its pid once it listens. */
    static int holdPort(HostContainer h, int port) {
        String py = "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                + "s.bind(('0.0.0.0'," + port + "))\ns.listen(8)\ntime.sleep(3600)\n";
        ExecResult r = h.execAs("nobody", "sh", "-c", "cd /tmp && setsid python3 -c \"$1\" </dev/null >/dev/null 2>&1 & echo $!",
                "sh", py);
        assertEquals(0, r.getExitCode(), r::getStderr);
        int pid = Integer.parseInt(r.getStdout().strip());
        assertTrue(TestHosts.await(() -> h.isListening(port), Duration.ofSeconds(10)), "the holder listens on " + port);
        assertEquals("python3", h.commOf(pid));
        return pid;
    }
}
