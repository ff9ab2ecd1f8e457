package io.obplay.shim.ui;

import io.obplay.plan.Dag;

import java.util.List;
import java.util.Optional;

/**
 * What the DAG page reads and does, given to it by {@code obplay serve}: the same DAGs (read through reconcile, so
 * a DAG whose process died reads FAILED) and the same operators as obshell's task endpoints, on the same code path
 * with the same refusals.
 */
public interface DagSource {
    /** The newest DAGs first, without their nodes, at most {@code limit}. */
    List<Dag> dags(int limit);

    /** The whole DAG: nodes, sub-tasks, logs. */
    Optional<Dag> dag(long dagId);

    /** The DAG a sub-task belongs to. */
    Optional<Long> dagOfSubTask(long taskId);

    /** The obplay process ({@code pid@host}) that drives the DAG now, if any. */
    Optional<String> owner(long dagId);

    /** What {@code POST /api/v1/task/dag/{id}} {@code {"operator": OP}} does. */
    void operate(long dagId, String operator) throws Refusal;

    /** The address this server's generic ids name. */
    String agentAddress();

    /** An operator refused: the status and errCode obshell's endpoint answers, and why. */
    final class Refusal extends Exception {
        private static final long serialVersionUID = 1L;
        private final int status;
        private final String errCode;

        public Refusal(int status, String errCode, String message) {
            super(message);
            this.status = status;
            this.errCode = errCode;
        }

        public int status() {
            return status;
        }

        public String errCode() {
            return errCode;
        }
    }
}
