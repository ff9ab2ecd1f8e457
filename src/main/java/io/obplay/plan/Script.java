package io.obplay.plan;

import java.util.List;

/**
 * A step's work on one server: one POSIX sh script, run in one channel on the host, plus every signal it may
 * send and every path it may delete, in words, for the dry run.
 */
public record Script(String text, List<String> signals, List<String> paths) {
    public Script {
        signals = List.copyOf(signals);
        paths = List.copyOf(paths);
    }
}
