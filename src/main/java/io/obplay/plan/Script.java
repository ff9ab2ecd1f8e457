package io.obplay.plan;

import java.util.List;

/**
 * A step's work on one server: one POSIX sh script, run in one channel on the host, plus every signal it may
 * send and every path it may delete, in words, for the dry run.
 *
 * <p>{@code text} is what is particular to this server; where it says {@code # obplay library: NAME}, the
 * functions of that {@link StepScripts#library library} go (the same for every server, so a plan shows them once).
 *
 * @param library the library the text calls, or null when it calls none
 * @param command the command it runs, in words for the plan: a shell step's, a start step's launch; else null
 * @param ready   a start step: what "ready" is checked against, in words; else null
 */
public record Script(String text, List<String> signals, List<String> paths, String library, String command, String ready) {
    public Script {
        signals = List.copyOf(signals);
        paths = List.copyOf(paths);
    }

    public Script(String text, List<String> signals, List<String> paths, String library) {
        this(text, signals, paths, library, null, null);
    }

    /** The whole script as it runs on the host: the text with its library put in at the marker line. */
    public String runnable() {
        return withLibrary(text, library, library == null ? null : StepScripts.library(library));
    }

    /** Puts {@code libraryText} in at the marker line of {@code text}. */
    public static String withLibrary(String text, String library, String libraryText) {
        if (library == null) {
            return text;
        }
        String marker = StepScripts.MARKER + library + "\n";
        int at = text.indexOf(marker);
        if (at < 0 || libraryText == null) {
            throw new IllegalArgumentException("the script has no place for library '" + library + "', or the library is missing");
        }
        return text.substring(0, at) + libraryText + text.substring(at + marker.length());
    }
}
