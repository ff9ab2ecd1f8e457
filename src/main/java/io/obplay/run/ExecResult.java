package io.obplay.run;

import java.time.Duration;

/** How a script ended: its exit status (-1 when unknown), whether the timeout ended it, and how long it ran. */
public record ExecResult(int exitCode, boolean timedOut, Duration elapsed) {
    public boolean ok() {
        return exitCode == 0 && !timedOut;
    }
}
