package io.obplay.run;

import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.SubTask;

/** What a run reports as it goes; the CLI turns it into progress on stderr and JSON lines on stdout. */
public interface RunListener {
    default void dagStarted(Dag dag) {
    }

    default void stageStarted(Dag dag, int stage, Node node) {
    }

    default void subTaskStarted(Node node, SubTask task) {
    }

    default void subTaskFinished(Node node, SubTask task, Outcome outcome) {
    }

    /**
     * Where the time of a sub-task that ran went ({@link Timings}); told just before its
     * {@link #subTaskFinished}, on the same thread. Told only for sub-tasks that ran (or tried to run) a script.
     */
    default void subTaskTimed(Node node, SubTask task, Timings times) {
    }

    default void stageFinished(Dag dag, int stage, Node node) {
    }

    default void dagFinished(Dag dag) {
    }

    /**
     * The store refused a write of this process (on a store shared by instances): the DAG ({@code dag}) or the
     * sub-task ({@code task}; the other is null) is another instance's now, and nothing was written.
     */
    default void writeRefused(Dag dag, SubTask task, String why) {
    }

    RunListener NONE = new RunListener() {
    };
}
