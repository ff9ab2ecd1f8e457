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
    SHELL,
    /** Start the server from its home; done once it is ready. */
    START,
    /** Stop then start, in one script per server: the start's checks first, then the stop, then the start. */
    RESTART,
    /**
     * The wait between two zones of a rolling play, on the controller: the playbook's {@code gate:} levels. Not a
     * step a playbook writes: the planner puts one after each zone a rolling play starts again.
     */
    GATE;

    /** The last {@link #yamlName()} and the default locale it was made in (it is asked for per sub-task). */
    private volatile Object[] yamlName;

    public String yamlName() {
        java.util.Locale locale = java.util.Locale.getDefault();
        Object[] last = yamlName;
        if (last == null || last[0] != locale) {
            last = new Object[]{locale, name().toLowerCase()};
            yamlName = last;
        }
        return (String) last[1];
    }

    /** Whether the step ends the server's process. */
    public boolean stops() {
        return this == STOP || this == KILL || this == RESTART;
    }

    /** Whether the step brings the server back (a stopped zone counts as up again after it). */
    public boolean starts() {
        return this == START || this == RESTART;
    }
}
