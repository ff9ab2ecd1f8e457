package io.obplay.run;

import java.time.Duration;

/**
 * How a script ended: its exit status (-1 when unknown), whether the timeout ended it, how long it ran, and,
 * when obplay had to end it (timeout) but could not prove that its processes are gone, what may still run
 * on the host ({@code leftRunning}, one clause naming the pid; null when they were proved gone or the
 * script ended by itself), and {@code opening}, the part of {@code elapsed} spent before the script was sent
 * (zero when the transport does not tell).
 */
public record ExecResult(int exitCode, boolean timedOut, Duration elapsed, String leftRunning, Duration opening) {

    public ExecResult(int exitCode, boolean timedOut, Duration elapsed, String leftRunning) {
        this(exitCode, timedOut, elapsed, leftRunning, Duration.ZERO);
    }

    public ExecResult(int exitCode, boolean timedOut, Duration elapsed) {
        this(exitCode, timedOut, elapsed, null);
    }

    /** The same with {@code opening}: how much of {@code elapsed} went to getting the script started (a channel). */
    public ExecResult opened(Duration opening) {
        return new ExecResult(exitCode, timedOut, elapsed, leftRunning, opening);
    }

    public boolean ok() {
        return exitCode == 0 && !timedOut;
    }
}
