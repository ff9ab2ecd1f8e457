package io.obplay.run.gate;

import java.util.Map;

/** Makes the {@link GateCheck} of a {@link Gate}. */
public final class GateChecks {
    private GateChecks() {
    }

    /** With the SQL credentials from {@code System.getenv()}. */
    public static GateCheck of(Gate gate) {
        return of(gate, System.getenv());
    }

    /**
     * @throws SqlCredentials.MissingException for a {@link SqlGate} without a password: call this before anything
     *                                         is stopped, so that the rolling restart does not begin
     */
    public static GateCheck of(Gate gate, Map<String, String> env) {
        if (gate instanceof ObshellStatusGate g) {
            return new ObshellStatusCheck(g);
        }
        if (gate instanceof SqlGate g) {
            return new SqlGateCheck(g, SqlCredentials.resolve(g, env));
        }
        if (gate instanceof CommandGate g) {
            return new CommandCheck(g);
        }
        throw new IllegalArgumentException("no check for " + gate); // Gate is sealed: not reached
    }
}
