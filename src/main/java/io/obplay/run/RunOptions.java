package io.obplay.run;

import java.util.Set;

/**
 * How to run a DAG.
 *
 * @param skipHosts hosts or server names to leave out (they show as skipped with {@code reason})
 * @param skipReason why they are left out, for their logs
 * @param forks     the most sub-tasks run at once (0: the DAG's own setting)
 */
public record RunOptions(Set<String> skipHosts, String skipReason, int forks) {
    public RunOptions {
        skipHosts = skipHosts == null ? Set.of() : Set.copyOf(skipHosts);
    }

    public static RunOptions defaults() {
        return new RunOptions(Set.of(), null, 0);
    }
}
