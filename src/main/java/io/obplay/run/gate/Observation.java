package io.obplay.run.gate;

import java.time.Instant;

/**
 * What one check of a gate saw.
 *
 * @param attempt 1 for the first check
 * @param passed  the gate's condition held
 * @param text    what was seen, in words, for the DAG log ({@code "obState 1 (OB process running with no
 *                connection), waiting for 3 (AVAILABLE)"}); never a password
 */
public record Observation(Instant at, int attempt, boolean passed, String text) {

    public static Observation pass(int attempt, String text) {
        return new Observation(Instant.now(), attempt, true, text);
    }

    public static Observation notYet(int attempt, String text) {
        return new Observation(Instant.now(), attempt, false, text);
    }
}
