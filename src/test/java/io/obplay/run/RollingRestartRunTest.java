package io.obplay.run;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.Server;
import io.obplay.inventory.YamlSource;
import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.PlanOptions;
import io.obplay.plan.Planner;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.playbook.PlaybookLoader;
import io.obplay.run.transport.LocalTransport;
import io.obplay.store.Store;
import io.obplay.store.sqlite.SqliteStore;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A rolling restart through the executor on the local transport, of three zones of startable stand-ins
 * ({@code standin.py install}, started as obshell starts them: real daemons, pid files, listening ports), with a
 * gate between zones. A sampler connects to every zone's port while it runs: no two zones are ever down at once
 * (seen, not assumed), and every zone was really down once. A gate that does not pass stops the DAG before the next
 * zone is touched; RETRY, once it passes, finishes the rest.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RollingRestartRunTest {
    private static final String[] ZONES = {"zone1", "zone2", "zone3"};

    @TempDir
    Path dir;
    Store store;

    @AfterEach
    void tearDown() throws IOException {
        if (store != null) {
            store.close();
        }
        TestHosts.killProcessesUnder(dir);
    }

    /** The fleet: three zones laid out differently (pid file names, listen delays, a home behind a symlink). */
    private record Fleet(Inventory inventory, List<Path> homes, List<Path> pidFiles, int[] mysqlPorts) {
        long pid(int zone) throws IOException {
            return Long.parseLong(Files.readString(pidFiles.get(zone)).strip());
        }
    }

    private Fleet fleet() throws Exception {
        StringBuilder yaml = new StringBuilder("cluster: rolling\ntransport: local\nzones:\n");
        List<Path> homes = new ArrayList<>();
        List<Path> pids = new ArrayList<>();
        int[] mysql = new int[3];
        for (int i = 0; i < 3; i++) {
            int m = TestHosts.freePort("127.0.0.1");
            int r = TestHosts.freePort("127.0.0.1");
            mysql[i] = m;
            Path real = dir.resolve("disk" + i + "/ob");
            Path home = real;
            List<String> more = new ArrayList<>(List.of("--zone", ZONES[i]));
            String pidRel = "run/observer.pid";
            String extra = "";
            if (i == 1) {  // another tool's pid file name, declared in the inventory; the home behind a symlink
                pidRel = "run/observer-" + r + ".pid";
                extra = ", pid_file: " + pidRel;
                Files.createDirectories(real.getParent());
                home = dir.resolve("home" + i);
                Files.createDirectories(real);
                Files.createSymbolicLink(home, real);
            }
            if (i == 2) {  // a slow one: it listens 1.5 s after it runs
                more.addAll(List.of("--listen-delay", "1.5"));
            }
            more.addAll(List.of("--pidfile", pidRel));
            install(home, m, r, more);
            for (String d : List.of("store/clog", "store/slog")) {  // the data directories a deployment made
                Files.createDirectories(home.resolve(d));
            }
            homes.add(home);
            pids.add(home.resolve(pidRel));
            yaml.append("  ").append(ZONES[i]).append(":\n    servers:\n      - { host: 127.0.0.1, home_path: ").append(home)
                    .append(", agent_port: ").append(42001 + i).append(", mysql_port: ").append(m).append(", rpc_port: ")
                    .append(r).append(extra).append(" }\n");
        }
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", yaml.toString()));
        Fleet f = new Fleet(inv, homes, pids, mysql);
        for (int i = 0; i < 3; i++) {
            startAsObshell(homes.get(i));
        }
        for (int i = 0; i < 3; i++) {
            int port = mysql[i];
            assertTrue(TestHosts.await(() -> TestHosts.canConnect("127.0.0.1", port, 200), Duration.ofSeconds(15)), "zone " + (i + 1) + " up");
        }
        return f;
    }

    private static void install(Path home, int mysql, int rpc, List<String> more) {
        List<String> cmd = new ArrayList<>(List.of(TestHosts.python(), TestHosts.standinScript().toString(), "install",
                "--home", home.toString(), "--kind", "observer", "--ports", mysql + "," + rpc, "--bind", "127.0.0.1"));
        cmd.addAll(more);
        TestHosts.Run r = TestHosts.run(Duration.ofSeconds(30), cmd);
        assertEquals(0, r.exitCode(), r::toString);
    }

    private static void startAsObshell(Path home) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/observer").toString()).directory(home.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("LD_LIBRARY_PATH", home.resolve("lib").toString());
        Process p = pb.start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "the stand-in daemonized");
    }

    /** Connects to every zone's mysql port every 25 ms; records the set of zones down at each look. */
    private static final class Sampler implements AutoCloseable {
        final List<Set<Integer>> seen = new CopyOnWriteArrayList<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;

        Sampler(int[] ports) {
            thread = new Thread(() -> {
                while (!stop.get()) {
                    Set<Integer> down = new TreeSet<>();
                    for (int i = 0; i < ports.length; i++) {
                        if (!listens(ports[i])) {
                            down.add(i);
                        }
                    }
                    seen.add(down);
                    try {
                        Thread.sleep(25);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "sampler");
            thread.setDaemon(true);
            thread.start();
        }

        static boolean listens(int port) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return true;
            } catch (IOException e) {
                return false;
            }
        }

        int mostDownAtOnce() {
            return seen.stream().mapToInt(Set::size).max().orElse(0);
        }

        boolean everDown(int zone) {
            return seen.stream().anyMatch(s -> s.contains(zone));
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(2000);
        }
    }

    private Dag run(Fleet f, String playbook) throws Exception {
        var pb = PlaybookLoader.load(YamlSource.of("pb.yaml", playbook), f.inventory());
        store = SqliteStore.open(dir.resolve("state"));
        Dag dag = new DagControl(store).create(Planner.plan(f.inventory(), pb, PlanOptions.defaults()).dag(), "127.0.0.1", 2886);
        return execute(f, dag.dagId());
    }

    private Dag execute(Fleet f, long dagId) {
        Map<String, Server> servers = new LinkedHashMap<>();
        f.inventory().servers().forEach(s -> servers.put(s.name(), s));
        return new Executor(store, new LocalTransport(Duration.ofSeconds(1)), servers, new RunListener() {
        }).run(dagId, RunOptions.defaults());
    }

    private static String playbook(String gateCommand) throws Exception {
        return """
                name: rolling restart
                targets: { all: true }
                strategy: rolling
                gate: { pause: 300ms, interval: 100ms, timeout: 5s, command: ["sh", "-c", %s] }
                steps:
                  - restart: { grace: 10s, kill_wait: 10s, settle: 500ms, wait: 30s }
                """.formatted(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(gateCommand));  // JSON is YAML
    }

    @Test
    void aRollingRestartOfThreeZonesNeverHasTwoZonesDownAndWaitsAtEachGate() throws Exception {
        Fleet f = fleet();
        long[] before = {f.pid(0), f.pid(1), f.pid(2)};
        Path gates = dir.resolve("gates.log");
        Dag end;
        try (Sampler sampler = new Sampler(f.mysqlPorts())) {
            end = run(f, playbook("echo passed >> " + gates));
            sampler.close();
            assertEquals(State.SUCCEED, end.state(), () -> logs(end));
            assertTrue(sampler.seen.size() > 50, "sampled " + sampler.seen.size() + " times");
            assertEquals(1, sampler.mostDownAtOnce(), "never two zones down at once, at least one down once: " + sampler.seen);
            for (int i = 0; i < 3; i++) {
                assertTrue(sampler.everDown(i), ZONES[i] + " was really restarted (seen down)");
            }
        }
        assertEquals(List.of("Restart observer [zone1]", "Gate [zone1]", "Restart observer [zone2]", "Gate [zone2]",
                "Restart observer [zone3]", "Gate [zone3]"), end.nodes().stream().map(Node::name).toList());
        assertEquals(List.of("passed", "passed", "passed"), Files.readAllLines(gates), "the gate's command ran once per zone");
        for (int i = 0; i < 3; i++) {
            long now = f.pid(i);
            assertNotEquals(before[i], now, ZONES[i] + " has a new process");
            assertTrue(ProcessHandle.of(now).map(ProcessHandle::isAlive).orElse(false), ZONES[i] + " runs");
            assertTrue(!ProcessHandle.of(before[i]).map(ProcessHandle::isAlive).orElse(false), ZONES[i] + "'s old process is gone");
            assertTrue(Sampler.listens(f.mysqlPorts()[i]));
        }
        SubTask gate = end.nodes().get(1).subTasks().get(0);
        assertTrue(gate.taskLogs().stream().anyMatch(l -> l.startsWith("pausing 0.3s before the first check")), gate.taskLogs().toString());
        assertTrue(gate.taskLogs().stream().anyMatch(l -> l.contains("the gate after zone1 passed")), gate.taskLogs().toString());
        SubTask restart = end.nodes().get(2).subTasks().get(0);
        assertTrue(restart.taskLogs().stream().anyMatch(l -> l.contains("obplay: stopped ")), restart.taskLogs().toString());
        assertTrue(restart.taskLogs().stream().anyMatch(l -> l.contains("obplay: started ")), restart.taskLogs().toString());
    }

    @Test
    void aGateThatDoesNotPassStopsTheRollingAndRetryFinishesItOnceItDoes() throws Exception {
        Fleet f = fleet();
        long[] before = {f.pid(0), f.pid(1), f.pid(2)};
        Path ok = dir.resolve("cluster-ok");
        Dag failed;
        try (Sampler sampler = new Sampler(f.mysqlPorts())) {
            failed = run(f, playbook("test -f " + ok + " || { echo 'not yet: no " + ok + "'; exit 1; }"));
            sampler.close();
            assertEquals(State.FAILED, failed.state());
            assertTrue(!sampler.everDown(1) && !sampler.everDown(2), "zones 2 and 3 were never touched: " + sampler.seen);
        }
        List<Node> n = failed.nodes();
        assertEquals(State.SUCCEED, n.get(0).state());
        assertEquals(State.FAILED, n.get(1).state(), "the gate after zone1");
        for (int i = 2; i < n.size(); i++) {
            assertTrue(n.get(i).state() != State.SUCCEED && n.get(i).state() != State.FAILED, n.get(i).name() + " " + n.get(i).state());
        }
        List<String> gateLogs = n.get(1).subTasks().get(0).taskLogs();
        String last = gateLogs.get(gateLogs.size() - 1);
        assertTrue(last.startsWith("FAILED: the gate after zone1 did not pass: level 4 (exit 0 from"), last);
        assertTrue(last.contains("not yet: no " + ok), last);
        assertNotEquals(before[0], f.pid(0), "zone1 was restarted");
        assertEquals(before[1], f.pid(1), "zone2 untouched");
        assertEquals(before[2], f.pid(2), "zone3 untouched");

        Files.writeString(ok, "");
        new DagControl(store).retry(failed.dagId());
        long zone1 = f.pid(0);
        Dag end = execute(f, failed.dagId());
        assertEquals(State.SUCCEED, end.state(), () -> logs(end));
        assertEquals(zone1, f.pid(0), "zone1 is not restarted again by the retry");
        assertNotEquals(before[1], f.pid(1), "zone2 restarted by the retry");
        assertNotEquals(before[2], f.pid(2), "zone3 restarted by the retry");
        assertEquals(2, end.nodes().get(1).subTasks().get(0).executeTimes(), "the gate ran again");
    }


    @Test
    void anObproxyIsRestartedWithItsWatchdogAndTheNewWatchdogWatchesTheNewObproxy() throws Exception {
        Path home = dir.resolve("obproxy");
        int listen = TestHosts.freePort("127.0.0.1");
        int prom = TestHosts.freePort("127.0.0.1");
        String child = "run/obproxy-127.0.0.1-" + listen + ".pid";
        String daemon = "run/obproxyd-127.0.0.1-" + listen + ".pid";
        TestHosts.Run r = TestHosts.run(Duration.ofSeconds(30), TestHosts.python(), TestHosts.standinScript().toString(),
                "install", "--home", home.toString(), "--kind", "obproxy", "--ports", listen + "," + prom, "--bind", "127.0.0.1",
                "--pidfile", child, "--watchdog", "obproxyd.sh");
        assertEquals(0, r.exitCode(), r::toString);
        // started as OBD starts it: its obproxyd.sh runs the watchdog, which runs obproxy
        Process p = new ProcessBuilder("bash", home.resolve("obproxyd.sh").toString(), home.toString(), "127.0.0.1",
                String.valueOf(listen), "daemon").directory(home.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertTrue(TestHosts.await(() -> Sampler.listens(listen) && Files.exists(home.resolve(child)), Duration.ofSeconds(15)));
        long oldProxy = Long.parseLong(Files.readString(home.resolve(child)).strip());
        long oldDaemon = Long.parseLong(Files.readString(home.resolve(daemon)).strip());
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", """
                cluster: proxies
                transport: local
                obproxy:
                  defaults: { home_path: %s, listen_port: %d, prometheus_listen_port: %d, agent_port: 42010,
                              pid_file: %s, daemon_pid_file: %s, obproxyd_script: obproxyd.sh }
                  clusters:
                    - { id: 1, name: p, servers: [ { id: 1, host: 127.0.0.1 } ] }
                """.formatted(home, listen, prom, child, daemon)));
        var pb = PlaybookLoader.load(Path.of("playbooks/restart-obproxy.yaml"), inv);
        store = SqliteStore.open(dir.resolve("state"));
        Dag dag = new DagControl(store).create(Planner.plan(inv, pb, PlanOptions.defaults()).dag(), "127.0.0.1", 2886);
        Fleet f = new Fleet(inv, List.of(home), List.of(home.resolve(child)), new int[]{listen});
        Dag end = execute(f, dag.dagId());
        assertEquals(State.SUCCEED, end.state(), () -> logs(end));

        long newProxy = Long.parseLong(Files.readString(home.resolve(child)).strip());
        long newDaemon = Long.parseLong(Files.readString(home.resolve(daemon)).strip());
        assertNotEquals(oldProxy, newProxy, "obproxy has a new process");
        assertNotEquals(oldDaemon, newDaemon, "obproxyd has a new process");
        assertTrue(!ProcessHandle.of(oldProxy).map(ProcessHandle::isAlive).orElse(false), "the old obproxy is gone");
        assertTrue(!ProcessHandle.of(oldDaemon).map(ProcessHandle::isAlive).orElse(false), "the old obproxyd is gone");
        assertEquals("obproxyd", Files.readString(Path.of("/proc/" + newDaemon + "/comm")).strip());
        assertTrue(Sampler.listens(listen) && Sampler.listens(prom));
        SubTask t = end.nodes().get(0).subTasks().get(0);
        assertTrue(t.taskLogs().stream().anyMatch(l -> l.contains("its watchdog obproxyd runs, pid " + newDaemon)), t.taskLogs().toString());
        // the new watchdog watches the new obproxy: killed, it comes back
        ProcessHandle.of(newProxy).ifPresent(ProcessHandle::destroyForcibly);
        assertTrue(TestHosts.await(() -> {
            try {
                long now = Long.parseLong(Files.readString(home.resolve(child)).strip());
                return now != newProxy && ProcessHandle.of(now).map(ProcessHandle::isAlive).orElse(false) && Sampler.listens(listen);
            } catch (IOException | NumberFormatException e) {
                return false;
            }
        }, Duration.ofSeconds(20)), "obproxyd respawned obproxy");
    }

    private static String logs(Dag d) {
        StringBuilder b = new StringBuilder();
        for (Node n : d.nodes()) {
            for (SubTask t : n.subTasks()) {
                b.append(n.name()).append(' ').append(t.state()).append(": ").append(String.join("\n  ", t.taskLogs())).append('\n');
            }
        }
        return b.toString();
    }
}
