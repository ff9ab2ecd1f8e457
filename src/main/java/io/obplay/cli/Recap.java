package io.obplay.cli;

import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.Printable;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The recap after a run: a table of servers by stage, a line per failure, and the exit code it means. */
final class Recap {
    private Recap() {
    }

    /** A sub-task's state in one word, as the recap shows it. */
    static String word(SubTask t) {
        if (t.state() == State.SUCCEED) {
            return t.operator() == Operator.PASS ? "skipped" : "ok";
        }
        if (t.state() == State.FAILED) {
            if (t.operator() == Operator.CANCEL) {
                return "CANCELLED";
            }
            return t.taskLogs().stream().anyMatch(l -> l.startsWith("FAILED: unreachable") || l.startsWith("FAILED: host "))
                    ? "UNREACHABLE" : "FAILED";
        }
        if (t.state() == State.PENDING) {
            return t.taskLogs().isEmpty() ? "-" : "not run";
        }
        return t.state().name().toLowerCase();
    }

    static String render(Dag dag) {
        return render(dag, Printable.terminal());
    }

    /** The recap with every value as {@code p} shows it (control, bidi and unshowable characters escaped). */
    static String render(Dag dag, Printable p) {
        Map<String, Map<Integer, String>> rows = new LinkedHashMap<>();
        List<Node> nodes = dag.nodes();
        for (int i = 0; i < nodes.size(); i++) {
            for (SubTask t : nodes.get(i).subTasks()) {
                String server = p.line(t.data() == null ? t.name() : t.data().server());
                rows.computeIfAbsent(server, k -> new LinkedHashMap<>()).put(i + 1, word(t));
            }
        }
        int width = Math.max(6, rows.keySet().stream().mapToInt(String::length).max().orElse(6));
        StringBuilder b = new StringBuilder("\nRecap of DAG ").append(p.line(dag.id())).append(" \"").append(p.line(dag.name())).append("\": ")
                .append(dag.state()).append("\n");
        for (int i = 0; i < nodes.size(); i++) {
            b.append("  S").append(i + 1).append(" = ").append(p.line(nodes.get(i).name())).append("  (").append(nodes.get(i).state()).append(")\n");
        }
        b.append(String.format("  %-" + width + "s", "server"));
        for (int i = 0; i < nodes.size(); i++) {
            b.append(String.format("  %-11s", "S" + (i + 1)));
        }
        b.append('\n');
        rows.forEach((server, cols) -> {
            b.append(String.format("  %-" + width + "s", server));
            for (int i = 0; i < nodes.size(); i++) {
                b.append(String.format("  %-11s", cols.getOrDefault(i + 1, "")));
            }
            b.append('\n');
        });
        for (Node n : nodes) {
            for (SubTask t : n.subTasks()) {
                String w = word(t);
                if (w.equals("FAILED") || w.equals("UNREACHABLE") || w.equals("CANCELLED")) {
                    b.append("  ").append(w).append(" ").append(p.line(t.data() == null ? t.name() : t.data().server())).append(" in \"")
                            .append(p.line(n.name())).append("\": ")
                            .append(t.taskLogs().isEmpty() ? "" : p.line(t.taskLogs().get(t.taskLogs().size() - 1))).append('\n');
                }
            }
        }
        return b.toString();
    }

    /**
     * 0 all succeeded; 2 some failed; 4 some unreachable (and none failed otherwise); 130 cancelled. The DAG as
     * recorded decides: a DAG that SUCCEEDed is 0 even when a cancel came after its last sub-task (a Ctrl-C at the
     * very end, or a lease renewal that found the finished DAG released).
     */
    static int exitCode(Dag dag, boolean cancelled) {
        if (dag.state() == State.SUCCEED) {
            return ExitCodes.OK;
        }
        if (cancelled) {
            return ExitCodes.INTERRUPTED;
        }
        boolean failed = false;
        boolean unreachable = false;
        for (Node n : dag.nodes()) {
            for (SubTask t : n.subTasks()) {
                String w = word(t);
                failed |= w.equals("FAILED") || w.equals("CANCELLED");
                unreachable |= w.equals("UNREACHABLE");
            }
        }
        if (dag.operator() == Operator.CANCEL) {
            return ExitCodes.INTERRUPTED;
        }
        return failed || !unreachable ? ExitCodes.HOSTS_FAILED : ExitCodes.UNREACHABLE;
    }
}
