package io.obplay.plan;

import java.util.List;
import java.util.Objects;

/**
 * A step's script for every server with the same {@link ScriptInput}: the text with two holes, where the quoted
 * name and host go (the lines {@code NAME=} and {@code HOST=}), or none (a shell step's script does not name
 * its server). The per-server part of a script is only those variable lines.
 *
 * @param nameAt where in {@code text} the quoted name goes, or -1
 * @param hostAt where in {@code text} the quoted host goes (not before {@code nameAt}), or -1
 */
public record ScriptTemplate(String text, int nameAt, int hostAt, List<String> signals, List<String> paths,
                             String library, String command, String ready) {
    public ScriptTemplate {
        signals = List.copyOf(signals);
        paths = List.copyOf(paths);
        if ((nameAt < 0) != (hostAt < 0) || hostAt < nameAt || hostAt > text.length()) {
            throw new IllegalArgumentException("bad holes " + nameAt + ", " + hostAt);
        }
    }

    ScriptTemplate(String text, int nameAt, int hostAt, List<String> signals, List<String> paths, String library) {
        this(text, nameAt, hostAt, signals, paths, library, null, null);
    }

    /** A template without holes. */
    static ScriptTemplate fixed(String text, List<String> signals, List<String> paths, String library, String command) {
        return new ScriptTemplate(text, -1, -1, signals, paths, library, command, null);
    }

    public boolean hasHoles() {
        return nameAt >= 0;
    }

    /** The script of the server named {@code name} on {@code host}. */
    public Script fill(String name, String host) {
        if (!hasHoles()) {
            return new Script(text, signals, paths, library, command, ready);
        }
        String n = StepScripts.quote(Objects.requireNonNull(name, "name"));
        String h = StepScripts.quote(Objects.requireNonNull(host, "host"));
        String t = new StringBuilder(text.length() + n.length() + h.length()).append(text, 0, nameAt).append(n)
                .append(text, nameAt, hostAt).append(h).append(text, hostAt, text.length()).toString();
        return new Script(t, signals, paths, library, command, ready);
    }
}
