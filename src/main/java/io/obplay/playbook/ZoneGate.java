package io.obplay.playbook;

import java.time.Duration;
import java.util.List;

/**
 * A playbook's {@code gate:}: what a rolling play waits for after each zone it started again, before it touches the
 * next. Level 1 (process and ports, the start's own "ready") is always checked, on the host, by the start itself;
 * these are the levels on top, checked from the controller in this order.
 *
 * @param pause    waited once after the zone's last step, before the first check (for the cluster to settle)
 * @param interval between two checks
 * @param timeout  the whole wait, pause included; then the gate fails and the DAG stops before the next zone
 * @param obshell  level 2: obshell's {@code GET /api/v1/status} on each observer's agent_port says obState 3
 * @param sql      level 3: over the MySQL protocol, the zone's servers ACTIVE and serving, no log stream out of sync
 * @param command  level 4: an argv list run on the controller, passing with exit 0; empty for none
 * @param where    file:line:column of the key
 */
public record ZoneGate(Duration pause, Duration interval, Duration timeout, boolean obshell, boolean sql,
                       List<String> command, String where) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(3);

    public ZoneGate {
        command = command == null ? List.of() : List.copyOf(command);
    }
}
