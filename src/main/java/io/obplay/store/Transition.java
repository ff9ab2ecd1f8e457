package io.obplay.store;

import io.obplay.plan.Dag;

/**
 * A change of one DAG decided on the DAG as it is at that moment: {@link Store#transition} reads the DAG (whole:
 * nodes, sub-tasks, logs) and its owner, calls {@link #decide}, and writes the {@link Change} it returns, all in
 * one transaction that holds the DAG's write lock, so no other process changes the DAG between the read and the
 * write. A decision must be quick and touch nothing outside the store (it may run while other writers wait),
 * and may be called again should the store retry the transaction.
 */
@FunctionalInterface
public interface Transition {
    /**
     * @param dag   the DAG as stored now
     * @param owner the process recorded as driving it ({@code pid@hostname}), or null
     * @return what to write ({@link Change#none()} for nothing)
     * @throws Refused to refuse: nothing is written, and the caller gets this refusal
     */
    Change decide(Dag dag, String owner) throws Refused;
}
