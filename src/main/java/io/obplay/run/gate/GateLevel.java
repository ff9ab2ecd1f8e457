package io.obplay.run.gate;

/**
 * How a gate knows a restarted server is back, from the nearest to the farthest look (issue 10 §3).
 * A rolling restart moves on to the next zone only once the gates of this one pass.
 */
public enum GateLevel {
    /**
     * 1: the process runs in its home, its pid file names it and its ports LISTEN. This is the start script's own
     * readiness check on the host (it needs {@code /proc} there), so no controller-side {@link Gate} has this level.
     */
    PROCESS_AND_PORTS(1),
    /** 2: obshell's unauthenticated {@code GET /api/v1/status} on the server's agent port says {@code obState} 3. */
    OBSHELL_STATUS(2),
    /** 3: over the MySQL protocol, every server of the zone is ACTIVE and serving, and no log stream is out of sync. */
    SQL(3),
    /** 4: a command the user gives, run on the controller; exit 0 passes. */
    COMMAND(4);

    private final int number;

    GateLevel(int number) {
        this.number = number;
    }

    public int number() {
        return number;
    }
}
