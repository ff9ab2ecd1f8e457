package io.obplay.run;

/** How one sub-task ended in a run, in more detail than obshell's states. */
public enum Outcome {
    /** Its script exited 0. */
    OK,
    /** Its script failed, timed out, or was refused for safety. */
    FAILED,
    /** Its host could not be reached. */
    UNREACHABLE,
    /** Left out on purpose ({@code --skip-host}, or passed): state SUCCEED, operator PASS. */
    SKIPPED,
    /** Not run because its server failed or was unreachable in an earlier stage; stays PENDING for a retry. */
    NOT_RUN,
    /** Ended by a cancel (Ctrl-C, {@code dag cancel}). */
    CANCELLED
}
