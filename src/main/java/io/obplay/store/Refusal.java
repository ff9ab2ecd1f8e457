package io.obplay.store;

/**
 * Why a change of a DAG was refused: a typed value, decided inside the change's transaction on the DAG as it
 * was then. The shim answers each with obshell's error code; the CLI prints the message.
 */
public enum Refusal {
    /** No such DAG. */
    NO_SUCH_DAG,
    /** No such node. */
    NO_SUCH_NODE,
    /** RETRY of a DAG that is not FAILED (it succeeded, or another process retried or runs it). */
    RETRY_NOT_FAILED,
    /** PASS of a DAG that is not FAILED. */
    PASS_NOT_FAILED,
    /** ROLLBACK of a DAG that is not FAILED. */
    ROLLBACK_NOT_FAILED,
    /** ROLLBACK of a FAILED DAG: obplay cannot undo a stop or a cleanup. */
    ROLLBACK_NOT_SUPPORTED,
    /** CANCEL of a finished DAG (SUCCEED, or already FAILED with operator CANCEL). */
    CANCEL_FINISHED,
    /** Node PASS in a DAG that is not FAILED. */
    NODE_PASS_NOT_FAILED_DAG,
    /** Node PASS of a node that is not FAILED. */
    NODE_PASS_NOT_FAILED_NODE,
    /** A run of a DAG that is not READY to start (cancelled, passed, or taken by another live process meanwhile). */
    NOT_READY
}
