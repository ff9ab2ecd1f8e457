package io.obplay.store.sqlite;

import io.obplay.plan.Dag;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConcurrencyTest {
    @TempDir
    Path tmp;

    /**
     * 64 threads write at once through one store, so that writes share group commits; every fourth one names a
     * sub-task that does not exist. Each failing write fails alone with its own error, and every other write
     * lands whole, whatever group it was committed with.
     */
    @Test
    @Timeout(120)
    void aFailingWriteInAGroupCommitFailsAloneAndTheOthersLand() throws Exception {
        int threads = 64;
        try (SqliteStore s = SqliteStore.open(tmp)) {
            Dag d = s.insert(Fixtures.planned("group", Dag.MAINTENANCE_NONE, null, 1, threads, 0), Fixtures.AGENT, false);
            List<SubTask> tasks = d.nodes().get(0).subTasks();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<String>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                SubTask task = tasks.get(t);
                boolean bad = t % 4 == 3;
                results.add(pool.submit(() -> {
                    start.await();
                    for (int round = 0; round < 20; round++) {
                        try {
                            s.appendLogs(bad ? 999_999L : task.taskId(), List.of("line " + round));
                            if (bad) {
                                return "a write to no sub-task succeeded";
                            }
                        } catch (java.util.NoSuchElementException e) {
                            if (!bad) {
                                return "a good write failed: " + e;
                            }
                        }
                        s.updateSubTask(task.withState(State.RUNNING, Operator.RUN, Times.UNSET, Times.UNSET, round + 1,
                                List.of()), List.of());
                    }
                    return "ok";
                }));
            }
            start.countDown();
            for (Future<String> f : results) {
                assertEquals("ok", f.get(60, TimeUnit.SECONDS));
            }
            pool.shutdown();
            long commits = s.groupCommits();
            assertTrue(commits < threads * 40L, "writes shared commits: " + commits + " commits of " + threads * 40 + " writes");
            Dag back = s.dag(d.dagId()).orElseThrow();
            for (int t = 0; t < threads; t++) {
                SubTask task = back.nodes().get(0).subTasks().get(t);
                assertEquals(State.RUNNING, task.state());
                assertEquals(20, task.executeTimes());
                int expected = t % 4 == 3 ? 0 : 20;
                assertEquals(expected, task.taskLogs().size(), "logs of sub-task " + t);
            }
        }
    }

    /**
     * Eight threads, on two store instances (two connections) of one file, append batches of lines to the same
     * sub-task, half through appendLogs and half through updateSubTask; a reader thread reads the DAG all along.
     * Every batch must land whole and contiguous, each thread's batches in its order, nothing lost.
     */
    @Test
    @Timeout(120)
    void logsFromManyThreadsLandWholeAndInOrder() throws Exception {
        int threads = 8;
        int batches = 60;
        try (SqliteStore a = SqliteStore.open(tmp); SqliteStore b = SqliteStore.open(tmp)) {
            Dag d = a.insert(Fixtures.planned("logs", Dag.MAINTENANCE_NONE, null, 1, 1, 0), Fixtures.AGENT, false);
            SubTask task = d.nodes().get(0).subTasks().get(0);
            ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
            CountDownLatch start = new CountDownLatch(1);
            AtomicBoolean writing = new AtomicBoolean(true);
            List<Future<?>> writers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                SqliteStore s = t % 2 == 0 ? a : b;
                writers.add(pool.submit(() -> {
                    start.await();
                    for (int bn = 0; bn < batches; bn++) {
                        List<String> lines = new ArrayList<>();
                        int size = 1 + (id + bn) % 4;
                        for (int l = 0; l < size; l++) {
                            lines.add("T" + id + " B" + bn + " L" + l + "/" + size + " ✓");
                        }
                        if (id < threads / 2) {
                            s.appendLogs(task.taskId(), lines);
                        } else {
                            s.updateSubTask(task.withState(State.RUNNING, Operator.RUN, Times.UNSET, Times.UNSET, bn,
                                    List.of()), lines);
                        }
                    }
                    return null;
                }));
            }
            Future<Integer> reader = pool.submit(() -> {
                start.await();
                int reads = 0;
                while (writing.get()) {
                    List<String> logs = b.dag(d.dagId()).orElseThrow().nodes().get(0).subTasks().get(0).taskLogs();
                    assertBatchesWhole(logs);
                    reads++;
                }
                return reads;
            });
            long t0 = System.nanoTime();
            start.countDown();
            for (Future<?> w : writers) {
                w.get(100, TimeUnit.SECONDS);
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            writing.set(false);
            int reads = reader.get(30, TimeUnit.SECONDS);
            pool.shutdown();

            List<String> logs = a.subTask(task.taskId()).orElseThrow().taskLogs();
            int expected = 0;
            for (int t = 0; t < threads; t++) {
                for (int bn = 0; bn < batches; bn++) {
                    expected += 1 + (t + bn) % 4;
                }
            }
            assertEquals(expected, logs.size(), "no line lost or doubled");
            assertBatchesWhole(logs);
            Map<Integer, Integer> lastBatch = new HashMap<>();
            for (String line : logs) {
                int t = Integer.parseInt(line.substring(1, line.indexOf(' ')));
                int bn = Integer.parseInt(line.substring(line.indexOf('B') + 1, line.indexOf(" L")));
                int prev = lastBatch.getOrDefault(t, -1);
                assertTrue(bn == prev || bn == prev + 1, "thread " + t + " batch " + bn + " after " + prev);
                lastBatch.put(t, bn);
            }
            assertEquals(threads, lastBatch.size());
            lastBatch.values().forEach(last -> assertEquals(batches - 1, last));
            assertTrue(reads > 0);
            System.out.println("logs: " + threads * batches + " commits from " + threads + " threads in " + ms
                    + " ms with synchronous=FULL; " + reads + " concurrent whole-DAG reads");

            // sequence numbers are dense and start at 1
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + a.file());
                 Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT MIN(seq), MAX(seq), COUNT(*) FROM task_logs WHERE task_id = "
                         + task.taskId())) {
                rs.next();
                assertEquals(1, rs.getInt(1));
                assertEquals(expected, rs.getInt(2));
                assertEquals(expected, rs.getInt(3));
            }
        }
    }

    /** Each batch's lines L0..L(size-1) appear together and in order. */
    private static void assertBatchesWhole(List<String> logs) {
        for (int i = 0; i < logs.size(); ) {
            String first = logs.get(i);
            String head = first.substring(0, first.indexOf(" L"));
            int size = Integer.parseInt(first.substring(first.indexOf('/') + 1, first.indexOf(" ✓")));
            for (int l = 0; l < size; l++) {
                assertTrue(i + l < logs.size(), "batch " + head + " cut short");
                assertEquals(head + " L" + l + "/" + size + " ✓", logs.get(i + l));
            }
            i += size;
        }
    }

    /**
     * A second process inserts DAGs and updates sub-tasks in a loop and is killed (SIGKILL) mid-stream, three
     * times over the same file. The file must open, pass SQLite's integrity check, and every DAG must read
     * back whole: all nodes, all sub-tasks, and each sub-task either untouched or updated with all its lines.
     */
    @Test
    @Timeout(180)
    void aProcessKilledWhileWritingLeavesEveryDagWhole() throws Exception {
        Set<Long> reported = new HashSet<>();
        Path childErr = tmp.resolve("child.err");
        for (int round = 0; round < 3; round++) {
            Process child = ChildProcess.start("write", tmp, childErr);
            try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                assertEquals("ready", out.readLine(), () -> ChildProcess.err(childErr));
                int seen = 0;
                for (String line; seen < 10 + 7 * round && (line = out.readLine()) != null; ) {
                    reported.add(Long.parseLong(line.substring("dag ".length())));
                    seen++;
                }
                assertTrue(child.isAlive(), () -> "the writer stopped by itself: " + ChildProcess.err(childErr));
                child.destroyForcibly(); // SIGKILL, while it writes (it never pauses)
                assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            } finally {
                child.destroyForcibly();
            }
        }

        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + tmp.resolve(SqliteStore.FILE_NAME));
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA integrity_check")) {
            rs.next();
            assertEquals("ok", rs.getString(1));
        }
        try (SqliteStore store = SqliteStore.open(tmp)) {
            List<Dag> all = store.dags(100_000);
            Set<Long> stored = new HashSet<>();
            int updated = 0;
            int untouched = 0;
            for (Dag head : all) {
                stored.add(head.dagId());
                Dag d = store.dag(head.dagId()).orElseThrow();
                assertEquals(StoreChild.NODES, d.nodes().size(), "DAG " + d.dagId() + " nodes");
                assertEquals(StoreChild.NODES, d.maxStage());
                for (var n : d.nodes()) {
                    assertEquals(StoreChild.TASKS, n.subTasks().size(), "DAG " + d.dagId() + " node " + n.nodeId());
                    for (SubTask t : n.subTasks()) {
                        assertNotNull(t.additionalData());
                        assertEquals(9, t.additionalData().size());
                        List<String> logs = t.taskLogs();
                        assertTrue(logs.get(0).endsWith("line 1") && logs.get(1).endsWith("line 2"), logs::toString);
                        if (t.state() == State.READY) {
                            assertEquals(StoreChild.FIRST_LOGS, logs.size());
                            assertEquals(0, t.executeTimes());
                            untouched++;
                        } else {
                            assertEquals(State.SUCCEED, t.state());
                            assertEquals(1, t.executeTimes());
                            assertEquals(List.of("more 1", "more 2", "more 3", "more 4", "more 5"),
                                    logs.subList(StoreChild.FIRST_LOGS, logs.size()));
                            updated++;
                        }
                    }
                }
            }
            assertTrue(stored.containsAll(reported), "every DAG the writer reported is stored");
            assertTrue(all.size() >= 10 + 17 + 24, "the writer wrote DAGs: " + all.size());
            assertTrue(updated > 0);
            List<Long> ids = all.stream().map(Dag::dagId).sorted().toList();
            for (int i = 0; i < ids.size(); i++) {
                assertEquals(i + 1L, ids.get(i), "no gap in dag ids: a killed insert left nothing behind");
            }
            // and the file still takes writes
            Dag next = store.insert(Fixtures.planned("after", 1, null, 1, 1, 1), Fixtures.AGENT, false);
            assertEquals(ids.size() + 1L, next.dagId());
            System.out.println("kill test: " + all.size() + " DAGs, " + updated + " sub-tasks updated, "
                    + untouched + " untouched at the kill");
            assertFalse(all.isEmpty());
        }
    }
}
