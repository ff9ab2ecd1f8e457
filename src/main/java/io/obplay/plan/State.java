package io.obplay.plan;

/** obshell's task states, at DAG, node and sub-task level. */
public enum State {
    PENDING, READY, RUNNING, FAILED, SUCCEED;

    public boolean finished() {
        return this == FAILED || this == SUCCEED;
    }
}
