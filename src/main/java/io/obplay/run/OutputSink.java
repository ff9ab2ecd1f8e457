package io.obplay.run;

/** Receives a command's output line by line, as it arrives. */
@FunctionalInterface
public interface OutputSink {
    /** @param stderr true for a line of standard error */
    void line(boolean stderr, String text);

    OutputSink NONE = (e, t) -> { };
}
