package io.obplay.store.mysql;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real MariaDB server for the tests of the MySQL-protocol store: Debian's {@code mariadb-server} (installed by
 * {@code .ci/setup.sh}), started as its own process with its own data directory, socket and free port on 127.0.0.1,
 * without reading any option file; stopped (and its directory removed) by {@link #close()}, or when the test JVM
 * ends. One is shared by the test classes of a JVM ({@link #shared()}); each test gets a database of its own
 * ({@link #newDatabase()}). A user {@value #USER} with password {@value #PASSWORD} may do anything; root logs in
 * through the socket only.
 */
public final class MariaDbServer implements AutoCloseable {
    public static final String USER = "obplay";
    public static final String PASSWORD = "s3cret 'with' \"quotes\" $(x)";
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static MariaDbServer shared;

    private final Path dir;
    private final int port;
    private Process process;
    private Path mariadbd;
    private boolean root;

    private MariaDbServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** The JVM's shared server, started on first use. */
    public static synchronized MariaDbServer shared() {
        if (shared == null) {
            shared = start();
            MariaDbServer s = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(s::close));
        }
        return shared;
    }

    public static MariaDbServer start() {
        Path mariadbd = firstExisting("/usr/sbin/mariadbd", "/usr/bin/mariadbd", "/usr/sbin/mysqld");
        Path installDb = firstExisting("/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db");
        if (mariadbd == null || installDb == null) {
            throw new IllegalStateException("MariaDB is not installed (mariadbd, mariadb-install-db): run .ci/setup.sh,"
                    + " which installs Debian's mariadb-server");
        }
        try {
            Path dir = Files.createTempDirectory("obplay-mariadb-");
            Path data = dir.resolve("data");
            Files.createDirectories(data);
            boolean root = "root".equals(System.getProperty("user.name"));
            List<String> install = new ArrayList<>(List.of(installDb.toString(), "--no-defaults", "--datadir=" + data,
                    "--auth-root-authentication-method=socket", "--skip-test-db"));
            if (root) {
                install.add("--user=root");
            }
            run(install, dir.resolve("install.log"), Duration.ofSeconds(120));
            Path init = dir.resolve("init.sql");
            Files.writeString(init, "CREATE USER IF NOT EXISTS '" + USER + "'@'%' IDENTIFIED BY '"
                    + PASSWORD.replace("\\", "\\\\").replace("'", "\\'") + "';\n"
                    + "GRANT ALL PRIVILEGES ON *.* TO '" + USER + "'@'%';\n", StandardCharsets.UTF_8);
            int port = freePort();
            MariaDbServer s = new MariaDbServer(dir, port);
            s.launch(mariadbd, root);
            return s;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start MariaDB: " + e.getMessage(), e);
        }
    }

    private void launch(Path mariadbd, boolean root) throws IOException {
        this.mariadbd = mariadbd;
        this.root = root;
        List<String> cmd = new ArrayList<>(List.of(mariadbd.toString(), "--no-defaults",
                "--datadir=" + dir.resolve("data"), "--socket=" + dir.resolve("mysqld.sock"), "--port=" + port,
                "--bind-address=127.0.0.1", "--pid-file=" + dir.resolve("mysqld.pid"),
                "--log-error=" + dir.resolve("error.log"), "--init-file=" + dir.resolve("init.sql"),
                "--skip-name-resolve", "--innodb-buffer-pool-size=32M", "--max-connections=200",
                "--innodb-lock-wait-timeout=20"));
        if (root) {
            cmd.add("--user=root");
        }
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        SQLException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("mariadbd exited with " + process.exitValue() + ": " + log());
            }
            try (Connection c = DriverManager.getConnection(adminUrl(""), USER, PASSWORD)) {
                return;
            } catch (SQLException e) {
                last = e;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        close();
        throw new IllegalStateException("mariadbd did not accept connections on port " + port + ": "
                + (last == null ? "" : last.getMessage()) + "; " + log());
    }

    /** Stops the server process (SIGTERM, then SIGKILL) without removing its data: {@link #restart()} starts it again. */
    public void stop() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Starts the stopped server again on the same port and data. */
    public void restart() {
        try {
            launch(mariadbd, root);
        } catch (IOException e) {
            throw new IllegalStateException("cannot restart MariaDB: " + e.getMessage(), e);
        }
    }

    public int port() {
        return port;
    }

    /** A new empty database; its name. */
    public String newDatabase() {
        String name = "t" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
        exec("", "CREATE DATABASE " + name + " DEFAULT CHARACTER SET utf8mb4");
        return name;
    }

    public void dropDatabase(String name) {
        exec("", "DROP DATABASE IF EXISTS " + name);
    }

    /** The store URL of {@code database} for {@code --store}, without the password. */
    public String storeUrl(String database) {
        return "jdbc:mariadb://127.0.0.1:" + port + "/" + database + "?user=" + USER;
    }

    /** A driver URL (without user and password) for raw SQL in tests. */
    public String adminUrl(String database) {
        return "jdbc:mariadb://127.0.0.1:" + port + "/" + database;
    }

    public void exec(String database, String sql) {
        try (Connection c = DriverManager.getConnection(adminUrl(database), USER, PASSWORD);
             Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    public String log() {
        try {
            Path err = dir.resolve("error.log");
            List<String> lines = Files.exists(err) ? Files.readAllLines(err) : List.of();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public synchronized void close() {
        stop();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a temp directory
        }
    }

    private static Path firstExisting(String... paths) {
        for (String p : paths) {
            if (Files.isExecutable(Path.of(p))) {
                return Path.of(p);
            }
        }
        return null;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private static void run(List<String> cmd, Path log, Duration timeout) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd.get(0) + " did not finish in " + timeout.toSeconds() + "s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + Files.readString(log));
        }
    }
}
