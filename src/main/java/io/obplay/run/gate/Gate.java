package io.obplay.run.gate;

/**
 * One gate of a rolling restart: a condition the controller checks again and again, with its own settings, until
 * it holds or its {@link GateTiming#timeout()} runs out. One record per kind; {@link GateChecks#of} makes the
 * {@link GateCheck} that looks, {@link GateWaiter} does the waiting.
 */
public sealed interface Gate permits ObshellStatusGate, SqlGate, CommandGate {

    GateLevel level();

    GateTiming timing();

    /** One line for the plan and the DAG log: what is checked where (never a password). */
    String describe();
}
