package io.obplay.playbook;

/** The lifecycle actions a playbook step can take. */
public enum StepKind {
    /** TERM, wait for exit and released ports, KILL after the grace. */
    STOP,
    /** KILL at once, then wait. */
    KILL,
    /** Remove declared directories or absolute paths inside them. */
    CLEANUP,
    /** A templated command. */
    SHELL;

    public String yamlName() {
        return name().toLowerCase();
    }

    /** Whether the step ends the server's process. */
    public boolean stops() {
        return this == STOP || this == KILL;
    }
}
