package io.obplay.run;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.Server;
import io.obplay.inventory.YamlSource;
import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.PlanOptions;
import io.obplay.plan.Planner;
import io.obplay.plan.StartScriptTest;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.playbook.PlaybookLoader;
import io.obplay.run.transport.LocalTransport;
import io.obplay.store.Store;
import io.obplay.store.sqlite.SqliteStore;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A rolling start through the executor on the local transport: zone by zone, each zone ready before the next;
 * a server that crashes while starting fails its zone's stage with its log in task_logs, and the later zone is
 * never touched.
 */
class StartRunTest {

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

    static int[] freePorts(int n) throws IOException {
        ServerSocket[] open = new ServerSocket[n];
        int[] ports = new int[n];
        try {
            for (int i = 0; i < n; i++) {
                open[i] = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                ports[i] = open[i].getLocalPort();
            }
        } finally {
            for (ServerSocket s : open) {
                if (s != null) {
                    s.close();
                }
            }
        }
        return ports;
    }

    @Test
    void aRollingStartStopsAtTheZoneThatDoesNotComeBackAndLeavesTheNextUntouched() throws Exception {
        int[] p = freePorts(6);
        StringBuilder yaml = new StringBuilder("cluster: t\ntransport: local\nzones:\n");
        String[] zones = {"z1", "z2", "z3"};
        for (int i = 0; i < 3; i++) {
            Path home = dir.resolve("ob" + (i + 1));
            StartScriptTest.deployedObserver(home, i == 1 ? new StartScriptTest.Fake("run/observer.pid", 0.5, true, 0)
                    : StartScriptTest.Fake.plain("run/observer.pid"), p[2 * i], p[2 * i + 1]);
            yaml.append("  ").append(zones[i]).append(":\n    servers:\n      - { host: 127.0.0.1, home_path: ").append(home)
                    .append(", agent_port: ").append(41001 + i).append(", mysql_port: ").append(p[2 * i])
                    .append(", rpc_port: ").append(p[2 * i + 1]).append(" }\n");
        }
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", yaml.toString()));
        var pb = PlaybookLoader.load(YamlSource.of("pb.yaml", """
                name: start the cluster
                targets: { all: true }
                strategy: rolling
                steps:
                  - start: { wait: 20s, settle: 500ms }
                """), inv);
        store = SqliteStore.open(dir.resolve("state"));
        Dag dag = new DagControl(store).create(Planner.plan(inv, pb, PlanOptions.defaults()).dag(), "127.0.0.1", 2886);
        Map<String, Server> servers = new LinkedHashMap<>();
        inv.servers().forEach(s -> servers.put(s.name(), s));

        Dag end = new Executor(store, new LocalTransport(Duration.ofSeconds(1)), servers, new RunListener() {
        }).run(dag.dagId(), RunOptions.defaults());

        assertEquals(State.FAILED, end.state());
        List<Node> nodes = end.nodes();
        assertEquals(3, nodes.size(), "one stage per zone");
        assertEquals(State.SUCCEED, nodes.get(0).state());
        assertEquals(State.FAILED, nodes.get(1).state());
        assertTrue(nodes.get(2).state() != State.SUCCEED && nodes.get(2).state() != State.FAILED, nodes.get(2).state().toString());
        SubTask failed = nodes.get(1).subTasks().get(0);
        assertTrue(failed.taskLogs().stream().anyMatch(l -> l.contains("ERROR: fake failure: the clog disk is full")), failed.taskLogs().toString());
        assertTrue(failed.taskLogs().stream().anyMatch(l -> l.contains("FAILED: 127.0.0.1:41002 exited after")), failed.taskLogs().toString());
        assertTrue(Files.exists(dir.resolve("ob1/run/observer.pid")), "zone 1 started");
        assertFalse(Files.exists(dir.resolve("ob3/log/observer.log")), "zone 3 was never launched");
    }
}
