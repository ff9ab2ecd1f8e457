package io.obplay.run;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.Server;
import io.obplay.inventory.YamlSource;
import io.obplay.playbook.PlaybookLoader;
import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.PlanOptions;
import io.obplay.plan.Planner;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.run.transport.LocalTransport;
import io.obplay.store.Refusal;
import io.obplay.store.Refused;
import io.obplay.store.Store;
import io.obplay.store.UnderMaintenanceException;
import io.obplay.store.sqlite.SqliteStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The executor's state machine on the local transport: real scripts, a real SQLite store, no Docker. */
class ExecutorTest {
    @TempDir
    Path dir;
    Store store;
    Inventory inv;
    final List<String> events = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void setUp() throws Exception {
        store = SqliteStore.open(dir.resolve("state"));
        String yaml = """
                cluster: t
                transport: local
                zones:
                  z1:
                    servers:
                      - { host: 127.0.0.1, home_path: %1$s/a, agent_port: 40001, mysql_port: 40011, rpc_port: 40021 }
                      - { host: 127.0.0.1, home_path: %1$s/b, agent_port: 40002, mysql_port: 40012, rpc_port: 40022 }
                  z2:
                    servers:
                      - { host: 127.0.0.1, home_path: %1$s/c, agent_port: 40003, mysql_port: 40013, rpc_port: 40023 }
                """.formatted(dir);
        inv = InventoryLoader.load(YamlSource.of("inv.yaml", yaml));
        for (String h : List.of("a", "b", "c")) {
            Files.createDirectories(dir.resolve(h));
        }
    }

    @AfterEach
    void tearDown() {
        store.close();
    }

    Dag create(String playbook) throws Exception {
        var pb = PlaybookLoader.load(YamlSource.of("pb.yaml", playbook), inv);
        Dag planned = Planner.plan(inv, pb, PlanOptions.defaults()).dag();
        return new DagControl(store).create(planned, "127.0.0.1", 2886);
    }

    Executor executor() {
        Map<String, Server> servers = new LinkedHashMap<>();
        inv.servers().forEach(s -> servers.put(s.name(), s));
        return new Executor(store, new LocalTransport(Duration.ofSeconds(1)), servers, new RunListener() {
            @Override
            public void subTaskFinished(Node node, SubTask task, Outcome outcome) {
                events.add(task.data().server() + " " + outcome);
            }
        });
    }

    static SubTask task(Dag d, int stage, String home) {
        return d.nodes().get(stage - 1).subTasks().stream().filter(t -> t.data().script().contains(home)).findFirst().orElseThrow();
    }

    @Test
    void runsEveryStageAndRecordsStatesTimesAndLogs() throws Exception {
        Dag dag = create("""
                name: two steps
                targets: { all: true }
                steps:
                  - shell: "echo hello from {{home_path}}; echo to stderr >&2"
                  - shell: "touch {{home_path}}/done"
                """);
        assertEquals(State.READY, store.dag(dag.dagId()).orElseThrow().state());
        Dag end = executor().run(dag.dagId(), RunOptions.defaults());
        assertEquals(State.SUCCEED, end.state());
        assertEquals(2, end.stage());
        assertTrue(end.endTime().isAfter(end.startTime()) || end.endTime().equals(end.startTime()));
        for (Node n : end.nodes()) {
            assertEquals(State.SUCCEED, n.state());
            for (SubTask t : n.subTasks()) {
                assertEquals(State.SUCCEED, t.state());
                assertEquals(1, t.executeTimes());
                assertTrue(t.endTime().compareTo(t.startTime()) >= 0);
            }
        }
        SubTask first = task(end, 1, dir + "/a");
        assertTrue(first.taskLogs().contains("hello from " + dir + "/a"), first.taskLogs().toString());
        assertTrue(first.taskLogs().contains("to stderr"), first.taskLogs().toString());
        for (String h : List.of("a", "b", "c")) {
            assertTrue(Files.exists(dir.resolve(h).resolve("done")));
        }
        assertTrue(store.owner(dag.dagId()).isEmpty(), "owner released");
    }

