package io.obplay.playbook;

import java.util.List;

/**
 * A playbook, resolved against an inventory.
 *
 * @param serial           hosts per batch when {@code strategy} is SERIAL
 * @param maxFailPercentage a step fails the run when more than this percentage of its hosts fail
 * @param gate             what a rolling play waits for between zones it started again; null for level 1 only
 */
public record Playbook(
        String source,
        String sha256,
        String name,
        Targets targets,
        Strategy strategy,
        int serial,
        int forks,
        int maxFailPercentage,
        boolean allowMajorityLoss,
        List<Step> steps,
        ZoneGate gate) {

    public Playbook {
        steps = List.copyOf(steps);
    }

    /** A playbook without a gate. */
    public Playbook(String source, String sha256, String name, Targets targets, Strategy strategy, int serial, int forks,
                    int maxFailPercentage, boolean allowMajorityLoss, List<Step> steps) {
        this(source, sha256, name, targets, strategy, serial, forks, maxFailPercentage, allowMajorityLoss, steps, null);
    }
}
