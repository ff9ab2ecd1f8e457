package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.obplay.shim.ShimHarness.assertEnvelope;
import static io.obplay.shim.ShimHarness.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stops that really stop: the shim (not a dry run) on a {@code transport: local} inventory whose observers and
 * obproxy servers are stand-in processes ({@code examples/standin/standin.py}) with pid files and listening
 * ports. After each DAG SUCCEEDs, the processes are proved gone (and the others still there).
 */
@Timeout(180)
class ShimRunTest {
    static final Duration DONE = Duration.ofSeconds(90);

    @TempDir
    Path tmp;
    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    ShimHarness start(ShimFleet fleet, Duration grace) throws Exception {
        toClose.add(fleet);
        ShimHarness h = ShimHarness.start(fleet.inventory(), tmp.resolve("state"), false, grace);
        toClose.add(h);
        return h;
    }

    static String id(ObshellTestClient.Response r) {
        assertEnvelope(r, 200, false);
        return r.data().get("id").asText();
    }

    @Test
    void forceStopOfAZoneKillsItsObserverOnlyAndRecordsEverything() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        List<Long> pids = new ArrayList<>();
        for (ShimFleet.Observer o : fleet.observers) {
            pids.add(fleet.start(o));
        }
        ShimHarness shim = start(fleet, Duration.ofSeconds(5));
        ShimFleet.Observer z1 = fleet.observers.get(0);