    @Test
    void aFailureStopsTheDagAndLaterStagesDoNotRun() throws Exception {
        Dag dag = create("""
                name: fail fast
                targets: { all: true }
                steps:
                  - shell: "test -e {{home_path}}/ready"
                  - shell: "touch {{home_path}}/second"
                """);
        Files.createFile(dir.resolve("a/ready"));
        Files.createFile(dir.resolve("c/ready"));
        Dag end = executor().run(dag.dagId(), RunOptions.defaults());
        assertEquals(State.FAILED, end.state());
        assertEquals(1, end.stage());
        assertEquals(State.FAILED, end.nodes().get(0).state());
        assertEquals(State.PENDING, end.nodes().get(1).state());
        SubTask b = task(end, 1, dir + "/b");
        assertEquals(State.FAILED, b.state());
        assertTrue(b.taskLogs().get(b.taskLogs().size() - 1).startsWith("FAILED: the command exited with status 1 (exit status 1 after "),
                b.taskLogs().toString());
        assertTrue(Files.notExists(dir.resolve("a/second")), "stage 2 must not run");

        // retry re-runs only what failed or never ran
        Files.createFile(dir.resolve("b/ready"));
        Dag retried = new DagControl(store).retry(dag.dagId());
        assertEquals(State.READY, retried.state());
        assertEquals(Operator.RUN, retried.operator());
        assertEquals(Operator.RETRY, retried.nodes().get(0).operator());
        Dag again = executor().run(dag.dagId(), RunOptions.defaults());
        assertEquals(State.SUCCEED, again.state());
        assertEquals(1, task(again, 1, dir + "/a").executeTimes(), "a succeeded the first time and is not run again");
        assertEquals(2, task(again, 1, dir + "/b").executeTimes());
        assertEquals(1, task(again, 2, dir + "/b").executeTimes());
        assertTrue(Files.exists(dir.resolve("c/second")));
    }

    @Test
    void maxFailPercentageLetsOthersGoOnAndFailedServersStop() throws Exception {
        Dag dag = create("""
                name: tolerate
                targets: { all: true }
                max_fail_percentage: 50
                steps:
                  - shell: "test -e {{home_path}}/ready"
                  - shell: "touch {{home_path}}/second"
                """);
        Files.createFile(dir.resolve("a/ready"));
        Files.createFile(dir.resolve("c/ready"));
        Dag end = executor().run(dag.dagId(), RunOptions.defaults());
        assertEquals(State.FAILED, end.state(), "a host failed, so the DAG is not a success");
        assertEquals(2, end.stage(), "but stage 2 ran: 1 of 3 failed is within 50%");
        assertTrue(Files.exists(dir.resolve("a/second")));
        assertTrue(Files.notExists(dir.resolve("b/second")), "b failed in stage 1: not run in stage 2");
        SubTask b2 = task(end, 2, dir + "/b");
        assertEquals(State.PENDING, b2.state());
        assertTrue(b2.taskLogs().get(0).startsWith("not run: "), b2.taskLogs().toString());
        assertTrue(events.contains("127.0.0.1:40002 NOT_RUN"), events.toString());
    }

