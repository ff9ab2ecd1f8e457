package io.obplay.run.gate;

import java.time.Duration;
import java.util.List;

/**
 * How a wait for a gate ended.
 *
 * @param outcome      passed, timed out or cancelled
 * @param reason       null when it passed; otherwise why not, with the last observation
 *                     ({@code "timed out after 30s (10 checks); last: obState 1 (...)"})
 * @param observations every observation, in order
 * @param waited       from the start of the pause to the end
 */
public record GateResult(Outcome outcome, String reason, List<Observation> observations, Duration waited) {

    public enum Outcome { PASSED, TIMED_OUT, CANCELLED }

    public GateResult {
        observations = List.copyOf(observations);
    }

    public boolean passed() {
        return outcome == Outcome.PASSED;
    }

    /** The last observation, or null if none was made (cancelled during the pause). */
    public Observation last() {
        return observations.isEmpty() ? null : observations.get(observations.size() - 1);
    }
}
