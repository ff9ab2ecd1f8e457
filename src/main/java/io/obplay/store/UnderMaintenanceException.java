package io.obplay.store;

import io.obplay.plan.Dag;

/** Another maintenance DAG holds the lock. */
public class UnderMaintenanceException extends Exception {
    private final Dag holder;

    public UnderMaintenanceException(Dag holder) {
        super("under maintenance by DAG " + holder.id() + " (" + holder.name() + ", " + holder.state() + ")");
        this.holder = holder;
    }

    public Dag holder() {
        return holder;
    }
}