    @Test
    void timeoutEndsTheScriptAndFailsTheSubTask() throws Exception {
        Dag dag = create("""
                name: slow
                targets: { servers: ["127.0.0.1:40001"] }
                steps:
                  - shell: "sleep 30"
                    timeout: 1s
                """);
        long t0 = System.nanoTime();
        Dag end = executor().run(dag.dagId(), RunOptions.defaults());
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 15);
        SubTask t = end.nodes().get(0).subTasks().get(0);
        assertEquals(State.FAILED, t.state());
        assertEquals("FAILED: timed out after 1s; the script and its processes were ended",
                t.taskLogs().get(t.taskLogs().size() - 1), "proved by the kill script's scan: " + t.taskLogs());
    }

    @Test
    void skippedHostsShowAsPassedWithTheReason() throws Exception {
        Dag dag = create("name: s\ntargets: { all: true }\nsteps:\n  - shell: \"touch {{home_path}}/x\"\n");
        Dag end = executor().run(dag.dagId(), new RunOptions(Set.of("127.0.0.1:40002"), "host is gone", 0));
        assertEquals(State.SUCCEED, end.state());
        SubTask b = task(end, 1, dir + "/b");
        assertEquals(Operator.PASS, b.operator());
        assertEquals(List.of("skipped: host is gone"), b.taskLogs());
        assertTrue(Files.notExists(dir.resolve("b/x")));
        assertTrue(Files.exists(dir.resolve("a/x")));
    }

    @Test
    void cancelEndsRunningScriptsAndRecordsCancel() throws Exception {
        Dag dag = create("name: c\ntargets: { all: true }\nsteps:\n  - shell: \"sleep 60\"\n  - shell: \"touch {{home_path}}/never\"\n");
        Executor ex = executor();
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            ex.cancel();
        });
        t.start();
        long t0 = System.nanoTime();
        Dag end = ex.run(dag.dagId(), RunOptions.defaults());
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 20);
        assertEquals(State.FAILED, end.state());
        assertEquals(Operator.CANCEL, end.operator());
        for (SubTask s : end.nodes().get(0).subTasks()) {
            assertEquals(State.FAILED, s.state());
            assertEquals(Operator.CANCEL, s.operator());
            assertEquals("FAILED: cancelled; the script and its processes were ended",
                    s.taskLogs().get(s.taskLogs().size() - 1), s.taskLogs().toString());
        }
        assertTrue(Files.notExists(dir.resolve("a/never")));
        assertEquals(State.PENDING, end.nodes().get(1).state());
    }

    @Test
    void maintenanceLockAndPass() throws Exception {
        // z1 of the two zones: no majority is left running (allowed here, as the test is about the lock)
        String stop = "name: s\ntargets: { zones: [z1] }\nallow_majority_loss: true\nsteps:\n  - kill: { kill_wait: 1s }\n";
        Dag first = create(stop);
        UnderMaintenanceException e = assertThrows(UnderMaintenanceException.class, () -> create(stop));
        assertEquals(first.id(), e.holder().id());
        // make it fail: a pid file naming a live process outside the homes would be refused; simplest: a garbage pid file
        Files.createDirectories(dir.resolve("a/run"));
        Files.writeString(dir.resolve("a/run/observer.pid"), "not a pid\n");
        Dag end = executor().run(first.dagId(), RunOptions.defaults());
        assertEquals(State.FAILED, end.state());
        List<String> logs = task(end, 1, dir + "/a").taskLogs();
        String last = logs.get(logs.size() - 1);
        assertTrue(last.startsWith("FAILED: pid file ") && last.contains("observer.pid does not hold a pid") && last.contains("(exit status 1 after "),
                logs.toString());
        assertThrows(UnderMaintenanceException.class, () -> create(stop), "a FAILED DAG still holds the lock");
        DagControl control = new DagControl(store);
        Dag passed = control.pass(first.dagId());
        assertEquals(State.SUCCEED, passed.state());
        assertEquals(Operator.PASS, passed.operator());
        Dag second = create(stop);
        assertTrue(second.dagId() > first.dagId());
        Refused r = assertThrows(Refused.class, () -> control.retry(second.dagId()));
        assertEquals(Refusal.RETRY_NOT_FAILED, r.refusal());
        assertEquals(Refusal.ROLLBACK_NOT_SUPPORTED, assertThrows(Refused.class, () -> {
            control.cancel(second.dagId());
            control.rollback(second.dagId());
        }).refusal());
    }

    /**
     * The start of a run is a transition too: a DAG cancelled (or passed) between its creation and its start is not
     * run; and a CANCEL another process records while it runs survives the executor's own writes.
     */
    @Test
    void aDagCancelledBeforeItStartsIsNotRunAndACancelRecordedElsewhereIsKept() throws Exception {
        Dag dag = create("name: c\ntargets: { all: true }\nsteps:\n  - shell: \"touch {{home_path}}/ran\"\n");
        Dag cancelled = new DagControl(store).cancel(dag.dagId());
        assertEquals(State.FAILED, cancelled.state(), "a READY DAG no process runs yet is cancelled at once");
        Dag end = executor().run(dag.dagId(), RunOptions.defaults());
        assertEquals(State.FAILED, end.state());
        assertEquals(Operator.CANCEL, end.operator());
        for (String h : List.of("a", "b", "c")) {
            assertTrue(Files.notExists(dir.resolve(h).resolve("ran")), "nothing ran on " + h);
        }
        assertEquals(List.of(), events);

        // CANCEL recorded by "another process" (another DagControl on the store) while stage 1 runs: stage 2 never starts
        Dag two = create("name: d\ntargets: { servers: [\"127.0.0.1:40001\"] }\nsteps:\n"
                + "  - shell: \"touch {{home_path}}/one; sleep 2\"\n  - shell: \"touch {{home_path}}/two\"\n");
        Thread other = new Thread(() -> {
            try {
                for (int i = 0; i < 100 && Files.notExists(dir.resolve("a/one")); i++) {
                    Thread.sleep(50);
                }
                new DagControl(store, "1@elsewhere").cancel(two.dagId());
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        other.start();
        Dag ended = executor().run(two.dagId(), RunOptions.defaults());
        other.join();
        assertEquals(State.FAILED, ended.state());
        assertEquals(Operator.CANCEL, ended.operator(), "the executor's writes kept the CANCEL");
        assertTrue(Files.notExists(dir.resolve("a/two")), "the next stage did not start");
        assertTrue(store.owner(two.dagId()).isEmpty());
    }
}
