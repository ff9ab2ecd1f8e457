package io.obplay.run.gate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The user and password of a {@link SqlGate}: never from a playbook, never in a log ({@link #toString()} hides the
 * password). The password comes from, in this order: the gate's {@code passwordFile}; the environment variable
 * {@value #PASSWORD_VARIABLE} (set and empty means an empty password); the file named by
 * {@value #PASSWORD_FILE_VARIABLE}. The user is {@value #USER_VARIABLE}, else {@value #DEFAULT_USER}. A password
 * file's content is the password, with one trailing newline removed.
 */
public record SqlCredentials(String user, String password) {
    public static final String USER_VARIABLE = "OBPLAY_GATE_SQL_USER";
    public static final String PASSWORD_VARIABLE = "OBPLAY_GATE_SQL_PASSWORD";
    public static final String PASSWORD_FILE_VARIABLE = "OBPLAY_GATE_SQL_PASSWORD_FILE";
    public static final String DEFAULT_USER = "root";

    /** Why credentials cannot be had; the message says what to set. */
    public static final class MissingException extends IllegalArgumentException {
        MissingException(String message) {
            super(message);
        }
    }

    /** For {@code gate}, from {@code env} (normally {@code System.getenv()}). */
    public static SqlCredentials resolve(SqlGate gate, Map<String, String> env) {
        String user = env.getOrDefault(USER_VARIABLE, "");
        if (user.isEmpty()) {
            user = DEFAULT_USER;
        }
        if (gate.passwordFile() != null) {
            return new SqlCredentials(user, readFile(gate.passwordFile(), "the gate's password_file"));
        }
        String password = env.get(PASSWORD_VARIABLE);
        if (password != null) {
            return new SqlCredentials(user, password);
        }
        String file = env.get(PASSWORD_FILE_VARIABLE);
        if (file != null && !file.isEmpty()) {
            return new SqlCredentials(user, readFile(Path.of(file), PASSWORD_FILE_VARIABLE));
        }
        throw new MissingException("the SQL gate of zone " + gate.zone() + " has no password: set "
                + PASSWORD_VARIABLE + " (empty for none) or " + PASSWORD_FILE_VARIABLE
                + ", or give the gate a password_file; the user is " + USER_VARIABLE + " (now " + user + ")");
    }

    private static String readFile(Path file, String what) {
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            if (text.endsWith("\r\n")) {
                return text.substring(0, text.length() - 2);
            }
            return text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
        } catch (IOException e) {
            throw new MissingException("cannot read the SQL gate's password from " + file + " (" + what + "): "
                    + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage()));
        }
    }

    /** {@code text} with every occurrence of the password replaced by {@code ***} (error messages, output). */
    public String scrub(String text) {
        if (text == null || password.isEmpty()) {
            return text;
        }
        return text.replace(password, "***");
    }

    @Override
    public String toString() {
        return "SqlCredentials[user=" + user + ", password=***]";
    }
}
