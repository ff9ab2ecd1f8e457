package io.obplay.playbook;

import java.util.List;

/**
 * A playbook, resolved against an inventory.
 *
 * @param serial           hosts per batch when {@code strategy} is SERIAL
 * @param maxFailPercentage a step fails the run when more than this percentage of its hosts fail
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
        List<Step> steps) {

    public Playbook {
        steps = List.copyOf(steps);
    }
}
