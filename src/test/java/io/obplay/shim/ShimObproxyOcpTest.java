package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.plan.GenericId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.obplay.shim.ShimApiTest.assertSameShape;
import static io.obplay.shim.ShimHarness.assertEnvelope;
import static io.obplay.shim.ShimHarness.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The obproxy endpoints (seeds 000, 001, 002: stop, delete, 204 when none is managed; the agent password they
 * need) and OCP's stop of chosen OBProxy servers (seed 003: an OCP task whose subtasks are the DAG, HTTP
 * Basic), on {@code --dry-run} servers.
 */
@Timeout(120)
class ShimObproxyOcpTest {
    static final String SEED_000 = """
            {"successful": true, "timestamp": "2025-03-20T15:20:30.742036555+08:00", "duration": 2, "status": 200,
             "traceId": "78212f90cb17ff29",
             "data": {"id": "40194912107080889", "dag_id": 9, "name": "Stop obproxy", "stage": 1, "max_stage": 2,
                      "state": "READY", "operator": "RUN", "start_time": "2025-03-20T15:20:30.740630148+08:00",
                      "end_time": "2025-03-20T15:20:30.740630148+08:00", "additional_data": null, "nodes": null}}""";
    static final String SEED_001 = """
            {"successful": true, "timestamp": "2025-03-20T16:49:01.506125154+08:00", "duration": 2, "status": 200,
             "traceId": "cd41831d02399bc8",
             "data": {"id": "401949121070808812", "dag_id": 12, "name": "Delete obproxy", "stage": 1, "max_stage": 4,
                      "state": "READY", "operator": "RUN", "start_time": "2025-03-20T16:49:01.50428353+08:00",
                      "end_time": "2025-03-20T16:49:01.50428353+08:00", "additional_data": null, "nodes": null}}""";
    /** Seed 003's task, shortened to two of its subtasks (every subtask has the same fields). */
    static final String SEED_003 = """
            {"data": {"creator": "admin", "executor": "xxx.xxx.xxx.xxx", "id": 13153183, "name": "Stop obproxy",
              "operation": "EXECUTE", "prohibitRollback": false, "startTime": "2025-01-16T11:43:38.273+08:00",
              "status": "RUNNING",
              "subtasks": [
                {"description": "Stop obproxy", "downstreams": [13175726], "id": 13175719, "name": "Stop obproxy",
                 "nodeType": "JAVA_TASK", "operation": "EXECUTE", "parallelIdx": 0, "prohibitRollback": true,
                 "prohibitSkip": false, "runTime": 1, "seriesId": 10, "status": "PENDING", "taskId": 13153183,
                 "timeout": 1800, "upstreams": [13175727]},
                {"description": "Start node", "downstreams": [13175728], "id": 13175720, "name": "Start node",
                 "nodeType": "JAVA_TASK", "operation": "EXECUTE", "parallelIdx": -1, "prohibitRollback": false,
                 "prohibitSkip": false, "runTime": 1, "seriesId": 0, "status": "READY", "taskId": 13153183,
                 "timeout": 30, "upstreams": []}],
              "taskDefinitionId": -1, "type": "MANUAL"},
             "duration": 59, "server": "74f95ea2f4", "status": 200, "successful": true,
             "timestamp": "2025-01-16T11:43:38.311+08:00", "traceId": "b16d0fa52e048f63"}""";

    @TempDir
    Path tmp;
    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    ShimHarness start(ShimFleet fleet) throws Exception {
        toClose.add(fleet);
        ShimHarness h = ShimHarness.start(fleet.inventory(), tmp.resolve("state-" + toClose.size()), true);
        toClose.add(h);
        return h;
    }

    String agentPart(ShimHarness h) {
        return String.format("%010d%05d", GenericId.ipv4("127.0.0.1"), h.port());
    }

    @Test
    void stopAndDeleteObproxyAnswerSeeds000And001AndNeedTheAgentPassword() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        ShimHarness shim = start(fleet);
        String agentPart = agentPart(shim);

        // the agent header is required on /api/v1/obproxy*
        ObshellTestClient rootOnly = shim.client.with(o -> o.withHeader(ObshellTestClient.HeaderChoice.ROOT));
        assertError(rootOnly.post("/api/v1/obproxy/stop", null), 400, "Request.Header.NotFound", 0, "X-OCS-Agent-Header");
        assertError(rootOnly.delete("/api/v1/obproxy"), 400, "Request.Header.NotFound", 0, null);
        assertTrue(shim.store.dags(10).isEmpty());

