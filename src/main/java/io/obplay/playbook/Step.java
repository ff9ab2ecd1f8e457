package io.obplay.playbook;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One step of a playbook.
 *
 * @param index        1-based position in the playbook
 * @param on           the step's own targets, or null for the playbook's
 * @param grace        stop: time between TERM and KILL
 * @param killWait     stop and kill: how long to wait for the process to exit after KILL
 * @param settle       stop and kill: how long, once the server is gone, nothing of it may run or listen again
 * @param cleanupPaths cleanup: absolute paths to delete, per server name (resolved and checked at load)
 * @param command      shell: the command, rendered per server name (values shell-quoted)
 * @param where        file:line:column of the step
 */
public record Step(
        int index,
        StepKind kind,
        String name,
        Set<String> tags,
        Duration timeout,
        Targets on,
        Duration grace,
        Duration killWait,
        Duration settle,
        Map<String, List<String>> cleanupPaths,
        Map<String, String> command,
        String where) {

    /** The settle period of stop and kill steps that do not set one. */
    public static final Duration DEFAULT_SETTLE = Duration.ofSeconds(3);

    public Step {
        settle = settle == null ? DEFAULT_SETTLE : settle;
        tags = Set.copyOf(tags);
        cleanupPaths = cleanupPaths == null ? Map.of() : Map.copyOf(cleanupPaths);
        command = command == null ? Map.of() : Map.copyOf(command);
    }

    /** A step with the default settle period. */
    public Step(int index, StepKind kind, String name, Set<String> tags, Duration timeout, Targets on, Duration grace,
                Duration killWait, Map<String, List<String>> cleanupPaths, Map<String, String> command, String where) {
        this(index, kind, name, tags, timeout, on, grace, killWait, DEFAULT_SETTLE, cleanupPaths, command, where);
    }
}
