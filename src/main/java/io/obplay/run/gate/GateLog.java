package io.obplay.run.gate;

/** Where a waiting gate reports, as obshell's tasks do with {@code ExecuteLog}: the DAG log of the sub-task. */
public interface GateLog {

    /** A line about the wait itself (started, pausing, timed out). */
    void line(String text);

    /** Each observation, as it is made. */
    default void observed(Observation observation) {
        line("check " + observation.attempt() + ": " + (observation.passed() ? "passed: " : "not yet: ")
                + observation.text());
    }

    GateLog NONE = text -> {
    };
}