        JsonNode seed0 = ShimHarness.JSON.readTree(SEED_000);
        ObshellTestClient.Response stop = shim.client.post("/api/v1/obproxy/stop", null);
        assertEnvelope(stop, 200, false);
        assertSameShape(seed0, stop.json());
        assertSameShape(seed0.get("data"), stop.data());
        JsonNode d = stop.data();
        for (String k : List.of("name", "stage", "max_stage", "state", "operator")) {
            assertEquals(seed0.get("data").get(k), d.get(k), k);
        }
        assertEquals("4" + agentPart + d.get("dag_id").asLong(), d.get("id").asText(), "an obproxy DAG's generic id starts with 4");
        assertEquals(d.get("start_time"), d.get("end_time"));
        assertTrue(d.get("nodes").isNull() && d.get("additional_data").isNull());
        String stopId = d.get("id").asText();
        JsonNode full = shim.client.get("/api/v1/task/dag/" + stopId).data();
        assertEquals(List.of("Check obproxy status", "Stop obproxy"), ShimApiTest.names(full.get("nodes")));
        assertEquals(4, full.get("maintenance_type").asInt(), "obproxy maintenance");
        // an obproxy DAG id needs the agent password too
        assertError(rootOnly.get("/api/v1/task/dag/" + stopId), 400, "Request.Header.NotFound", 0, null);

        // the obproxy lock: a delete while the stop holds it
        ObshellTestClient.Response busy = shim.client.delete("/api/v1/obproxy");
        assertError(busy, 500, "Agent.UnderMaintenanceDag", 1010, "[" + stopId + ":Stop obproxy]");
        shim.client.post("/api/v1/task/dag/" + stopId, "{\"operator\": \"CANCEL\"}");
        shim.client.post("/api/v1/task/dag/" + stopId, "{\"operator\": \"PASS\"}");

