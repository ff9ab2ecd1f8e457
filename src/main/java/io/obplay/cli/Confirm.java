package io.obplay.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The one confirmation of the commands that act on hosts or on the record ({@code run}, {@code dag retry},
 * {@code dag pass}, {@code dag cancel}): what will be done is shown first, then the question on stderr, and only
 * "yes" typed on the terminal goes on. Without a terminal it stops (exit 1) unless {@code --yes} was given.
 */
final class Confirm {
    private Confirm() {
    }

    /**
     * @param question   e.g. "Run these 2 stages on 3 hosts?"
     * @param verb       what "yes" does, e.g. "run"
     * @param noTerminal what to do without a terminal, e.g. "review the plan above and pass --yes to run it"
     * @return true when "yes" was typed; false (having said so) otherwise
     * @throws CliException exit 1, when there is no terminal to ask on
     */
    static boolean ask(PrintWriter err, String question, String verb, String noTerminal, String notConfirmed) {
        if (System.console() == null) {
            throw new CliException(ExitCodes.INVALID, "no terminal to ask for confirmation on; " + noTerminal);
        }
        err.print(question + " Type 'yes' to " + verb + ": ");
        err.flush();
        String answer;
        try {
            answer = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (answer == null || !answer.trim().equalsIgnoreCase("yes")) {
            err.println("Not confirmed; " + notConfirmed + ".");
            err.flush();
            return false;
        }
        return true;
    }
}
