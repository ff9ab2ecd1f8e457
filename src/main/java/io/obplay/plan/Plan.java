package io.obplay.plan;

/**
 * A compiled plan: the DAG a run would execute, fresh (READY/RUN, stage 1), with the exact script of every
 * sub-task in its additional_data, and what it was made from (in {@link Dag#additionalData()}).
 */
public record Plan(Dag dag) {

    public String playbookName() {
        return DagData.of(dag.additionalData()).playbookName();
    }
}
