package io.obplay.run;

import io.obplay.plan.Dag;
import io.obplay.plan.ExecuteAgent;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;
import io.obplay.store.IdScheme;
import io.obplay.store.sqlite.SqliteStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two obplay processes operating on one DAG at once: each change is one transaction; the second decides on the first's. */
class DagRaceTest {
    static final IdScheme AGENT = new IdScheme('2', "127.0.0.1", 2886);
    static final String LOST = "stopped while this ran; its outcome is unknown";

    @TempDir
    Path tmp;

    /** What a killed obplay leaves: stage 1 SUCCEED; stage 2 RUNNING, two of its three sub-tasks RUNNING; stage 3 PENDING. */
    static Dag crashed(String name) {
        OffsetDateTime t = OffsetDateTime.now();
        List<Node> nodes = new ArrayList<>();
        for (int n = 1; n <= 3; n++) {
            List<SubTask> tasks = new ArrayList<>();
            for (int k = 1; k <= 3; k++) {
                State s = n == 1 ? State.SUCCEED : n == 2 && k < 3 ? State.RUNNING : n == 2 ? State.SUCCEED : State.PENDING;
                Map<String, Object> data = new LinkedHashMap<>();
                data.put("server", "10.0.0." + k + ":2886");
                data.put("host", "10.0.0." + k);
                data.put("step", "stop");
                data.put("script", "true\n");
                tasks.add(new SubTask(null, 0, "stage " + n + " host " + k, s, Operator.RUN, t, n == 3 ? Times.UNSET : t, data,
                        n == 3 ? 0 : 1, new ExecuteAgent("10.0.0." + k, 2886), List.of("line of " + n + "/" + k)));
            }
            State ns = n == 1 ? State.SUCCEED : n == 2 ? State.RUNNING : State.PENDING;
            nodes.add(new Node(null, 0, "stage " + n, ns, Operator.RUN, t, Times.UNSET, Map.of(), tasks));
        }
        return new Dag("", 0, name, 2, 3, Dag.MAINTENANCE_NONE, null, State.RUNNING, Operator.RUN, t, t, Map.of(), nodes);
    }

    /** {@code pid@host} of a process of this machine that has ended. */
    static String deadOwner() throws Exception {
        Process p = new ProcessBuilder("true").start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        String owner = p.pid() + "@" + Owner.hostname();
        assertTrue(!Owner.alive(owner));
        return owner;
    }

    record Child(Process process, PrintWriter in, BufferedReader out, long pid) {
        String ask(String line) throws Exception {
            in.println(line);
            in.flush();
            String answer = out.readLine();
            assertNotNull(answer, "the child ended");
            return answer;
        }
    }

