package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.store.mysql.MariaDbServer;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

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
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The database restarted mid-DAG under two {@code obplay serve} instances sharing it (a MariaDB of this test's own,
 * stopped while the stop stage runs and started again on the same port and data a few seconds later): the instances
 * wait for it and go on; the DAG finishes, every observer is stopped, every sub-task is recorded once.
 */
@Timeout(300)
class StoreRestartServeTest {
    @TempDir
    Path tmp;
    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    @Test
    void instancesWaitForARestartedStoreAndFinishTheDag() throws Exception {
        MariaDbServer server = MariaDbServer.start();
        toClose.add(server);
        String db = server.newDatabase();
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        List<Long> pids = new ArrayList<>();
        for (ShimFleet.Observer o : fleet.observers) {
            pids.add(fleet.start(o, "--term-delay", "6"));
        }
        Path inv = fleet.writeInventory();
        Map<String, String> env = Map.of("OBPLAY_ROOT_PASSWORD", ROOT_PW, "OBPLAY_AGENT_PASSWORD", AGENT_PW,
                "OBPLAY_STORE", server.storeUrl(db), "OBPLAY_STORE_PASSWORD", MariaDbServer.PASSWORD);
        List<ServeProcess> serves = new ArrayList<>();
        List<ObshellTestClient> clients = new ArrayList<>();
        for (String n : List.of("a", "b")) {
            int port = TestHosts.freePort("127.0.0.1");
            ServeProcess p = ServeProcess.start(tmp.resolve(n + ".err"), env, List.of("-i", inv.toString(), "--state-dir",
                    tmp.resolve("state-" + n).toString(), "--listen", "127.0.0.1:" + port, "--lease", "30s", "--grace", "20s"));
            toClose.add(p);
            serves.add(p);
            clients.add(new ObshellTestClient("127.0.0.1", port, ROOT_PW, AGENT_PW));
        }
        for (ServeProcess p : serves) {
            p.awaitListening(Duration.ofSeconds(90));
        }
        Thread.sleep(1500);
        ObshellTestClient.Response r = clients.get(0).post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"GLOBAL\"}, \"terminate\": true}");
        assertEnvelope(r, 200, false);
        String id = r.data().get("id").asText();
        assertTrue(TestHosts.await(() -> clients.get(1).get("/api/v1/task/dag/" + id).data().get("nodes").get(1).get("sub_tasks")
                .findValuesAsText("state").contains("RUNNING"), Duration.ofSeconds(60)), "the stop stage runs");

        server.stop(); // mid-stage: the observers take 6 s to go after their TERM
        Thread.sleep(5000);
        server.restart();

        JsonNode[] last = new JsonNode[1];
        assertTrue(TestHosts.await(() -> {
            last[0] = clients.get(1).get("/api/v1/task/dag/" + id).data();
            return last[0].get("state").asText().equals("SUCCEED");
        }, Duration.ofSeconds(150)), () -> "the DAG finishes after the restart: " + last[0] + "\n" + serves.get(0).err() + "\n" + serves.get(1).err());
        for (long pid : pids) {
            assertFalse(ShimFleet.alive(pid), "every observer is gone");
        }
        Set<String> ids = new HashSet<>();
        for (JsonNode node : last[0].get("nodes")) {
            for (JsonNode t : node.get("sub_tasks")) {
                assertTrue(ids.add(t.get("id").asText()), "recorded once: " + t);
                assertEquals("SUCCEED", t.get("state").asText(), t.toString());
                assertEquals(1, t.get("execute_times").asInt(), "run once, across the restart: " + t);
                String logs = t.get("task_logs").toString();
                assertEquals(1, logs.split("\"run ", -1).length - 1, "one run line: " + logs);
                assertEquals(1, logs.split("done in ", -1).length - 1, "one end, written once: " + logs);
            }
        }
        assertEquals(last[0], clients.get(0).get("/api/v1/task/dag/" + id).data(), "the same on both instances");
    }
}