        String id = id(shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone1\"]}, \"force\": true}"));
        JsonNode dag = shim.awaitState(id, "SUCCEED", DONE);

        assertFalse(ShimFleet.alive(pids.get(0)), "zone1's observer is gone");
        assertFalse(ShimFleet.listening(z1.mysqlPort()) || ShimFleet.listening(z1.rpcPort()), "its ports are released");
        assertFalse(Files.exists(z1.pidFile()), "its pid file is removed");
        assertTrue(ShimFleet.alive(pids.get(1)) && ShimFleet.alive(pids.get(2)), "zone2 and zone3 still run");

        assertEquals("RUN", dag.get("operator").asText());
        assertEquals(2, dag.get("stage").asInt(), "ended at the last stage");
        OffsetDateTime start = OffsetDateTime.parse(dag.get("start_time").asText());
        OffsetDateTime end = OffsetDateTime.parse(dag.get("end_time").asText());
        assertFalse(end.isBefore(start));
        JsonNode check = dag.get("nodes").get(0).get("sub_tasks").get(0);
        JsonNode kill = dag.get("nodes").get(1).get("sub_tasks").get(0);
        for (JsonNode t : List.of(check, kill)) {
            assertEquals("SUCCEED", t.get("state").asText());
            assertEquals(1, t.get("execute_times").asInt());
            assertFalse(t.get("start_time").asText().startsWith("0001"), "started");
        }
        assertTrue(check.get("task_logs").toString().contains("pid " + pids.get(0) + " runs (observer"), check.toString());
        assertTrue(kill.get("task_logs").toString().contains("sending KILL to observer pid " + pids.get(0)), kill.toString());

        // the full logs, obshell's SubTaskLog rows
        JsonNode logs = shim.client.get("/api/v1/task/sub_task/" + kill.get("id").asText() + "/logs").data().get("contents");
        assertEquals(kill.get("task_logs").size(), logs.size());
        JsonNode row = logs.get(0);
        assertEquals(java.util.Set.of("id", "sub_task_id", "execute_times", "log_content", "is_sync", "create_time", "update_time"),
                ShimApiTest.keys(row));
        assertEquals(kill.get("task_logs").get(0).asText(), row.get("log_content").asText());
        assertEquals(kill.get("task_id").asLong(), row.get("sub_task_id").asLong());

        // the lock is free again; the latest maintenance DAG is this one, finished
        assertEquals(0, shim.client.get("/api/v1/task/dag/unfinish").data().get("contents").size());
        JsonNode latest = shim.client.get("/api/v1/task/dag/maintain/ob").data();
        assertEquals(id, latest.get("id").asText());
        assertEquals("SUCCEED", latest.get("state").asText());
        assertTrue(TestHosts.await(() -> shim.log().contains("DAG " + id + " (Stop OB) SUCCEED"), Duration.ofSeconds(10)), shim.log());
    }

    @Test
    void terminateSendsTermThenKillsAfterTheGrace() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        long a = fleet.start(fleet.observers.get(0));
        long stubborn = fleet.start(fleet.observers.get(1), "--ignore-term");
        long c = fleet.start(fleet.observers.get(2), "--term-delay", "0.5");
        ShimHarness shim = start(fleet, Duration.ofSeconds(2));

        long t0 = System.nanoTime();
        String id = id(shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"GLOBAL\"}, \"terminate\": true}"));
        JsonNode dag = shim.awaitState(id, "SUCCEED", DONE);
        assertTrue(System.nanoTime() - t0 >= 2_000_000_000L, "the stubborn one got its 2s grace");
        for (long pid : List.of(a, stubborn, c)) {
            assertFalse(ShimFleet.alive(pid), "pid " + pid + " is gone");
        }
        String logs = dag.get("nodes").get(1).toString();
        assertTrue(logs.contains("sending TERM to observer pid " + stubborn), logs);
        assertTrue(logs.contains("still runs after the 2.0s grace period"), logs);
        assertTrue(logs.contains("sending KILL to observer pid " + stubborn), logs);
        String log = Files.readString(fleet.observers.get(0).home().resolve("log/observer.log"));
        assertTrue(log.contains("received SIGTERM"), "a graceful stop for the others: " + log);
    }

    @Test
    void obproxyStopKillsTheWatchdogFirstAndDeleteCleansItsDirectories() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        ShimFleet.Proxy p = fleet.proxies.get(0);
        long proxy = fleet.start(p);
        long daemon = ShimFleet.pid(p.daemonPidFile());
        for (String d : List.of("etc", "bin", "lib")) {
            Files.createDirectories(p.home().resolve(d));
            Files.writeString(p.home().resolve(d).resolve("file"), d);
        }
        ShimHarness shim = start(fleet, Duration.ofSeconds(5));

        String stop = id(shim.client.post("/api/v1/obproxy/stop", null));
        shim.awaitState(stop, "SUCCEED", DONE);
        assertFalse(ShimFleet.alive(daemon), "obproxyd is gone");
        assertFalse(ShimFleet.alive(proxy), "obproxy is gone");
        Thread.sleep(1000);
        assertFalse(ShimFleet.listening(p.listenPort()), "and not respawned: its port stays closed");

        String del = id(shim.client.delete("/api/v1/obproxy"));
        JsonNode dag = shim.awaitState(del, "SUCCEED", DONE);
        for (String d : List.of("etc", "log", "run", "bin", "lib")) {
            assertFalse(Files.exists(p.home().resolve(d)), d + " is removed");
        }
        assertTrue(Files.isDirectory(p.home()), "the home stays");
        assertTrue(dag.get("nodes").get(2).toString().contains("removed " + p.home().resolve("etc")), dag.toString());
    }

    @Test
    void ocpStopStopsOnlyTheChosenServersAndTheTaskEndsSuccessful() throws Exception {
        ShimFleet fleet = new ShimFleet(tmp.resolve("fleet"), "ocprun", Map.of("zone1", 1), Map.of(1, 2));
        long one = fleet.start(fleet.proxies.get(0));
        long two = fleet.start(fleet.proxies.get(1));
        ShimHarness shim = start(fleet, Duration.ofSeconds(5));

        ObshellTestClient.Response r = shim.ocp("POST", "/api/v2/obproxy/clusters/1/servers/stop", "{\"obproxyServerIds\": [2]}");
        assertEnvelope(r, 200, true);
        long taskId = r.data().get("id").asLong();
        JsonNode task = null;
        long deadline = System.nanoTime() + DONE.toNanos();
        while (System.nanoTime() < deadline) {
            task = shim.ocp("GET", "/api/v2/tasks/instances/" + taskId, null).data();
            if (!task.get("status").asText().equals("RUNNING")) {
                break;
            }
            Thread.sleep(100);
        }
        assertEquals("SUCCESSFUL", task.get("status").asText(), task.toString());
        for (JsonNode s : task.get("subtasks")) {
            assertEquals("SUCCESSFUL", s.get("status").asText(), s.toString());
        }
        assertFalse(ShimFleet.alive(two), "server 2 is stopped");
        assertTrue(ShimFleet.alive(one), "server 1 still runs");
    }

    @Test
    void aFailedStopHoldsTheLockAndRetryFinishesItOnceTheCauseIsGone() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        ShimFleet.Observer z1 = fleet.observers.get(0);
        // a stale pid file and a foreign process on the observer's port: obplay refuses to call it stopped
        Files.createDirectories(z1.pidFile().getParent());
        Files.writeString(z1.pidFile(), "999999\n");
        ShimHarness shim = start(fleet, Duration.ofSeconds(5));
        String id;
        try (ServerSocket foreign = new ServerSocket()) {
            foreign.bind(new InetSocketAddress(ShimFleet.HOST, z1.mysqlPort()));
            id = id(shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"SERVER\", \"target\": [\"" + z1.address() + "\"]}, \"force\": true}"));
            JsonNode failed = shim.awaitState(id, "FAILED", DONE);
            JsonNode t = failed.get("nodes").get(1).get("sub_tasks").get(0);
            assertEquals("FAILED", t.get("state").asText());
            assertTrue(t.get("task_logs").size() > 0, "the SDK prints the last log line of a failed sub-task");
            assertTrue(t.get("task_logs").toString().contains(String.valueOf(z1.mysqlPort())), t.toString());

            // still holding the lock; the SDK sees it among the unfinished DAGs
            assertError(shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone2\"]}, \"force\": true}"),
                    500, "Agent.UnderMaintenanceDag", 1010, id);
            assertEquals(List.of(id), ShimApiTest.ids(shim.client.get("/api/v1/task/dag/unfinish").data().get("contents")));
        }
        // the foreign listener is gone: RETRY re-runs the failed stage only and succeeds
        assertEnvelope(shim.client.post("/api/v1/task/dag/" + id, "{\"operator\": \"RETRY\"}"), 200, false);
        JsonNode done = shim.awaitState(id, "SUCCEED", DONE);
        assertEquals("RUN", done.get("operator").asText(), "as obshell: the SDK's operate_dag_sync(RETRY) waits for SUCCEED and RUN");
        JsonNode check = done.get("nodes").get(0).get("sub_tasks").get(0);
        JsonNode kill = done.get("nodes").get(1).get("sub_tasks").get(0);
        assertEquals(1, check.get("execute_times").asInt(), "the check stage had succeeded and is not run again");
        assertEquals(2, kill.get("execute_times").asInt(), "the failed stage ran again");
        assertEquals("RETRY", done.get("nodes").get(1).get("operator").asText());
        assertTrue(TestHosts.await(() -> shim.client.get("/api/v1/task/dag/unfinish").data().get("contents").size() == 0,
                Duration.ofSeconds(5)), "the lock is released");
    }

    @Test
    void cancelEndsARunningStopAndForcePassDagFreesTheLock() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        long stubborn = fleet.start(fleet.observers.get(0), "--ignore-term");
        ShimHarness shim = start(fleet, Duration.ofSeconds(60));
        String id = id(shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone1\"]}, \"terminate\": true}"));
        shim.awaitDag(id, d -> d.get("nodes").get(1).get("sub_tasks").get(0).get("state").asText().equals("RUNNING"), DONE);

        long t0 = System.nanoTime();
        assertEnvelope(shim.client.post("/api/v1/task/dag/" + id, "{\"operator\": \"CANCEL\"}"), 200, false);
        JsonNode cancelled = shim.awaitState(id, "FAILED", Duration.ofSeconds(30));
        assertTrue(System.nanoTime() - t0 < 30_000_000_000L, "ended well before the 60s grace");
        assertEquals("CANCEL", cancelled.get("operator").asText(), "what the SDK's operate_dag_sync(CANCEL) waits for");
        assertEquals("FAILED", cancelled.get("nodes").get(1).get("sub_tasks").get(0).get("state").asText());
        assertTrue(ShimFleet.alive(stubborn), "the stop was ended before its KILL");

        // a new stop names the cancelled DAG in forcePassDag: it is passed, and the new stop runs
        String next = id(shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone1\"]}, \"force\": true,"
                + " \"forcePassDag\": {\"id\": [\"" + id + "\"]}}"));
        assertEquals("PASS", shim.client.get("/api/v1/task/dag/" + id).data().get("operator").asText());
        shim.awaitState(next, "SUCCEED", DONE);
        assertFalse(ShimFleet.alive(stubborn), "killed by the force stop");
    }

    @Test
    void nodePassAcceptsAFailedStageAndTheDagRunsOn() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        ShimFleet.Observer z1 = fleet.observers.get(0);
        Files.createDirectories(z1.pidFile().getParent());
        Files.writeString(z1.pidFile(), "999999\n");
        ShimHarness shim = start(fleet, Duration.ofSeconds(5));
        try (ServerSocket foreign = new ServerSocket()) {
            foreign.bind(new InetSocketAddress(ShimFleet.HOST, z1.rpcPort()));
            String id = id(shim.client.post("/api/v1/ob/stop", "{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone1\"]}, \"force\": true}"));
            JsonNode failed = shim.awaitState(id, "FAILED", DONE);
            String failedNode = failed.get("nodes").get(1).get("id").asText();
            String okNode = failed.get("nodes").get(0).get("id").asText();
            assertError(shim.client.post("/api/v1/task/node/" + okNode, "{\"operator\": \"PASS\"}"), 400,
                    "Task.Node.Operator.PassNotFailedNode", 1001, "Check observer status");
            assertEnvelope(shim.client.post("/api/v1/task/node/" + failedNode, "{\"operator\": \"PASS\"}"), 200, false);
            JsonNode done = shim.awaitState(id, "SUCCEED", DONE);
            JsonNode node = done.get("nodes").get(1);
            assertEquals("SUCCEED", node.get("state").asText());
            assertEquals("PASS", node.get("operator").asText());
            assertEquals("PASS", node.get("sub_tasks").get(0).get("operator").asText());
            assertTrue(node.get("sub_tasks").get(0).get("task_logs").toString().contains("passed by the operator"));
        }
    }
}