    Child child(Path state, Path err) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), DagRaceChild.class.getName(), state.toString())
                .redirectError(ProcessBuilder.Redirect.appendTo(err.toFile())).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String ready = out.readLine();
        assertTrue(ready != null && ready.startsWith("ready "), () -> "child: " + ready + " " + read(err));
        return new Child(p, new PrintWriter(new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8)), out,
                Long.parseLong(ready.substring(6)));
    }

    static String read(Path f) {
        try {
            return Files.exists(f) ? Files.readString(f) : "";
        } catch (Exception e) {
            return e.toString();
        }
    }

    /**
     * Two JVMs, at the same instant, over many DAGs a killed obplay left RUNNING: both RETRY (exactly one wins, the
     * other is refused RETRY_NOT_FAILED), or one RETRYs while the other reconciles (the RETRY wins either way, the
     * death is recorded once). No row is lost or doubled, and every DAG ends READY, owned by its one winner.
     */
    @Test
    @Timeout(240)
    void twoProcessesRetryingAndReconcilingOneDagAtOnce() throws Exception {
        Path state = tmp.resolve("state");
        Path err = tmp.resolve("children.err");
        int rounds = 24;
        List<Long> ids = new ArrayList<>();
        String dead = deadOwner();
        try (SqliteStore store = SqliteStore.open(state)) {
            for (int r = 0; r < rounds; r++) {
                ids.add(store.insert(crashed("crashed " + r), AGENT, false, dead).dagId());
            }
        }
        long[] before = counts(state);
        Child a = child(state, err);
        Child b = child(state, err);
        Map<Long, Long> winner = new LinkedHashMap<>();
        int refusals = 0;
        try {
            for (int r = 0; r < rounds; r++) {
                long id = ids.get(r);
                long at = System.currentTimeMillis() + 200;
                boolean both = r % 2 == 0;
                Child retrier = r % 4 == 1 ? b : a;
                Child other = retrier == a ? b : a;
                String opOther = both ? "retry" : "reconcile";
                // send both before reading either, so both wait for the same instant
                retrier.in().println("retry " + id + " " + at);
                retrier.in().flush();
                other.in().println(opOther + " " + id + " " + at);
                other.in().flush();
                String x = retrier.out().readLine();
                String y = other.out().readLine();
                assertNotNull(x, () -> read(err));
                assertNotNull(y, () -> read(err));
                if (both) {
                    boolean xWon = x.startsWith("won ");
                    boolean yWon = y.startsWith("won ");
                    assertTrue(xWon ^ yWon, "exactly one RETRY wins: " + x + " / " + y);
                    String lost = xWon ? y : x;
                    assertTrue(lost.startsWith("refused " + id + " RETRY_NOT_FAILED DAG "), lost);
                    assertTrue(lost.contains("is READY") && lost.contains("only a FAILED DAG can be retried"), lost);
                    assertTrue((xWon ? x : y).equals("won " + id + " READY"), x + " / " + y);
                    winner.put(id, xWon ? retrier.pid() : other.pid());
                    refusals++;
                } else {
                    assertEquals("won " + id + " READY", x, "the RETRY wins whether the reconcile came first or not; other: " + y);
                    assertTrue(y.equals("won " + id + " READY") || y.equals("won " + id + " FAILED"), y);
                    winner.put(id, retrier.pid());
                }
            }
        } finally {
            for (Child c : List.of(a, b)) {
                c.in().println("end");
                c.in().flush();
            }
            for (Child c : List.of(a, b)) {
                if (!c.process().waitFor(30, TimeUnit.SECONDS)) {
                    c.process().destroyForcibly();
                }
            }
        }
        assertEquals(rounds / 2, refusals);

        long[] after = counts(state);
        assertEquals(before[0], after[0], "dags rows");
        assertEquals(before[1], after[1], "nodes rows");
        assertEquals(before[2], after[2], "sub_tasks rows");
        assertEquals(before[3] + 2L * rounds, after[3], "task_logs rows: one line per formerly running sub-task, never two");
        try (SqliteStore store = SqliteStore.open(state)) {
            for (long id : ids) {
                Dag d = store.dag(id).orElseThrow();
                assertEquals(State.READY, d.state(), "DAG " + id);
                assertEquals(Operator.RUN, d.operator());
                assertEquals(winner.get(id) + "@" + Owner.hostname(), store.owner(id).orElseThrow(), "owned by the one winner");
                assertEquals(State.SUCCEED, d.nodes().get(0).state());
                assertEquals(State.PENDING, d.nodes().get(1).state());
                assertEquals(Operator.RETRY, d.nodes().get(1).operator());
                assertEquals(State.PENDING, d.nodes().get(2).state());
                for (int k = 0; k < 3; k++) {
                    SubTask t = d.nodes().get(1).subTasks().get(k);
                    long lines = t.taskLogs().stream().filter(l -> l.contains(LOST)).count();
                    assertEquals(k < 2 ? 1 : 0, lines, "DAG " + id + " sub-task " + k + ": " + t.taskLogs());
                    assertEquals(k < 2 ? State.FAILED : State.SUCCEED, t.state());
                    assertTrue(t.taskLogs().get(t.taskLogs().size() - (k < 2 ? 1 : 0) - 1).startsWith("line of 2/"));
                }
            }
        }
    }

    /** Row counts of dags, nodes, sub_tasks, task_logs. */
    static long[] counts(Path state) throws Exception {
        long[] out = new long[4];
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + state.resolve(SqliteStore.FILE_NAME));
             Statement s = c.createStatement()) {
            String[] tables = {"dags", "nodes", "sub_tasks", "task_logs"};
            for (int i = 0; i < tables.length; i++) {
                try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + tables[i])) {
                    rs.next();
                    out[i] = rs.getLong(1);
                }
            }
        }
        return out;
    }
}