        JsonNode seed1 = ShimHarness.JSON.readTree(SEED_001);
        ObshellTestClient.Response del = shim.client.delete("/api/v1/obproxy");
        assertEnvelope(del, 200, false);
        assertSameShape(seed1.get("data"), del.data());
        for (String k : List.of("name", "stage", "max_stage", "state", "operator")) {
            assertEquals(seed1.get("data").get(k), del.data().get(k), k);
        }
        assertTrue(del.data().get("id").asText().startsWith("4" + agentPart));
        JsonNode delDag = shim.client.get("/api/v1/task/dag/" + del.data().get("id").asText()).data();
        assertEquals(List.of("Check obproxy status", "Stop obproxy", "Delete obproxy", "Clean obproxy dir"),
                ShimApiTest.names(delDag.get("nodes")));
        ShimFleet.Proxy p = fleet.proxies.get(0);
        // each plan line is the path, then what cleaning it does in words
        assertEquals(List.of(p.home().resolve("etc").toString()),
                pathsOf(delDag.get("nodes").get(2).get("sub_tasks").get(0).get("additional_data").get("paths")),
                "Delete obproxy removes its configuration");
        assertEquals(List.of(p.home().resolve("log").toString(), p.home().resolve("run").toString(), p.home().resolve("bin").toString(),
                        p.home().resolve("lib").toString()),
                pathsOf(delDag.get("nodes").get(3).get("sub_tasks").get(0).get("additional_data").get("paths")),
                "Clean obproxy dir removes log, run, bin, lib and keeps the home");
    }

    @Test
    void withoutAManagedObproxyDeleteIs204AndStopIsRefused() throws Exception {
        Map<String, Integer> zones = new LinkedHashMap<>();
        zones.put("zone1", 1);
        ShimHarness shim = start(new ShimFleet(tmp.resolve("fleet"), "noproxy", zones, Map.of()));
        assertFalse(shim.raw("GET", "/api/v1/info", null).data().get("isObproxyAgent").asBoolean());

        ObshellTestClient.Response del = shim.client.delete("/api/v1/obproxy");
        assertEquals(204, del.status(), del::toString);
        assertTrue(del.body() == null || del.body().isEmpty(), "no body with 204: '" + del.body() + "'");
        assertError(shim.client.post("/api/v1/obproxy/stop", null), 400, "OBProxy.NotBeManaged", 1001, "This is not an OBProxy agent");
        assertTrue(shim.store.dags(10).isEmpty());
    }

    @Test
    void severalObproxyClustersNeedAChoice() throws Exception {
        Map<String, Integer> zones = Map.of("zone1", 1);
        Map<Integer, Integer> proxies = new LinkedHashMap<>();
        proxies.put(1, 1);
        proxies.put(2, 1);
        ShimFleet fleet = new ShimFleet(tmp.resolve("fleet"), "two", zones, proxies);
        toClose.add(fleet);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ShimServer.managedObproxy(fleet.inventory(), null));
        assertTrue(e.getMessage().contains("--obproxy-cluster"), e.getMessage());
        assertEquals(2, ShimServer.managedObproxy(fleet.inventory(), 2).id());
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ShimServer.managedObproxy(fleet.inventory(), 7)).getMessage().contains("no obproxy cluster with that id"));
    }

    @Test
    void ocpStopOfChosenServersAnswersSeed003AndIsFollowedByTaskId() throws Exception {
        Map<String, Integer> zones = Map.of("zone1", 1);
        ShimFleet fleet = new ShimFleet(tmp.resolve("fleet"), "ocp", zones, Map.of(1, 3));
        ShimHarness shim = start(fleet);
        JsonNode seed = ShimHarness.JSON.readTree(SEED_003);

        ObshellTestClient.Response r = shim.ocp("POST", "/api/v2/obproxy/clusters/1/servers/stop", "{\"obproxyServerIds\": [3, 1, 3]}");
        assertEnvelope(r, 200, true);
        assertEquals(shim.agentAddress(), r.json().get("server").asText(), "OCP's envelope names the server");
        assertSameShape(seed, r.json());
        JsonNode task = r.data();
        assertSameShape(seed.get("data"), task);
        assertEquals("Stop obproxy", task.get("name").asText());
        assertEquals("RUNNING", task.get("status").asText());
        assertEquals("EXECUTE", task.get("operation").asText());
        assertEquals("MANUAL", task.get("type").asText());
        assertEquals(-1, task.get("taskDefinitionId").asInt());
        assertFalse(task.get("prohibitRollback").asBoolean());
        assertEquals(ShimHarness.OCP_USER, task.get("creator").asText());
        assertEquals(shim.agentAddress(), task.get("executor").asText());

        // subtasks: the DAG's sub-tasks, stage = seriesId, linked stage to stage
        JsonNode subs = task.get("subtasks");
        assertEquals(4, subs.size(), "2 stages x servers 1 and 3");
        Map<Long, JsonNode> byId = new HashMap<>();
        Map<Integer, List<Long>> bySeries = new HashMap<>();
        for (JsonNode s : subs) {
            assertSameShape(seed.get("data").get("subtasks").get(0), s);
            assertEquals(task.get("id").asLong(), s.get("taskId").asLong());
            assertEquals("JAVA_TASK", s.get("nodeType").asText());
            assertEquals("PENDING", s.get("status").asText());
            byId.put(s.get("id").asLong(), s);
            bySeries.computeIfAbsent(s.get("seriesId").asInt(), k -> new ArrayList<>()).add(s.get("id").asLong());
        }
        assertEquals(List.of(0, 1), new ArrayList<>(new java.util.TreeSet<>(bySeries.keySet())));
        for (long id : bySeries.get(0)) {
            JsonNode s = byId.get(id);
            assertEquals("Check obproxy status", s.get("name").asText());
            assertEquals(0, s.get("upstreams").size());
            assertEquals(bySeries.get(1), longs(s.get("downstreams")));
        }
        for (long id : bySeries.get(1)) {
            JsonNode s = byId.get(id);
            assertEquals("Stop obproxy", s.get("name").asText());
            assertEquals(bySeries.get(0), longs(s.get("upstreams")));
            assertEquals(0, s.get("downstreams").size());
        }
        // only servers 1 and 3
        JsonNode dag = shim.client.get("/api/v1/task/dag/4" + agentPart(shim) + task.get("id").asLong()).data();
        List<String> servers = new ArrayList<>();
        dag.get("nodes").get(1).get("sub_tasks").forEach(t -> servers.add(t.get("additional_data").get("server").asText()));
        assertEquals(List.of("obproxy:1/1", "obproxy:1/3"), servers);

        // followed by its id
        ObshellTestClient.Response follow = shim.ocp("GET", "/api/v2/tasks/instances/" + task.get("id").asLong(), null);
        assertEnvelope(follow, 200, true);
        assertEquals(task.get("id"), follow.data().get("id"));
        assertEquals(ShimHarness.OCP_USER, follow.data().get("creator").asText(), "the creator is kept");
        assertEquals(4, follow.data().get("subtasks").size());
        assertError(shim.ocp("POST", "/api/v2/tasks/instances/" + task.get("id").asLong() + "/rollback", null),
                400, "Task.Dag.Operator.RollbackNotFailedDag", 1001, null);
    }

    static List<Long> longs(JsonNode a) {
        List<Long> out = new ArrayList<>();
        a.forEach(x -> out.add(x.asLong()));
        return out;
    }

    @Test
    void ocpRefusalsBasicAuthUnknownClusterAndServerBadBodies() throws Exception {
        ShimHarness shim = start(new ShimFleet(tmp.resolve("fleet"), "ocp2", Map.of("zone1", 1), Map.of(1, 2)));
        String path = "/api/v2/obproxy/clusters/1/servers/stop";
        ObshellTestClient.Response noAuth = shim.raw("POST", path, "{\"obproxyServerIds\": [1]}".getBytes());
        assertError(noAuth, 401, "Common.Unauthorized", 10008, null);
        assertTrue(noAuth.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Basic"), "a Basic challenge");
        assertError(shim.ocp("POST", path, "{\"obproxyServerIds\": [1]}", ShimHarness.OCP_USER, "wrong"), 401, "Common.Unauthorized", 10008, null);
        assertError(shim.ocp("POST", "/api/v2/obproxy/clusters/9/servers/stop", "{\"obproxyServerIds\": [1]}"), 404, "Common.NotFound", 1000,
                "OBProxy cluster 9");
        assertError(shim.ocp("POST", path, "{\"obproxyServerIds\": [1, 5]}"), 404, "Common.NotFound", 1000,
                "OBProxy server 5 in OBProxy cluster 1");
        assertError(shim.ocp("POST", path, "{\"obproxyServerIds\": []}"), 400, "Common.IllegalArgument", 1001, "obproxyServerIds");
        assertError(shim.ocp("POST", path, "{\"obproxyServerIds\": \"1,2\"}"), 400, "Common.BindJsonFailed", 1000, null);
        assertError(shim.ocp("POST", path, "{\"obproxyServerIds\": [1.5]}"), 400, "Common.BindJsonFailed", 1000, null);
        assertError(shim.ocp("POST", path, "{\"ids\": [1]}"), 400, "Common.BindJsonFailed", 1000, "unknown field 'ids'");
        assertError(shim.ocp("POST", "/api/v2/obproxy/clusters/x/servers/stop", "{\"obproxyServerIds\": [1]}"), 400,
                "Common.IllegalArgument", 1001, null);
        assertError(shim.ocp("GET", "/api/v2/tasks/instances/999", null), 404, "Common.NotFound", 1000, "task 999");
        // a browser made to send the request by another site's page: refused before the credentials are looked at
        String basic = "Basic " + java.util.Base64.getEncoder().encodeToString(
                (ShimHarness.OCP_USER + ":" + ShimHarness.OCP_PW).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        byte[] stop2 = "{\"obproxyServerIds\": [2]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertError(shim.raw("POST", path, stop2, "Authorization", basic, "Origin", "http://evil.example"),
                403, "Common.CrossSiteRequest", 1000, "Origin: http://evil.example");
        assertError(shim.raw("POST", path, stop2, "Authorization", basic, "Sec-Fetch-Site", "cross-site"),
                403, "Common.CrossSiteRequest", 1000, "Sec-Fetch-Site: cross-site");
        assertError(shim.raw("POST", "/api/v2/tasks/instances/1/retry", null, "Authorization", basic, "Sec-Fetch-Site", "same-site"),
                403, "Common.CrossSiteRequest", 1000, null);
        assertTrue(shim.store.dags(10).isEmpty(), "nothing created by a refused request");
        // the same from this server's own origin (and GETs from anywhere) are taken
        assertError(shim.raw("GET", "/api/v2/tasks/instances/999", null, "Authorization", basic, "Sec-Fetch-Site", "cross-site"),
                404, "Common.NotFound", 1000, "task 999");
        // OCP's lock is the obproxy lock
        assertEnvelope(shim.raw("POST", path, stop2, "Authorization", basic, "Content-Type", "application/json",
                "Origin", "http://127.0.0.1:" + shim.port(), "Sec-Fetch-Site", "same-origin"), 200, true);
        assertError(shim.client.post("/api/v1/obproxy/stop", null), 500, "Agent.UnderMaintenanceDag", 1010, "Stop obproxy");
    }

    /** The paths of a sub-task's plan lines ("PATH  (what is done)"). */
    static List<String> pathsOf(JsonNode lines) {
        List<String> out = new java.util.ArrayList<>();
        lines.forEach(l -> out.add(l.asText().substring(0, l.asText().indexOf("  ("))));
        return out;
    }
}
