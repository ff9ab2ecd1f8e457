package io.obplay.store;

import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.SubTask;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link Transition} writes to its DAG, in order: the DAG-level fields (stage, state, operator, times),
 * node-level fields, sub-task fields with log lines to append, and the owner. Writing a record saves its fields as
 * {@link Store#updateDag}, {@link Store#updateNode} and {@link Store#updateSubTask} do; a later write of the same
 * record wins, log lines add up. Immutable; each {@code with} method returns a new change.
 *
 * @param dag      DAG-level fields to save, or null to leave them
 * @param nodes    nodes whose fields to save (their sub-tasks are not written through them)
 * @param subTasks sub-tasks to save, each with the log lines to append
 * @param setOwner whether to write {@code owner}
 * @param owner    the new owner ({@code pid@hostname}), or null for none; written only when {@code setOwner}
 */
public record Change(Dag dag, List<Node> nodes, List<TaskWrite> subTasks, boolean setOwner, String owner) {

    /** A sub-task to save and the log lines to append to it. */
    public record TaskWrite(SubTask task, List<String> newLogs) {
        public TaskWrite {
            Objects.requireNonNull(task, "task");
            newLogs = newLogs == null ? List.of() : List.copyOf(newLogs);
        }
    }

    public Change {
        nodes = List.copyOf(nodes);
        subTasks = List.copyOf(subTasks);
        if (!setOwner && owner != null) {
            throw new IllegalArgumentException("an owner is given but not to be set");
        }
    }

    private static final Change NONE = new Change(null, List.of(), List.of(), false, null);

    /** Writes nothing. */
    public static Change none() {
        return NONE;
    }

    public boolean isEmpty() {
        return dag == null && nodes.isEmpty() && subTasks.isEmpty() && !setOwner;
    }

    public Change withDag(Dag d) {
        return new Change(Objects.requireNonNull(d, "dag"), nodes, subTasks, setOwner, owner);
    }

    public Change withNode(Node n) {
        List<Node> ns = new ArrayList<>(nodes);
        ns.add(Objects.requireNonNull(n, "node"));
        return new Change(dag, ns, subTasks, setOwner, owner);
    }

    public Change withSubTask(SubTask t, List<String> newLogs) {
        List<TaskWrite> ts = new ArrayList<>(subTasks);
        ts.add(new TaskWrite(t, newLogs));
        return new Change(dag, nodes, ts, setOwner, owner);
    }

    /** Sets the owner; null records that no process drives the DAG. */
    public Change withOwner(String o) {
        return new Change(dag, nodes, subTasks, true, o);
    }

    /** This change, then {@code next}: what both write, {@code next} winning where both write a record. */
    public Change then(Change next) {
        List<Node> ns = new ArrayList<>(nodes);
        ns.addAll(next.nodes);
        List<TaskWrite> ts = new ArrayList<>(subTasks);
        ts.addAll(next.subTasks);
        return new Change(next.dag != null ? next.dag : dag, ns, ts, setOwner || next.setOwner,
                next.setOwner ? next.owner : owner);
    }

    /**
     * The DAG as it reads once this change is written: what a decision composed of several steps decides its next
     * step on (the owner is not part of a {@link Dag}).
     */
    public Dag applyTo(Dag d) {
        Map<Long, Node> nodeFields = new LinkedHashMap<>();
        nodes.forEach(n -> nodeFields.put(n.nodeId(), n));
        Map<Long, SubTask> taskFields = new LinkedHashMap<>();
        Map<Long, List<String>> moreLogs = new LinkedHashMap<>();
        for (TaskWrite w : subTasks) {
            taskFields.put(w.task().taskId(), w.task());
            moreLogs.computeIfAbsent(w.task().taskId(), k -> new ArrayList<>()).addAll(w.newLogs());
        }
        List<Node> out = new ArrayList<>();
        for (Node n : d.nodes()) {
            List<SubTask> ts = new ArrayList<>();
            for (SubTask t : n.subTasks()) {
                SubTask f = taskFields.get(t.taskId());
                if (f == null) {
                    ts.add(t);
                    continue;
                }
                List<String> logs = new ArrayList<>(t.taskLogs());
                logs.addAll(moreLogs.get(t.taskId()));
                ts.add(t.withState(f.state(), f.operator(), f.startTime(), f.endTime(), f.executeTimes(), logs));
            }
            Node f = nodeFields.get(n.nodeId());
            Node base = f == null ? n : n.withState(f.state(), f.operator(), f.startTime(), f.endTime());
            out.add(base.withSubTasks(ts));
        }
        Dag base = dag == null ? d : d.withState(dag.stage(), dag.state(), dag.operator(), dag.startTime(), dag.endTime());
        return base.withNodes(out);
    }
}
