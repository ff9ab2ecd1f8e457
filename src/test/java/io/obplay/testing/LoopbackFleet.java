package io.obplay.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A light fleet of real SSH hosts with no Docker: one OpenSSH {@code sshd -D -e -f CONFIG} per
 * "host", listening on 127.0.0.2, 127.0.0.3, ... (all of 127/8 is loopback), each with its own
 * host key, pid file and log under a temp directory. For SSH-level tests and benchmarks.
 *
 * <p>Log in as {@link #user()} with {@link #keyFile()}, trusting {@link #knownHostsFile()}. The user
 * is {@code obplay} (shell /bin/sh; {@code .ci/setup.sh} creates it) when this JVM runs as root and
 * that user exists, else root, or the current user when not root (sshd then runs unprivileged and
 * can only log that user in).
 *
 * <p>Every host shares this machine's kernel and filesystem: tests must give each its own paths.
 *
 * <pre>{@code
 * try (LoopbackFleet fleet = LoopbackFleet.start(3)) {
 *     session = jsch.getSession(fleet.user(), fleet.host(0), fleet.port(0));
 * }
 * }</pre>
 */
public final class LoopbackFleet implements AutoCloseable {

    private static final int MAX_ATTEMPTS = 8;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(15);

    private final Path dir;
    private final String user;
    private final List<Host> hosts = new ArrayList<>();
    private final Path knownHosts;
    private final Thread shutdownHook;

    private record Host(String address, int port, Process process, Path log) {
    }

    /** Starts {@code n} sshds on 127.0.0.2.. with ports found by trying. */
    public static LoopbackFleet start(int n) {
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ports.add(0);
        }
        return start(ports);
    }

    /**
     * Starts one sshd per entry, host {@code i} on 127.0.0.(i+2) and port {@code ports.get(i)};
     * a 0 means "find a free one" (retried if taken in the meantime). Returns once each accepts TCP.
     */
    public static LoopbackFleet start(List<Integer> ports) {
        if (ports.isEmpty() || ports.size() > 250) {
            throw new IllegalArgumentException("1..250 hosts, not " + ports.size());
        }
        TestHosts.requireSshd();
        LoopbackFleet fleet = new LoopbackFleet();
        try {
            for (int i = 0; i < ports.size(); i++) {
                fleet.startHost(i, ports.get(i));
            }
            fleet.writeKnownHosts();
            return fleet;
        } catch (RuntimeException | IOException e) {
            fleet.close();
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new UncheckedIOException((IOException) e);
        }
    }

    private LoopbackFleet() {
        try {
            this.user = chooseUser();
            this.dir = Files.createTempDirectory("obplay-fleet-");
            // sshd reads AuthorizedKeysFile as the login user: the path must be readable by it
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path authorized = dir.resolve("authorized_keys");
            Files.copy(TestHosts.publicKeyFile(), authorized);
            Files.setPosixFilePermissions(authorized, PosixFilePermissions.fromString("rw-r--r--"));
            this.knownHosts = dir.resolve("known_hosts");
            if ("root".equals(System.getProperty("user.name"))) {
                Files.createDirectories(Path.of("/run/sshd")); // sshd refuses to start without it
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the loopback fleet", e);
        }
        this.shutdownHook = new Thread(this::killAll, "loopback-fleet-cleanup");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    private static String chooseUser() {
        String me = System.getProperty("user.name");
        if (!"root".equals(me)) {
            return me;
        }
        try (Stream<String> lines = Files.lines(Path.of("/etc/passwd"))) {
            boolean exists = lines.anyMatch(l -> l.startsWith(TestHosts.LOOPBACK_USER + ":"));
            return exists ? TestHosts.LOOPBACK_USER : "root";
        } catch (IOException e) {
            return "root";
        }
    }

    private void startHost(int index, int wantedPort) throws IOException {
        String address = "127.0.0." + (index + 2);
        Path hostDir = dir.resolve("host" + (index + 2));
        Files.createDirectories(hostDir);
        Path hostKey = hostDir.resolve("ssh_host_ed25519_key");
        TestHosts.Run keygen = TestHosts.run(Duration.ofSeconds(30),
                "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", address, "-f", hostKey.toString());
        if (!keygen.ok()) {
            throw new IllegalStateException("ssh-keygen failed: " + keygen);
        }
        IOException last = null;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            int port = wantedPort != 0 ? wantedPort : TestHosts.freePort(address);
            Path config = hostDir.resolve("sshd_config");
            Files.writeString(config, config(address, port, hostKey, hostDir), StandardCharsets.UTF_8);
            Path log = hostDir.resolve("sshd.log");
            Process p = new ProcessBuilder(TestHosts.SSHD.toString(), "-D", "-e", "-f", config.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
            while (p.isAlive() && System.nanoTime() < deadline && !TestHosts.canConnect(address, port, 200)) {
                sleep(20);
            }
            if (p.isAlive() && TestHosts.canConnect(address, port, 1000)) {
                hosts.add(new Host(address, port, p, log));
                return;
            }
            p.destroyForcibly();
            String text = Files.exists(log) ? Files.readString(log) : "";
            last = new IOException("sshd on " + address + ":" + port + " did not start: " + text.strip());
            if (wantedPort != 0 || !text.contains("Address already in use")) {
                break;
            }
        }
        throw last;
    }

    private String config(String address, int port, Path hostKey, Path hostDir) {
        return String.join("\n",
                "# obplay LoopbackFleet host " + address,
                "ListenAddress " + address + ":" + port,
                "HostKey " + hostKey,
                "PidFile " + hostDir.resolve("sshd.pid"),
                "AuthorizedKeysFile " + dir.resolve("authorized_keys"),
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "MaxStartups 100:30:200",
                "MaxSessions 100",
                "UseDNS no",
                "LogLevel INFO",
                "Subsystem sftp internal-sftp",
                "");
    }

    private void writeKnownHosts() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < hosts.size(); i++) {
            Host h = hosts.get(i);
            String[] key = Files.readString(dir.resolve("host" + (i + 2)).resolve("ssh_host_ed25519_key.pub"))
                    .strip().split("\\s+");
            String name = h.port() == 22 ? h.address() : "[" + h.address() + "]:" + h.port();
            sb.append(name).append(' ').append(key[0]).append(' ').append(key[1]).append('\n');
        }
        Files.writeString(knownHosts, sb.toString(), StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------------------------------

    public int size() {
        return hosts.size();
    }

    /** The login user. */
    public String user() {
        return user;
    }

    /** Host {@code i}'s address, 127.0.0.(i+2). */
    public String host(int i) {
        return hosts.get(i).address();
    }

    public int port(int i) {
        return hosts.get(i).port();
    }

    /** A known_hosts file with every host's key ({@code [127.0.0.N]:PORT ssh-ed25519 ...}). */
    public Path knownHostsFile() {
        return knownHosts;
    }

    /** The private key every host accepts. */
    public Path keyFile() {
        return TestHosts.keyFile();
    }

    /** The temp directory holding configs, host keys and logs. */
    public Path dir() {
        return dir;
    }

    /** sshd's log (its stderr) for host {@code i}. */
    public Path log(int i) {
        return hosts.get(i).log();
    }

    /** sshd's pid for host {@code i}. */
    public long pid(int i) {
        return hosts.get(i).process().pid();
    }

    /** Kills every sshd (the listeners; sessions still open end when their client disconnects). */
    @Override
    public void close() {
        killAll();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // already shutting down
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // best effort
        }
    }

    private void killAll() {
        for (Host h : hosts) {
            h.process().destroy();
        }
        for (Host h : hosts) {
            try {
                if (!h.process().waitFor(5, TimeUnit.SECONDS)) {
                    h.process().destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                h.process().destroyForcibly();
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
