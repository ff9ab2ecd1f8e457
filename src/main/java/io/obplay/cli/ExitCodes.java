package io.obplay.cli;

/** obplay's exit codes, as documented in the README. */
public final class ExitCodes {
    /** Everything succeeded (or the input is valid). */
    public static final int OK = 0;
    /** Usage or input errors: bad flags, invalid inventory or playbook, a plan that is refused; nothing was run. */
    public static final int INVALID = 1;
    /** Some hosts failed a step. */
    public static final int HOSTS_FAILED = 2;
    /** Some hosts could not be reached (and none failed otherwise). */
    public static final int UNREACHABLE = 4;
    /**
     * The store cannot be used: it cannot be reached, refused the login (wrong password), has no such database, or
     * has a schema newer than this obplay; nothing was run or changed.
     */
    public static final int STORE = 5;
    /** An unexpected internal error (a bug: please report it with the message). */
    public static final int INTERNAL = 70;
    /** Interrupted (Ctrl-C or SIGTERM); the run was cancelled cleanly. */
    public static final int INTERRUPTED = 130;

    private ExitCodes() {
    }
}
