package io.obplay.store;

import java.util.Objects;

/** A change of a DAG that was refused: the typed {@link Refusal} and a message for people. Nothing was written. */
public final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    private final Refusal refusal;

    public Refused(Refusal refusal, String message) {
        super(message, null, false, false);
        this.refusal = Objects.requireNonNull(refusal, "refusal");
    }

    public Refusal refusal() {
        return refusal;
    }
}
