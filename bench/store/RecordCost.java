// What one sub-task record costs in a store: a DAG of N sub-tasks is stored, then each sub-task is recorded as a run
// records it (RUNNING with its first log line, then SUCCEED with two more), from T threads at once, as the executor's
// workers do. Prints one line: store, N, T, wall seconds, records per second and microseconds per record.
//
//   java -cp target/obplay.jar bench/store/RecordCost.java sqlite:/tmp/x.db 2000 50
//   OBPLAY_STORE_PASSWORD=... java -cp target/obplay.jar bench/store/RecordCost.java \
//       'jdbc:mariadb://127.0.0.1:3306/obplay?user=obplay' 2000 50 [claimed]
//
// "claimed" records each sub-task through a claim and writes fenced by it (Store.claim, Store.updateClaimed), as
// instances sharing a store do; otherwise through Store.updateSubTask, as one instance on SQLite does.
import io.obplay.plan.Dag;
import io.obplay.plan.ExecuteAgent;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;
import io.obplay.store.Change;
import io.obplay.store.IdScheme;
import io.obplay.store.Store;
import io.obplay.store.mysql.MysqlStore;
import io.obplay.store.mysql.StoreUrl;
import io.obplay.store.sqlite.SqliteStore;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

public class RecordCost {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        int n = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        boolean claimed = args.length > 3 && args[3].equals("claimed");
        Store store;
        if (url.startsWith("sqlite:")) {
            store = SqliteStore.openFile(Path.of(url.substring("sqlite:".length())));
        } else {
            StoreUrl u = StoreUrl.parse(url, System.getenv());
            store = MysqlStore.open(u.driverUrl(), u.user(), u.password(), u.shown());
        }
        try (store) {
            List<SubTask> tasks = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Map<String, Object> data = new LinkedHashMap<>();
                data.put("server", "10.0." + (i / 250) + "." + (i % 250) + ":2886");
                data.put("step", "stop");
                data.put("script", "#!/bin/sh\n# a script of a typical length\n" + "x".repeat(2000) + "\n");
                tasks.add(new SubTask(null, 0, "stop " + i, State.PENDING, Operator.RUN, Times.UNSET, Times.UNSET, data, 0,
                        new ExecuteAgent("10.0.0.1", 2886), List.of()));
            }
            Node node = new Node(null, 0, "stop", State.PENDING, Operator.RUN, Times.UNSET, Times.UNSET, null, tasks);
            Dag planned = new Dag(null, 0, "record cost", 1, 1, Dag.MAINTENANCE_NONE, null, State.READY, Operator.RUN,
                    Times.now(), Times.now(), Map.of(), List.of(node));
            Dag dag = store.insert(planned, new IdScheme('2', "127.0.0.1", 2886), false, "bench@here");
            String me = "bench@here";
            store.transition(dag.dagId(), (d, owner) -> {
                Node x = d.nodes().get(0);
                return Change.none().withDag(d.withState(1, State.RUNNING, Operator.RUN, d.startTime(), d.endTime()))
                        .withNode(x.withState(State.RUNNING, Operator.RUN, Times.now(), Times.UNSET));
            });
            List<SubTask> stored = dag.nodes().get(0).subTasks();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            long t0 = System.nanoTime();
            List<Future<?>> fs = new ArrayList<>();
            if (claimed) {
                for (int w = 0; w < threads; w++) {
                    fs.add(pool.submit(() -> {
                        while (true) {
                            List<SubTask> got = store.claim(node(dag), me, 1);
                            if (got.isEmpty()) {
                                return null;
                            }
                            record(store, got.get(0), me, true);
                        }
                    }));
                }
            } else {
                for (SubTask t : stored) {
                    fs.add(pool.submit(() -> {
                        record(store, t, me, false);
                        return null;
                    }));
                }
            }
            for (Future<?> f : fs) {
                f.get();
            }
            double s = (System.nanoTime() - t0) / 1e9;
            pool.shutdown();
            long done = store.node(node(dag)).orElseThrow().subTasks().stream().filter(t -> t.state() == State.SUCCEED).count();
            if (done != n) {
                throw new IllegalStateException(done + " of " + n + " recorded SUCCEED");
            }
            System.out.printf("%s\t%s\t%d\t%d\t%.3f\t%.0f\t%.0f%n", url.startsWith("sqlite:") ? "sqlite" : "mysql",
                    claimed ? "claimed" : "plain", n, threads, s, n / s, s * 1e6 / n);
        }
    }

    private static long node(Dag dag) {
        return dag.nodes().get(0).nodeId();
    }

    private static void record(Store store, SubTask t, String me, boolean claimed) {
        SubTask running = t.withState(State.RUNNING, Operator.RUN, Times.now(), Times.UNSET, 1, List.of()).withRanBy(me);
        List<String> first = List.of("run stop on host (attempt 1, timeout 60s) by obplay " + me);
        SubTask done = running.withState(State.SUCCEED, Operator.RUN, running.startTime(), Times.now(), 1, List.of());
        List<String> last = List.of("obplay: stopped", "done in 0.01s");
        if (claimed) {
            store.updateClaimed(running, first, me);
            store.updateClaimed(done, last, me);
        } else {
            store.updateSubTask(running, first);
            store.updateSubTask(done, last);
        }
    }
}
