package io.obplay.run.gate;

import java.time.Duration;
import java.util.Objects;

/**
 * How long a gate waits.
 *
 * @param pause    waited once before the first check (a server that was just started needs a moment); may be zero
 * @param interval between the end of one check and the start of the next
 * @param timeout  the whole wait, from the start of the pause; when it has run out the gate fails with the last
 *                 observation as its reason
 */
public record GateTiming(Duration pause, Duration interval, Duration timeout) {

    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(3);

    public GateTiming {
        Objects.requireNonNull(pause, "pause");
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(timeout, "timeout");
        if (pause.isNegative()) {
            throw new IllegalArgumentException("pause must not be negative: " + pause);
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be positive: " + interval);
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        if (pause.compareTo(timeout) >= 0) {
            throw new IllegalArgumentException("pause " + pause + " leaves no time of the timeout " + timeout);
        }
    }

    /** No pause, a check every 3 s (OBD's {@code broken_sql} sleeps 3 s; obshell's upgrade 5 s), {@code timeout} in all. */
    public static GateTiming of(Duration timeout) {
        return new GateTiming(Duration.ZERO, DEFAULT_INTERVAL, timeout);
    }
}
