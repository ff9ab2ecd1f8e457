package io.obplay.playbook;

/**
 * obplay's one quoting function for POSIX sh: every value that goes into a generated script, a rendered shell
 * template or a transport's command line goes through {@link #quote}.
 */
public final class ShellQuote {
    private ShellQuote() {
    }

    /** Single-quotes a value for POSIX sh: one word, read literally wherever a command word may stand ({@code 'it'\''s'}). */
    public static String quote(String value) {
        return "'" + value.replace("'", "'\\''") + "'";
    }
}
