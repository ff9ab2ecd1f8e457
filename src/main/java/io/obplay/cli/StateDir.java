package io.obplay.cli;

import io.obplay.store.Store;
import io.obplay.store.sqlite.SqliteStore;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code --state-dir}: where runs are recorded (default ~/.obplay, or $OBPLAY_STATE_DIR). */
public final class StateDir {
    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "Where DAGs, states and logs are recorded (default: $OBPLAY_STATE_DIR or ~/.obplay).")
    Path dir;

    Path path() {
        if (dir != null) {
            return dir;
        }
        String env = System.getenv("OBPLAY_STATE_DIR");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".obplay");
    }

    Store open() {
        try {
            return SqliteStore.open(path());
        } catch (RuntimeException e) {
            throw new CliException(ExitCodes.INVALID, "cannot open the state directory " + path() + ": " + e.getMessage());
        }
    }
}
