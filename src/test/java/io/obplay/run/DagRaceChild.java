package io.obplay.run;

import io.obplay.plan.Dag;
import io.obplay.store.Refused;
import io.obplay.store.sqlite.SqliteStore;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The other processes of {@link DagRaceTest}, run as {@code java -cp <test classpath> ...DagRaceChild <stateDir>}:
 * prints {@code ready <pid>}, then reads lines {@code <retry|reconcile|pass|cancel> <dagId> <startAtEpochMillis>};
 * for each, waits until that instant, applies the operator through {@link DagControl} and prints
 * {@code won <dagId> <state>} or {@code refused <dagId> <REFUSAL> <message>}; ends at {@code end}. It stays alive
 * until then, so a DAG it retried stays owned by a live process.
 */
public final class DagRaceChild {
    public static void main(String[] args) throws Exception {
        try (SqliteStore store = SqliteStore.open(Path.of(args[0]))) {
            DagControl control = new DagControl(store);
            System.out.println("ready " + ProcessHandle.current().pid());
            System.out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null && !line.equals("end"); ) {
                String[] p = line.split(" ");
                long dagId = Long.parseLong(p[1]);
                long at = Long.parseLong(p[2]);
                while (System.currentTimeMillis() < at) {
                    Thread.onSpinWait();
                }
                try {
                    Dag d = switch (p[0]) {
                        case "retry" -> control.retry(dagId);
                        case "pass" -> control.pass(dagId);
                        case "cancel" -> control.cancel(dagId);
                        case "reconcile" -> control.reconcile(dagId).orElseThrow();
                        default -> throw new IllegalArgumentException(p[0]);
                    };
                    System.out.println("won " + dagId + " " + d.state());
                } catch (Refused r) {
                    System.out.println("refused " + dagId + " " + r.refusal() + " " + r.getMessage());
                }
                System.out.flush();
            }
        }
    }
}
