package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.obplay.shim.ShimHarness.assertEnvelope;
import static io.obplay.shim.ShimHarness.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * obshell's {@code POST /api/v1/ob/start} and {@code POST /api/v1/obproxy/start} on a real {@code obplay serve} over
 * real sockets, signed as the SDKs sign, starting a real stand-in observer installed in its home the way a real one
 * is ({@code standin.py install}: {@code bin/observer}, {@code etc/observer.config.bin}; it daemonizes, writes its pid
 * file and listens after a delay): obshell's validation order and codes, the "Start OB" DAG, ready = the pid file's
 * process listening on its ports, a second start of a running observer refused (obshell skips it), the maintenance
 * lock, and the obproxy start without a managed obproxy.
 */
@Timeout(180)
class ShimStartTest {
    static final Duration DONE = Duration.ofSeconds(90);

    @TempDir
    Path tmp;
    ShimFleet fleet;
    ShimHarness shim;
    final List<Path> started = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        fleet = new ShimFleet(tmp.resolve("fleet"), "starttest", java.util.Map.of("zone1", 1, "zone2", 1, "zone3", 1), java.util.Map.of());
        shim = ShimHarness.start(fleet.inventory(), tmp.resolve("state"), false);
    }

    @AfterEach
    void stop() throws IOException {
        shim.close();
        for (Path pidFile : started) {
            if (Files.exists(pidFile)) {
                long pid = ShimFleet.pid(pidFile);
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        fleet.close();
    }

    /** Installs a startable stand-in observer in the observer's home (not started). */
    private void install(ShimFleet.Observer o) throws IOException {
        TestHosts.Run r = TestHosts.run(Duration.ofSeconds(30), List.of(TestHosts.python(), TestHosts.standinScript().toString(),
                "install", "--home", o.home().toString(), "--kind", "observer", "--ports", o.mysqlPort() + "," + o.rpcPort(),
                "--bind", ShimFleet.HOST, "--listen-delay", "0.5"));
        assertEquals(0, r.exitCode(), r::toString);
        for (String d : List.of("store", "store/clog", "store/slog", "log", "run")) {
            Files.createDirectories(o.home().resolve(d));
        }
        started.add(o.pidFile());
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(ShimFleet.HOST, port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String body(String type, String targets) {
        return "{\"scope\": {\"type\": \"" + type + "\"" + (targets == null ? "" : ", \"target\": " + targets) + "}}";
    }

    private String created(ObshellTestClient.Response r) {
        assertEnvelope(r, 200, false);
        assertEquals("Start OB", r.data().get("name").asText(), r::toString);
        return r.data().get("id").asText();
    }

    @Test
    void startsAZoneUntilReadyAndRefusesARunningObserver() throws Exception {
        ShimFleet.Observer z1 = fleet.observers.stream().filter(o -> o.zone().equals("zone1")).findFirst().orElseThrow();
        install(z1);
        assertFalse(listening(z1.mysqlPort()), "nothing listens before the start");

        String id = created(shim.client.post("/api/v1/ob/start", body("ZONE", "[\"zone1\"]")));
        JsonNode dag = shim.awaitDag(id, d -> d.get("state").asText().matches("SUCCEED|FAILED"), DONE);
        assertEquals("SUCCEED", dag.get("state").asText(), () -> dag + "\n" + shim.log());
        assertEquals(List.of("Check observer status", "Start observer"),
                List.of(dag.get("nodes").get(0).get("name").asText(), dag.get("nodes").get(1).get("name").asText()));
        JsonNode tasks = dag.get("nodes").get(1).get("sub_tasks");
        assertEquals(1, tasks.size(), "zone1 only");
        assertEquals(z1.address(), tasks.get(0).get("additional_data").get("server").asText());
        // ready: its pid file names a live process, and it listens on both ports
        long pid = ShimFleet.pid(z1.pidFile());
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the started observer runs");
        assertTrue(listening(z1.mysqlPort()) && listening(z1.rpcPort()), "both ports listen once the DAG says SUCCEED");

        // obshell skips an observer that already runs; obplay's start refuses it and touches nothing
        String again = created(shim.client.post("/api/v1/ob/start", body("SERVER", "[\"" + z1.address() + "\"]")));
        JsonNode second = shim.awaitDag(again, d -> d.get("state").asText().matches("SUCCEED|FAILED"), DONE);
        assertEquals("FAILED", second.get("state").asText(), second::toString);
        String logs = second.get("nodes").get(1).get("sub_tasks").get(0).get("task_logs").toString();
        assertTrue(logs.contains(Long.toString(pid)), "names the running pid: " + logs);
        assertEquals(pid, ShimFleet.pid(z1.pidFile()), "the running observer was not touched");
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));

        // the FAILED start holds the maintenance lock, as a failed stop does: a stop is refused naming it, and
        // forcePassDag naming it lets the next start through
        assertError(shim.client.post("/api/v1/ob/start", body("ZONE", "[\"zone2\"]")), 500, "Agent.UnderMaintenanceDag", 1010, "Start OB");
        ObshellTestClient.Response passed = shim.client.post("/api/v1/ob/start",
                "{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone1\"]}, \"forcePassDag\": {\"id\": [\"" + again + "\"]}}");
        created(passed);
    }

    @Test
    void startsTheManagedObproxyFromItsHome() throws Exception {
        shim.close();
        fleet.close();
        fleet = new ShimFleet(tmp.resolve("fleet2"), "starttest", java.util.Map.of("zone1", 1), java.util.Map.of(1, 1));
        shim = ShimHarness.start(fleet.inventory(), tmp.resolve("state2"), false);
        ShimFleet.Proxy p = fleet.proxies.get(0);
        // OBD's pid file name, as the inventory declares it
        TestHosts.Run r = TestHosts.run(Duration.ofSeconds(30), List.of(TestHosts.python(), TestHosts.standinScript().toString(),
                "install", "--home", p.home().toString(), "--kind", "obproxy", "--ports", p.listenPort() + "," + p.prometheusPort(),
                "--bind", ShimFleet.HOST, "--pidfile", p.home().relativize(p.pidFile()).toString(), "--listen-delay", "0.3"));
        assertEquals(0, r.exitCode(), r::toString);
        for (String d : List.of("log", "run")) {
            Files.createDirectories(p.home().resolve(d));
        }
        started.add(p.pidFile());
        ObshellTestClient.Response made = shim.client.post("/api/v1/obproxy/start", null);
        assertEnvelope(made, 200, false);
        assertEquals("Start obproxy", made.data().get("name").asText());
        String id = made.data().get("id").asText();
        assertTrue(id.startsWith("4"), "an obproxy DAG's generic id: " + id);
        JsonNode dag = shim.awaitDag(id, d -> d.get("state").asText().matches("SUCCEED|FAILED"), DONE);
        assertEquals("SUCCEED", dag.get("state").asText(), () -> dag + "\n" + shim.log());
        long pid = ShimFleet.pid(p.pidFile());
        assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "obproxy runs");
        assertTrue(listening(p.listenPort()) && listening(p.prometheusPort()), "both ports listen");
    }

    @Test
    void validationFollowsObshellsOrderAndCreatesNothing() throws Exception {
        assertError(shim.client.post("/api/v1/ob/start", "{\"scope\": {\"type\": \"zone\", \"target\": \"zone1\"}}"),
                400, "Common.BindJsonFailed", 1000, null);
        assertError(shim.client.post("/api/v1/ob/start", "{\"scope\": {\"type\": \"ZONE\"}, \"force\": true}"),
                400, "Common.BindJsonFailed", 1000, "force");
        assertError(shim.client.post("/api/v1/ob/start", "{}"), 400, "OB.Cluster.Scope.Invalid", 1001, "Scope '' is invalid");
        assertError(shim.client.post("/api/v1/ob/start", body("cluster", null)), 400, "OB.Cluster.Scope.Invalid", 1001, "CLUSTER");
        assertError(shim.client.post("/api/v1/ob/start", body("ZONE", null)), 400, "Common.IllegalArgument", 1001, "target is empty");
        assertError(shim.client.post("/api/v1/ob/start", body("zone", "[\"zone1\", \"nozone\"]")), 400, "OB.Zone.NotExist", 1000,
                "Zone 'nozone' does not exist");
        assertError(shim.client.post("/api/v1/ob/start", body("SERVER", "[\"127.0.0.1:1024\"]")), 400, "Common.InvalidPort", 1001, null);
        assertError(shim.client.post("/api/v1/ob/start", body("SERVER", "[\"127.0.0.2:2886\"]")), 400, "Agent.NotExist", 1000, null);
        // no managed obproxy: refused at once (obshell makes a DAG that fails in its first node)
        assertError(shim.client.post("/api/v1/obproxy/start", null), 400, "OBProxy.NotBeManaged", 1001, null);
        assertTrue(shim.store.dags(10).isEmpty(), "no DAG exists after refused requests");
    }
}
