package io.obplay.playbook;

/** How a play's hosts are batched. */
public enum Strategy {
    /** Every host at once (up to forks). */
    PARALLEL,
    /** One zone after another (one obproxy cluster after another): all steps on a zone, then the next. */
    ROLLING,
    /** N hosts at a time: all steps on a batch, then the next. */
    SERIAL
}
