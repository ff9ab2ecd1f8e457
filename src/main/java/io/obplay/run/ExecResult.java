package io.obplay.run;

import java.time.Duration;

/**
 * How a script ended: its exit status (-1 when unknown), whether the timeout ended it, how long it ran, and,
 * when obplay had to end it (timeout) but could not prove that its processes are gone, what may still run
 * on the host ({@code leftRunning}, one clause naming the pid; null when they were proved gone or the
 * script ended by itself).
 */
public record ExecResult(int exitCode, boolean timedOut, Duration elapsed, String leftRunning) {

    public ExecResult(int exitCode, boolean timedOut, Duration elapsed) {
        this(exitCode, timedOut, elapsed, null);
    }

    public boolean ok() {
        return exitCode == 0 && !timedOut;
    }
}
