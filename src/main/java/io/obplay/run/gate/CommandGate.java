package io.obplay.run.gate;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Level 4: a command of the user's, run on the controller, passes with exit 0. It is an argv list run without a
 * shell (write {@code ["sh", "-c", "..."]} for one); stdin is {@code /dev/null}; stdout and stderr together are
 * captured (the last {@value CommandCheck#KEPT_BYTES} bytes) for the log.
 *
 * @param argv       the program and its arguments
 * @param directory  the working directory; null: obplay's
 * @param runTimeout each run; a run that takes longer is killed (with its descendants) and counts as not passed
 */
public record CommandGate(List<String> argv, Path directory, Duration runTimeout, GateTiming timing)
        implements Gate {

    public static final Duration DEFAULT_RUN_TIMEOUT = Duration.ofSeconds(30);

    public CommandGate {
        argv = List.copyOf(argv);
        Objects.requireNonNull(runTimeout, "runTimeout");
        Objects.requireNonNull(timing, "timing");
        if (argv.isEmpty() || argv.get(0).isEmpty()) {
            throw new IllegalArgumentException("a command gate needs a program to run");
        }
        if (runTimeout.isNegative() || runTimeout.isZero()) {
            throw new IllegalArgumentException("run timeout must be positive: " + runTimeout);
        }
    }

    /** Each run at most 30 s or the gate's timeout, whichever is shorter; in obplay's working directory. */
    public static CommandGate of(List<String> argv, GateTiming timing) {
        Duration run = timing.timeout().compareTo(DEFAULT_RUN_TIMEOUT) < 0 ? timing.timeout() : DEFAULT_RUN_TIMEOUT;
        return new CommandGate(argv, null, run, timing);
    }

    @Override
    public GateLevel level() {
        return GateLevel.COMMAND;
    }

    @Override
    public String describe() {
        return "exit 0 from " + CommandCheck.shown(argv);
    }
}
