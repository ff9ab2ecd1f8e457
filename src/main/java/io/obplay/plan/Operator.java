package io.obplay.plan;

/** obshell's task operators: what was last asked of a DAG, node or sub-task. */
public enum Operator {
    RUN, RETRY, ROLLBACK, CANCEL, PASS
}
