package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.cli.Main;
import io.obplay.store.mysql.MariaDbServer;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
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
 * Two {@code obplay serve} processes on one MariaDB store ({@link MariaDbServer}, a real server), over real sockets:
 * a DAG created on one is polled on the other; a second stop sent to the other is refused (one maintenance lock);
 * the holder is killed -9 mid-stage (the stand-in observer ignores TERM, so the stop stage is still waiting out its
 * grace), and the other instance takes the DAG over once the lease runs out, runs the stop again and finishes it:
 * the observer is gone, no sub-task is recorded twice, and the logs say who ran what, who took over and when.
 */
@Timeout(240)
class SharedStoreServeTest {
    @TempDir
    Path tmp;
    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    ServeProcess serve(String name, Map<String, String> env, List<String> args) throws Exception {
        ServeProcess p = ServeProcess.start(tmp.resolve(name + ".err"), env, args);
        toClose.add(p);
        return p;
    }

    @Test
    void aDagOfAKilledHolderIsTakenOverAndFinishedByTheOtherInstance() throws Exception {
        MariaDbServer db = MariaDbServer.shared();
        String database = db.newDatabase();
        toClose.add(() -> db.dropDatabase(database));
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        ShimFleet.Observer z1 = fleet.observers.get(0);
        long observer = fleet.start(z1, "--ignore-term");
        Path inv = fleet.writeInventory();
        Map<String, String> env = Map.of("OBPLAY_ROOT_PASSWORD", ROOT_PW, "OBPLAY_AGENT_PASSWORD", AGENT_PW,
                "OBPLAY_STORE", db.storeUrl(database), "OBPLAY_STORE_PASSWORD", MariaDbServer.PASSWORD);
        int portA = TestHosts.freePort("127.0.0.1");
        int portB = TestHosts.freePort("127.0.0.1");
        ServeProcess a = serve("a", env, List.of("-i", inv.toString(), "--state-dir", tmp.resolve("state-a").toString(),
                "--listen", "127.0.0.1:" + portA, "--grace", "6s", "--lease", "3s"));
        ServeProcess b = serve("b", env, List.of("-i", inv.toString(), "--state-dir", tmp.resolve("state-b").toString(),
                "--listen", "127.0.0.1:" + portB, "--grace", "6s", "--lease", "3s"));
        a.awaitListening(Duration.ofSeconds(90));
        b.awaitListening(Duration.ofSeconds(90));
        ObshellTestClient onA = new ObshellTestClient("127.0.0.1", portA, ROOT_PW, AGENT_PW);
        ObshellTestClient onB = new ObshellTestClient("127.0.0.1", portB, ROOT_PW, AGENT_PW);

        String body = "{\"scope\": {\"type\": \"SERVER\", \"target\": [\"" + z1.address() + "\"]}, \"terminate\": true}";
        ObshellTestClient.Response r = onA.post("/api/v1/ob/stop", body);
        assertEnvelope(r, 200, false);
        String id = r.data().get("id").asText();
        assertTrue(id.matches("2\\d{10}" + String.format("%05d", portA) + "\\d+"), "obshell-shaped, naming instance A: " + id);

        // the same DAG, polled on B; a stop sent to B meanwhile is refused: one maintenance lock for both
        assertTrue(TestHosts.await(() -> {
            JsonNode d = onB.get("/api/v1/task/dag/" + id).data();
            return d.get("nodes").get(1).get("sub_tasks").get(0).get("state").asText().equals("RUNNING");
        }, Duration.ofSeconds(60)), () -> "the stop stage runs, seen on B: " + onB.get("/api/v1/task/dag/" + id) + "\n" + a.err());
        ObshellTestClient.Response locked = onB.post("/api/v1/ob/stop", body);
        assertEquals(500, locked.status(), locked.toString());
        assertTrue(locked.toString().contains(id), "the refusal names the holder: " + locked);

        JsonNode before = onB.get("/api/v1/task/dag/" + id).data();
        Set<String> taskIds = taskIds(before);
        long pidA = a.process.pid();
        a.process.destroyForcibly(); // kill -9 mid-stage
        a.process.waitFor();
        assertTrue(ShimFleet.alive(observer), "the observer ignored TERM and was not killed yet");

        assertTrue(TestHosts.await(() -> onB.get("/api/v1/task/dag/" + id).data().get("state").asText().equals("SUCCEED"),
                Duration.ofSeconds(90)), () -> "B takes the DAG over and finishes it: " + onB.get("/api/v1/task/dag/" + id) + "\n" + b.err());
        assertFalse(ShimFleet.alive(observer), "the observer is gone");
        assertFalse(ShimFleet.listening(z1.mysqlPort()));
        assertTrue(b.err().contains("took over DAG " + id), b.err());

        JsonNode done = onB.get("/api/v1/task/dag/" + id).data();
        assertEquals(taskIds, taskIds(done), "no sub-task recorded twice, none lost");
        JsonNode stop = done.get("nodes").get(1).get("sub_tasks").get(0);
        assertEquals(2, stop.get("execute_times").asInt(), "the stop ran under A, then again under B: " + stop);
        String logs = stop.get("task_logs").toString();
        long pidB = b.process.pid();
        assertTrue(logs.contains("by obplay " + pidA + "@"), logs);
        assertTrue(logs.contains("by obplay " + pidB + "@"), logs);
        assertTrue(logs.contains("taken over at "), logs);
        assertTrue(logs.contains("by obplay " + pidB + "@") && logs.contains("from obplay " + pidA + "@"), logs);
        assertTrue(logs.contains("whose lease of 3s ran out; this sub-task was RUNNING there"), logs);
        assertTrue(logs.indexOf("by obplay " + pidA + "@") < logs.indexOf("taken over at "), "in order: " + logs);

        // the CLI on the same store shows who ran each sub-task
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(out), new PrintWriter(err), "dag", "show", id, "--store",
                db.storeUrl(database) + "&passwordFile=" + writePassword());
        assertEquals(0, code, err.toString());
        assertTrue(out.toString().contains("ran by   obplay " + pidB + "@"), out.toString());
        assertNotEquals(pidA, pidB);
    }

    /**
     * Two stop requests sent at the same moment to two instances on one store: one DAG and one refusal naming it; the
     * DAG is then polled on either with the same answer ({@code --dry-run}: no host is touched).
     */
    @Test
    void twoStopsAtOnceOnTwoInstancesGetOneDagAndOneRefusal() throws Exception {
        MariaDbServer db = MariaDbServer.shared();
        String database = db.newDatabase();
        toClose.add(() -> db.dropDatabase(database));
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        Path inv = fleet.writeInventory();
        Map<String, String> env = Map.of("OBPLAY_ROOT_PASSWORD", ROOT_PW, "OBPLAY_AGENT_PASSWORD", AGENT_PW,
                "OBPLAY_STORE", db.storeUrl(database), "OBPLAY_STORE_PASSWORD", MariaDbServer.PASSWORD);
        int[] ports = {TestHosts.freePort("127.0.0.1"), TestHosts.freePort("127.0.0.1")};
        List<ObshellTestClient> clients = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ServeProcess p = serve("dry" + i, env, List.of("-i", inv.toString(), "--state-dir", tmp.resolve("dry-state" + i).toString(),
                    "--listen", "127.0.0.1:" + ports[i], "--dry-run"));
            p.awaitListening(Duration.ofSeconds(90));
            clients.add(new ObshellTestClient("127.0.0.1", ports[i], ROOT_PW, AGENT_PW));
        }
        String body = "{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true}";
        java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(2);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<ObshellTestClient.Response>> answers = new ArrayList<>();
            for (ObshellTestClient c : clients) {
                answers.add(pool.submit(() -> {
                    go.await();
                    return c.post("/api/v1/ob/stop", body);
                }));
            }
            ObshellTestClient.Response r0 = answers.get(0).get(60, java.util.concurrent.TimeUnit.SECONDS);
            ObshellTestClient.Response r1 = answers.get(1).get(60, java.util.concurrent.TimeUnit.SECONDS);
            ObshellTestClient.Response won = r0.status() == 200 ? r0 : r1;
            ObshellTestClient.Response lost = won == r0 ? r1 : r0;
            assertEnvelope(won, 200, false);
            assertEquals(500, lost.status(), lost.toString());
            String id = won.data().get("id").asText();
            assertTrue(lost.toString().contains(id), "the refusal names the holder " + id + ": " + lost);
            int winner = won == r0 ? 0 : 1;
            assertTrue(id.matches("2\\d{10}" + String.format("%05d", ports[winner]) + "\\d+"), "names the instance that made it: " + id);
            JsonNode on0 = clients.get(0).get("/api/v1/task/dag/" + id).data();
            JsonNode on1 = clients.get(1).get("/api/v1/task/dag/" + id).data();
            assertEquals(on0, on1, "the same DAG on both instances");
            assertEquals("READY", on0.get("state").asText());
        } finally {
            pool.shutdownNow();
        }
    }

    private Path writePassword() throws Exception {
        Path p = tmp.resolve("store-password");
        java.nio.file.Files.writeString(p, MariaDbServer.PASSWORD);
        return p;
    }

    private static Set<String> taskIds(JsonNode dag) {
        Set<String> ids = new HashSet<>();
        int n = 0;
        for (JsonNode node : dag.get("nodes")) {
            for (JsonNode t : node.get("sub_tasks")) {
                ids.add(t.get("id").asText());
                n++;
            }
        }
        assertEquals(n, ids.size(), "sub-task ids are unique");
        return ids;
    }
}
