package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.store.mysql.MariaDbServer;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.obplay.shim.ShimHarness.AGENT_PW;
import static io.obplay.shim.ShimHarness.ROOT_PW;
import static io.obplay.shim.ShimHarness.assertEnvelope;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Work spread over {@code obplay serve} instances on one MariaDB store ({@link MariaDbServer}, a real server), each a
 * process of its own, over real sockets, with the obshell SDK's calls ({@link ObshellTestClient}, auth v2 as the Python
 * SDK signs it) sent to one instance and polled on the others:
 * <ul>
 *   <li>three instances share one stage of twelve observers: each ran some, every sub-task is recorded once, every
 *       observer is stopped (gone, ports free);</li>
 *   <li>a holder paused (SIGSTOP) past its lease and then resumed: the store refuses its writes (fencing by the claim
 *       and the DAG's owner), and the DAG as the instance that took it over finished it stays as it is;</li>
 *   <li>a helper killed -9 mid-stage: the owner takes its RUNNING sub-tasks back once its presence ran out and runs
 *       them again;</li>
 *   <li>an instance that cannot reach the hosts (its inventory's SSH port is closed) declines their sub-tasks and another
 *       instance, which can (local transport), runs them.</li>
 * </ul>
 */
@Timeout(300)
class SpreadServeTest {
    @TempDir
    Path tmp;
    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private String database() {
        MariaDbServer db = MariaDbServer.shared();
        String database = db.newDatabase();
        toClose.add(() -> db.dropDatabase(database));
        return database;
    }

    private Map<String, String> env(String database) {
        return Map.of("OBPLAY_ROOT_PASSWORD", ROOT_PW, "OBPLAY_AGENT_PASSWORD", AGENT_PW,
                "OBPLAY_STORE", MariaDbServer.shared().storeUrl(database), "OBPLAY_STORE_PASSWORD", MariaDbServer.PASSWORD);
    }

    private record Instance(ServeProcess process, ObshellTestClient client, int port) {
        String me() {
            return process.process.pid() + "@";
        }
    }

    private Instance serve(String name, Map<String, String> env, Path inv, String... extra) throws Exception {
        int port = TestHosts.freePort("127.0.0.1");
        List<String> args = new ArrayList<>(List.of("-i", inv.toString(), "--state-dir", tmp.resolve("state-" + name).toString(),
                "--listen", "127.0.0.1:" + port));
        args.addAll(List.of(extra));
        ServeProcess p = ServeProcess.start(tmp.resolve(name + ".err"), env, args);
        toClose.add(p);
        return new Instance(p, new ObshellTestClient("127.0.0.1", port, ROOT_PW, AGENT_PW), port);
    }

    private static JsonNode awaitState(Instance on, String id, String state, Duration timeout, Instance... logsOf) {
        JsonNode[] last = new JsonNode[1];
        boolean ok = TestHosts.await(() -> {
            last[0] = on.client.get("/api/v1/task/dag/" + id).data();
            return last[0].get("state").asText().equals(state);
        }, timeout);
        if (!ok) {
            StringBuilder b = new StringBuilder("DAG " + id + " is not " + state + ": " + last[0]);
            for (Instance i : logsOf) {
                b.append("\n--- ").append(i.me()).append('\n').append(i.process.err());
            }
            throw new AssertionError(b.toString());
        }
        return last[0];
    }

    /** Every sub-task of the DAG by id; fails if an id shows twice. */
    private static Map<String, JsonNode> subTasks(JsonNode dag) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (JsonNode node : dag.get("nodes")) {
            for (JsonNode t : node.get("sub_tasks")) {
                assertTrue(out.put(t.get("id").asText(), t) == null, "sub-task " + t.get("id") + " recorded twice");
            }
        }
        return out;
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void threeInstancesShareOneStageAndEveryObserverIsStoppedOnce() throws Exception {
        String database = database();
        Map<String, Integer> zones = new LinkedHashMap<>();
        zones.put("zone1", 4);
        zones.put("zone2", 4);
        zones.put("zone3", 4);
        ShimFleet fleet = new ShimFleet(tmp.resolve("fleet"), "spread", zones, Map.of());
        toClose.add(fleet);
        Map<Integer, Long> pids = new HashMap<>();
        for (int i = 0; i < fleet.observers.size(); i++) {
            // each takes a second to go after its TERM, so the stop stage lasts long enough to be shared
            pids.put(i, fleet.start(fleet.observers.get(i), "--term-delay", "1.5"));
        }
        Path inv = fleet.writeInventory();
        Map<String, String> env = env(database);
        List<Instance> all = new ArrayList<>();
        for (String n : List.of("a", "b", "c")) {
            all.add(serve(n, env, inv, "--lease", "3s"));
        }
        for (Instance i : all) {
            i.process.awaitListening(Duration.ofSeconds(90));
        }
        Thread.sleep(1500); // every instance has recorded its presence (every 0.5 s)
        Instance a = all.get(0);

        ObshellTestClient.Response r = a.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"GLOBAL\"}, \"terminate\": true}");
        assertEnvelope(r, 200, false);
        String id = r.data().get("id").asText();
        JsonNode onB = awaitState(all.get(1), id, "SUCCEED", Duration.ofSeconds(150), all.toArray(new Instance[0]));
        JsonNode onC = all.get(2).client.get("/api/v1/task/dag/" + id).data();
        assertEquals(onB, onC, "the same DAG, polled on B and on C");
        assertEquals(onB, a.client.get("/api/v1/task/dag/" + id).data(), "and on A, which made it");

        for (int i = 0; i < fleet.observers.size(); i++) {
            ShimFleet.Observer o = fleet.observers.get(i);
            assertFalse(ShimFleet.alive(pids.get(i)), o.name() + "'s observer is gone");
            assertFalse(ShimFleet.listening(o.mysqlPort()) || ShimFleet.listening(o.rpcPort()), o.name() + "'s ports are free");
            assertFalse(Files.exists(o.pidFile()), o.name() + "'s pid file is removed");
        }
        Map<String, JsonNode> tasks = subTasks(onB);
        assertEquals(24, tasks.size(), "a check and a stop per observer, each once");
        JsonNode stop = onB.get("nodes").get(1);
        Map<String, Integer> share = new HashMap<>();
        Set<String> servers = new HashSet<>();
        for (JsonNode t : stop.get("sub_tasks")) {
            String logs = t.get("task_logs").toString();
            assertEquals("SUCCEED", t.get("state").asText(), t.toString());
            assertEquals(1, t.get("execute_times").asInt(), "run once: " + t);
            assertEquals(1, count(logs, "\"run "), "one run line: " + logs);
            String ranBy = t.get("ran_by").asText();
            assertTrue(logs.contains("by obplay " + ranBy), "the run line names the instance that claimed it: " + t);
            share.merge(ranBy.substring(0, ranBy.indexOf('@') + 1), 1, Integer::sum);
            assertTrue(servers.add(t.get("additional_data").get("server").asText()), "one sub-task per server");
        }
        assertEquals(12, servers.size());
        for (Instance i : all) {
            assertTrue(share.getOrDefault(i.me(), 0) > 0, "instance " + i.me() + " ran some of the stop stage: " + share
                    + "\n" + i.process.err());
        }
        assertEquals(12, share.values().stream().mapToInt(Integer::intValue).sum(), share.toString());
        assertTrue(all.get(1).process.err().contains("sub-task(s) claimed here"), all.get(1).process.err());
    }

    @Test
    void aHolderPausedPastItsLeaseIsRefusedItsWritesOnceResumed() throws Exception {
        String database = database();
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        ShimFleet.Observer z1 = fleet.observers.get(0);
        long observer = fleet.start(z1, "--ignore-term");
        Path inv = fleet.writeInventory();
        Map<String, String> env = env(database);
        Instance a = serve("a", env, inv, "--lease", "3s", "--grace", "8s");
        Instance b = serve("b", env, inv, "--lease", "3s", "--grace", "8s");
        a.process.awaitListening(Duration.ofSeconds(90));
        b.process.awaitListening(Duration.ofSeconds(90));

        String body = "{\"scope\": {\"type\": \"SERVER\", \"target\": [\"" + z1.address() + "\"]}, \"terminate\": true}";
        ObshellTestClient.Response r = a.client.post("/api/v1/ob/stop", body);
        assertEnvelope(r, 200, false);
        String id = r.data().get("id").asText();
        // A runs the stop (the observer ignores TERM: A waits out its grace)
        assertTrue(TestHosts.await(() -> {
            JsonNode t = b.client.get("/api/v1/task/dag/" + id).data().get("nodes").get(1).get("sub_tasks").get(0);
            return t.get("state").asText().equals("RUNNING") && t.path("ran_by").asText().startsWith(a.me())
                    && t.get("task_logs").toString().contains("by obplay " + a.me());
        }, Duration.ofSeconds(60)), () -> "A runs the stop: " + b.client.get("/api/v1/task/dag/" + id) + "\n" + a.process.err());

        signal("STOP", a.process.process.pid());
        try {
            assertTrue(TestHosts.await(() -> b.process.err().contains("took over DAG " + id), Duration.ofSeconds(60)),
                    () -> "B takes the DAG over once A's lease ran out:\n" + b.process.err());
            JsonNode done = awaitState(b, id, "SUCCEED", Duration.ofSeconds(90), a, b);
            assertFalse(ShimFleet.alive(observer), "the observer is gone");
            JsonNode stop = done.get("nodes").get(1).get("sub_tasks").get(0);
            assertTrue(stop.get("ran_by").asText().startsWith(b.me()), stop.toString());
            assertEquals(2, stop.get("execute_times").asInt(), stop.toString());
        } finally {
            signal("CONT", a.process.process.pid());
        }
        JsonNode before = b.client.get("/api/v1/task/dag/" + id).data();
        // A wakes up: its script's end, its lease renewal and its stage's end are all written to a DAG that is B's now
        assertTrue(TestHosts.await(() -> a.process.err().contains("the store refused this instance's write"), Duration.ofSeconds(30)),
                () -> "A's writes are refused:\n" + a.process.err());
        Thread.sleep(3000);
        JsonNode after = b.client.get("/api/v1/task/dag/" + id).data();
        assertEquals(before, after, "nothing A did after it woke up reached the store");
        assertEquals("SUCCEED", after.get("state").asText());
        String logs = after.get("nodes").get(1).get("sub_tasks").get(0).get("task_logs").toString();
        assertEquals(1, count(logs, "done in "), "only B's end of the stop is recorded: " + logs);
        assertTrue(a.process.process.isAlive(), "A itself runs on");
        assertEquals(after, a.client.get("/api/v1/task/dag/" + id).data(), "and A answers with what B recorded");
    }

    @Test
    void aHelperKilledMidStageHasItsSubTasksTakenBackAndRunAgainByTheOwner() throws Exception {
        String database = database();
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        List<Long> pids = new ArrayList<>();
        for (ShimFleet.Observer o : fleet.observers) {
            pids.add(fleet.start(o, "--ignore-term")); // each stop waits out its grace: the stage lasts
        }
        Path inv = fleet.writeInventory();
        Map<String, String> env = env(database);
        Instance a = serve("a", env, inv, "--lease", "3s", "--grace", "6s");
        Instance b = serve("b", env, inv, "--lease", "3s", "--grace", "6s");
        a.process.awaitListening(Duration.ofSeconds(90));
        b.process.awaitListening(Duration.ofSeconds(90));
        Thread.sleep(1500);

        ObshellTestClient.Response r = a.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"GLOBAL\"}, \"terminate\": true}");
        assertEnvelope(r, 200, false);
        String id = r.data().get("id").asText();
        String[] byB = new String[1];
        assertTrue(TestHosts.await(() -> {
            for (JsonNode t : a.client.get("/api/v1/task/dag/" + id).data().get("nodes").get(1).get("sub_tasks")) {
                if (t.get("state").asText().equals("RUNNING") && t.path("ran_by").asText().startsWith(b.me())
                        && t.get("task_logs").toString().contains("by obplay " + b.me())) {
                    byB[0] = t.get("id").asText();
                    return true;
                }
            }
            return false;
        }, Duration.ofSeconds(60)), () -> "B runs part of the stop stage: " + a.client.get("/api/v1/task/dag/" + id) + "\n" + b.process.err());
        b.process.process.destroyForcibly(); // kill -9 the helper mid-stage
        b.process.process.waitFor();

        JsonNode done = awaitState(a, id, "SUCCEED", Duration.ofSeconds(120), a, b);
        for (long pid : pids) {
            assertFalse(ShimFleet.alive(pid), "every observer is gone");
        }
        JsonNode t = subTasks(done).get(byB[0]);
        String logs = t.get("task_logs").toString();
        assertTrue(t.get("ran_by").asText().startsWith(a.me()), "the owner ran it again: " + t);
        assertEquals(2, t.get("execute_times").asInt(), t.toString());
        assertTrue(logs.contains("taken back at ") && logs.contains("from obplay " + b.me()) && logs.contains("whose presence of 3s ran out"), logs);
        assertTrue(logs.indexOf("by obplay " + b.me()) < logs.indexOf("taken back at ")
                && logs.indexOf("taken back at ") < logs.lastIndexOf("by obplay " + a.me()), "in order: " + logs);
        assertEquals(1, count(logs, "done in "), "one end recorded: " + logs);
    }

    @Test
    void anInstanceThatCannotReachTheHostsLeavesThemToOneThatCan() throws Exception {
        String database = database();
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        List<Long> pids = new ArrayList<>();
        for (ShimFleet.Observer o : fleet.observers) {
            pids.add(fleet.start(o));
        }
        Path local = fleet.writeInventory();
        // A reaches the same servers over SSH, on a port where nothing listens (a different network, say)
        Path key = tmp.resolve("key");
        TestHosts.Run kg = TestHosts.run(Duration.ofSeconds(30), List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString()));
        assertEquals(0, kg.exitCode(), kg.toString());
        Files.writeString(tmp.resolve("known_hosts"), "");
        int closed = TestHosts.freePort("127.0.0.1");
        Path viaSsh = tmp.resolve("ssh-inventory.yaml");
        Files.writeString(viaSsh, fleet.yaml().replace("transport: local\n", "transport: ssh\nssh: { user: nobody, port: " + closed
                + ", key: " + key + ", known_hosts: " + tmp.resolve("known_hosts") + ", host_key_checking: off, connect_timeout: 2s }\n"));
        Map<String, String> env = env(database);
        Instance a = serve("a", env, viaSsh, "--lease", "3s");
        Instance b = serve("b", env, local, "--lease", "3s");
        a.process.awaitListening(Duration.ofSeconds(90));
        b.process.awaitListening(Duration.ofSeconds(90));
        Thread.sleep(1500);

        ObshellTestClient.Response r = a.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true}");
        assertEnvelope(r, 200, false);
        String id = r.data().get("id").asText();
        JsonNode done = awaitState(a, id, "SUCCEED", Duration.ofSeconds(120), a, b);
        for (long pid : pids) {
            assertFalse(ShimFleet.alive(pid), "every observer is gone");
        }
        int declined = 0;
        for (JsonNode t : subTasks(done).values()) {
            String logs = t.get("task_logs").toString();
            assertEquals("SUCCEED", t.get("state").asText(), t.toString());
            assertTrue(t.get("ran_by").asText().startsWith(b.me()), "run by B, which can reach the host: " + t);
            if (logs.contains("declined by obplay " + a.me())) {
                declined++;
                assertTrue(logs.contains("cannot reach host 127.0.0.1 (nobody@127.0.0.1:" + closed + ")"), logs);
                assertTrue(logs.indexOf("declined by obplay " + a.me()) < logs.indexOf("by obplay " + b.me()), "declined, then run: " + logs);
            }
            assertEquals(1, count(logs, "by obplay " + b.me()), "run once by B: " + logs);
        }
        assertTrue(declined > 0, "A declined what it claimed: " + done);
        assertNotEquals(a.me(), b.me());
    }

    private static void signal(String sig, long pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
        assertEquals(0, p.waitFor(), "kill -" + sig + " " + pid);
    }
}
