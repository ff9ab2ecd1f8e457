package io.obplay.run;

import java.time.Duration;

/**
 * Where a sub-task's time went on the controller, for the run's JSON events and the fleet benchmark's per-host
 * budget: each item is wall time, and together they are the sub-task's time from its RUNNING record to its end.
 *
 * @param record  the store's writes of the sub-task (its RUNNING record and its end)
 * @param connect getting the host's connection: the SSH handshake (TCP, key exchange, authentication) when this
 *                sub-task was the host's first, else next to nothing (the session is reused)
 * @param channel from asking for a channel to the script sent: waiting for one of the session's channels,
 *                opening it, starting the wrapper
 * @param script  from the script sent to its end: the script on the host, and its output on the way back
 */
public record Timings(Duration record, Duration connect, Duration channel, Duration script) {
    public static final Timings NONE = new Timings(Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);
}
