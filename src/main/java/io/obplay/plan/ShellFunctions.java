package io.obplay.plan;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The shell functions every generated script calls, kept as {@code .sh} files next to this class
 * ({@code src/main/resources/io/obplay/plan/sh/*.sh}, shellchecked by the tests) and read from there, once: the one
 * place the shared shell lives. Variables are global (POSIX sh has no "local"), so each function uses its own names.
 */
public final class ShellFunctions {
    /** The files, in the order a library puts them together. */
    public static final List<String> NAMES = List.of("core", "stop", "daemon", "cleanup", "status", "start");

    private static final Map<String, String> TEXTS = new ConcurrentHashMap<>();

    private ShellFunctions() {
    }

    /** The text of {@code sh/<name>.sh}, exactly as it is in the file. */
    public static String text(String name) {
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("no shell functions '" + name + "'; there are: " + NAMES);
        }
        return TEXTS.computeIfAbsent(name, ShellFunctions::read);
    }

    private static String read(String name) {
        String resource = "sh/" + name + ".sh";
        try (InputStream in = ShellFunctions.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("the shell functions " + resource + " are missing from obplay's jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }
}
