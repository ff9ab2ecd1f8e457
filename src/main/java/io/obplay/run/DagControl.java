package io.obplay.run;

import io.obplay.plan.Dag;
import io.obplay.plan.GenericId;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;
import io.obplay.store.IdScheme;
import io.obplay.store.Store;
import io.obplay.store.UnderMaintenanceException;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;

/**
 * The DAG operators, as obshell's: RETRY, PASS and ROLLBACK need a FAILED DAG, CANCEL an unfinished one. Shared
 * by the CLI ({@code obplay dag ...}) and the HTTP shim. Also turns a plan into a stored DAG, and marks a DAG
 * whose obplay process died as FAILED.
 */
public final class DagControl {
    /** Why an operator was refused, with obshell's error code. */
    public static final class Refused extends Exception {
        private final String code;

        public Refused(String code, String message) {
            super(message);
            this.code = code;
        }

        public String code() {
            return code;
        }
    }

    private final Store store;

    public DagControl(Store store) {
        this.store = store;
    }

    /**
     * Stores a planned DAG as a new run: fresh ids for this agent, start_time == end_time == now, READY/RUN.
     * Takes the maintenance lock when the DAG is a maintenance DAG.
     */
    public Dag create(Dag planned, String agentIp, int agentPort) throws UnderMaintenanceException {
        char kind = planned.id().isEmpty() ? GenericId.AGENT : planned.id().charAt(0);
        OffsetDateTime now = Times.now();
        Dag fresh = planned.withState(1, State.READY, Operator.RUN, now, now);
        return store.insert(fresh, new IdScheme(kind, agentIp, agentPort), planned.maintenanceType() != Dag.MAINTENANCE_NONE);
    }

    /**
     * A DAG left RUNNING by an obplay process that is gone is marked FAILED: its running sub-tasks FAILED with a
     * log line saying the outcome is unknown. Returns the DAG as it is now.
     */
    public Optional<Dag> reconcile(long dagId) {
        Optional<Dag> found = store.dag(dagId);
        if (found.isEmpty()) {
            return found;
        }
        Dag dag = found.get();
        if (dag.state() != State.RUNNING) {
            return found;
        }
        String owner = store.owner(dagId).orElse(null);
        if (Owner.alive(owner)) {
            return found;
        }
        String why = "obplay " + (owner == null ? "" : "(" + owner + ") ") + "stopped while this ran; its outcome is unknown:"
                + " check the host, then 'obplay dag retry " + dag.id() + "'";
        for (Node n : dag.nodes()) {
            boolean touched = false;
            for (SubTask t : n.subTasks()) {
                if (t.state() == State.RUNNING) {
                    store.updateSubTask(t.withState(State.FAILED, t.operator(), t.startTime(), Times.now(), t.executeTimes(), t.taskLogs()),
                            List.of("FAILED: " + why));
                    touched = true;
                }
            }
            if (n.state() == State.RUNNING || touched) {
                store.updateNode(n.withState(State.FAILED, n.operator(), n.startTime(), Times.now()));
            }
        }
        store.updateDag(dag.withState(dag.stage(), State.FAILED, dag.operator(), dag.startTime(), Times.now()));
        store.setOwner(dagId, null);
        return store.dag(dagId);
    }

    /**
     * RETRY, as obshell does it: a FAILED DAG goes back to READY with operator RUN, and its failed nodes to PENDING
     * with operator RETRY (obshell's Python SDK waits for the DAG to SUCCEED with operator RUN); the executor then
     * re-runs what did not succeed.
     */
    public Dag retry(long dagId) throws Refused {
        Dag dag = failedDag(dagId, "Task.Dag.Operator.RetryNotFailedDag", "retry");
        for (Node n : dag.nodes()) {
            if (n.state() == State.FAILED) {
                store.updateNode(n.withState(State.PENDING, Operator.RETRY, n.startTime(), n.endTime()));
            }
        }
        Dag ready = dag.withState(dag.stage(), State.READY, Operator.RUN, dag.startTime(), dag.endTime());
        store.updateDag(ready);
        return store.dag(dagId).orElseThrow();
    }

    /** PASS: the remaining nodes (and their unfinished sub-tasks) SUCCEED with operator PASS; the DAG SUCCEEDs. */
    public Dag pass(long dagId) throws Refused {
        Dag dag = failedDag(dagId, "Task.Dag.Operator.PassNotFailedDag", "pass");
        OffsetDateTime now = Times.now();
        for (Node n : dag.nodes()) {
            if (n.state() == State.SUCCEED) {
                continue;
            }
            for (SubTask t : n.subTasks()) {
                if (t.state() != State.SUCCEED) {
                    store.updateSubTask(t.withState(State.SUCCEED, Operator.PASS, t.startTime(), now, t.executeTimes(), t.taskLogs()),
                            List.of("passed by the operator (was " + t.state() + ")"));
                }
            }
            store.updateNode(n.withState(State.SUCCEED, Operator.PASS, n.startTime(), now));
        }
        store.updateDag(dag.withState(dag.maxStage(), State.SUCCEED, Operator.PASS, dag.startTime(), now));
        return store.dag(dagId).orElseThrow();
    }

    /**
     * CANCEL: an unfinished DAG. When no live process drives it, it is marked FAILED/CANCEL here; when one does,
     * the operator is recorded and that process ends the run (it watches for it).
     */
    public Dag cancel(long dagId) throws Refused {
        Dag dag = reconcile(dagId).orElseThrow(() -> new Refused("Task.NotFound", "no DAG " + dagId));
        if (dag.state() == State.SUCCEED || (dag.state() == State.FAILED && dag.operator() == Operator.CANCEL)) {
            throw new Refused("Task.Dag.Operator.CancelFinishedDag", "DAG " + dag.id() + " is finished (" + dag.state() + "); only an unfinished DAG can be cancelled");
        }
        boolean driven = dag.state() == State.RUNNING && Owner.alive(store.owner(dagId).orElse(null));
        if (driven) {
            store.updateDag(dag.withState(dag.stage(), dag.state(), Operator.CANCEL, dag.startTime(), dag.endTime()));
        } else {
            OffsetDateTime now = Times.now();
            for (Node n : dag.nodes()) {
                if (n.state() != State.SUCCEED) {
                    store.updateNode(n.withState(n.state() == State.PENDING ? State.PENDING : State.FAILED, Operator.CANCEL, n.startTime(), now));
                }
            }
            store.updateDag(dag.withState(dag.stage(), State.FAILED, Operator.CANCEL, dag.startTime(), now));
        }
        return store.dag(dagId).orElseThrow();
    }

    public void rollback(long dagId) throws Refused {
        failedDag(dagId, "Task.Dag.Operator.RollbackNotFailedDag", "roll back");
        throw new Refused("Task.Dag.Operator.NotSupport", "ROLLBACK is not supported: a stop or a cleanup cannot be undone;"
                + " use RETRY to finish it or PASS to accept it");
    }

    private Dag failedDag(long dagId, String code, String what) throws Refused {
        Dag dag = reconcile(dagId).orElseThrow(() -> new Refused("Task.NotFound", "no DAG " + dagId));
        if (dag.state() != State.FAILED) {
            throw new Refused(code, "DAG " + dag.id() + " is " + dag.state() + "; only a FAILED DAG can be " + (what.equals("pass") ? "passed" : what.equals("retry") ? "retried" : "rolled back"));
        }
        return dag;
    }
}
