package io.obplay.cli;

import io.obplay.store.Store;
import io.obplay.store.StoreException;
import io.obplay.store.mysql.MysqlStore;
import io.obplay.store.mysql.StoreUrl;
import io.obplay.store.sqlite.SqliteStore;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Map;

/**
 * {@code --state-dir}: where runs are recorded (default ~/.obplay, or $OBPLAY_STATE_DIR); and {@code --store}: the
 * database that holds them (default: SQLite {@code obplay.db} in the state directory, or $OBPLAY_STORE).
 */
public final class StateDir {
    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "Where DAGs, states and logs are recorded (default: $OBPLAY_STATE_DIR or ~/.obplay).")
    Path dir;

    @Option(names = "--store", paramLabel = "URL",
            description = {"The store of DAGs, logs and the maintenance lock (default: $OBPLAY_STORE, else SQLite obplay.db in the state directory):",
                    "sqlite:FILE, or jdbc:mysql://HOST:PORT/DATABASE?user=USER[&passwordFile=FILE] (also jdbc:mariadb://) for a shared",
                    "OceanBase (MySQL mode), MySQL or MariaDB store; the password from passwordFile= or $OBPLAY_STORE_PASSWORD, never the URL."})
    String store;

    @Option(names = "--lease", paramLabel = "DURATION", defaultValue = "30s",
            description = {"On a shared (MySQL-protocol) store: how long an instance's hold on a DAG it runs lasts without renewal",
                    "(renewed every third of it); after that another live instance takes the DAG over (default: ${DEFAULT-VALUE})."})
    String lease;

    /** For tests: the environment. */
    Map<String, String> env = System.getenv();

    Path path() {
        if (dir != null) {
            return dir;
        }
        String e = env.get("OBPLAY_STATE_DIR");
        if (e != null && !e.isBlank()) {
            return Path.of(e);
        }
        return Path.of(System.getProperty("user.home"), ".obplay");
    }

    /** The store URL given, or null for the default. */
    String storeUrl() {
        if (store != null && !store.isBlank()) {
            return store.trim();
        }
        String e = env.get("OBPLAY_STORE");
        return e == null || e.isBlank() ? null : e.trim();
    }

    /** How messages name the store. */
    String describe() {
        String url = storeUrl();
        if (url == null) {
            return path().resolve(SqliteStore.FILE_NAME).toString();
        }
        if (StoreUrl.isMysql(url)) {
            try {
                return StoreUrl.parse(url, Map.of()).shown();
            } catch (StoreException e) {
                return "(an invalid store URL)";
            }
        }
        return url;
    }

    private java.time.Duration leaseLength() {
        java.time.Duration d = lease == null ? java.time.Duration.ofSeconds(30) : io.obplay.inventory.YamlMap.parseDuration(lease);
        if (d == null || d.compareTo(java.time.Duration.ofSeconds(1)) < 0) {
            throw new CliException(ExitCodes.INVALID, "--lease " + lease + ": give a duration of at least 1s, such as 30s or 2m");
        }
        return d;
    }

    Store open() {
        String url = storeUrl();
        if (url == null) {
            try {
                return SqliteStore.open(path());
            } catch (RuntimeException e) {
                throw new CliException(ExitCodes.STORE, "cannot open the state directory " + path() + ": " + e.getMessage());
            }
        }
        if (url.startsWith("sqlite:")) {
            Path file = Path.of(url.substring("sqlite:".length()));
            if (file.toString().isEmpty()) {
                throw new CliException(ExitCodes.INVALID, "--store sqlite: names no file: sqlite:/path/to/obplay.db");
            }
            try {
                return SqliteStore.openFile(file);
            } catch (RuntimeException e) {
                throw new CliException(ExitCodes.STORE, "cannot open the store " + file + ": " + e.getMessage());
            }
        }
        if (StoreUrl.isMysql(url)) {
            StoreUrl u;
            try {
                u = StoreUrl.parse(url, env);
            } catch (StoreException e) {
                throw new CliException(ExitCodes.INVALID, e.getMessage());
            }
            try {
                return MysqlStore.open(u.driverUrl(), u.user(), u.password(), u.shown()).withLease(leaseLength());
            } catch (StoreException e) {
                throw new CliException(ExitCodes.STORE, e.getMessage());
            }
        }
        throw new CliException(ExitCodes.INVALID, "unknown store " + (url.contains("?") ? url.substring(0, url.indexOf('?')) : url)
                + ": give sqlite:FILE, jdbc:mysql://HOST:PORT/DATABASE?user=USER or jdbc:mariadb://...");
    }
}
