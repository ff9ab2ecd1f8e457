package io.obplay.store.sqlite;

import io.obplay.plan.Dag;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.store.UnderMaintenanceException;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

/**
 * The second process of the multi-process tests, run as {@code java -cp <test classpath> ...StoreChild}.
 *
 * <ul>
 *   <li>{@code race <stateDir>}: reads lines {@code <key> <startAtEpochMillis>} from stdin; for each, waits until
 *       that instant and inserts an exclusive maintenance DAG for the key; prints {@code won <key> <dagId>} or
 *       {@code lost <key> <holderDagId>}; ends at {@code end} or end of input.</li>
 *   <li>{@code write <stateDir>}: forever inserts DAGs of {@link #NODES} x {@link #TASKS} sub-tasks with
 *       {@link #FIRST_LOGS} lines each, then moves each sub-task to SUCCEED with {@link #MORE_LOGS} more lines in
 *       one update, printing {@code dag <id>} after each insert.</li>
 * </ul>
 */
public final class StoreChild {
    static final int NODES = 3;
    static final int TASKS = 3;
    static final int FIRST_LOGS = 2;
    static final int MORE_LOGS = 5;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        try (SqliteStore store = SqliteStore.open(dir)) {
            System.out.println("ready");
            System.out.flush();
            switch (args[0]) {
                case "race" -> race(store);
                case "write" -> write(store);
                default -> throw new IllegalArgumentException(args[0]);
            }
        }
    }

    private static void race(SqliteStore store) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null && !line.equals("end"); ) {
            String[] p = line.split(" ");
            String key = p[0];
            long at = Long.parseLong(p[1]);
            while (System.currentTimeMillis() < at) {
                Thread.onSpinWait();
            }
            try {
                Dag d = store.insert(Fixtures.maintenance("child " + key, key), Fixtures.AGENT, true);
                System.out.println("won " + key + " " + d.dagId());
            } catch (UnderMaintenanceException e) {
                System.out.println("lost " + key + " " + e.holder().dagId());
            }
            System.out.flush();
        }
    }

    private static void write(SqliteStore store) throws Exception {
        for (int i = 0; ; i++) {
            Dag d = store.insert(Fixtures.planned("writer " + i, Dag.MAINTENANCE_NONE, null, NODES, TASKS, FIRST_LOGS),
                    Fixtures.AGENT, false);
            System.out.println("dag " + d.dagId());
            System.out.flush();
            for (var n : d.nodes()) {
                for (SubTask t : n.subTasks()) {
                    List<String> more = new ArrayList<>();
                    for (int l = 1; l <= MORE_LOGS; l++) {
                        more.add("more " + l);
                    }
                    OffsetDateTime now = OffsetDateTime.now();
                    store.updateSubTask(t.withState(State.SUCCEED, Operator.RUN, now, now, 1, List.of()), more);
                }
            }
        }
    }
}
