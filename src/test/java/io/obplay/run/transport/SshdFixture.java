package io.obplay.run.transport;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Real OpenSSH sshds on loopback addresses (127.0.0.N), self-contained: its own client key, host keys,
 * authorized_keys and known_hosts in a temp directory. Logs in as {@code obplay} (shell /bin/sh, created when
 * missing) when running as root, else as the current user. sshd runs with its defaults except what tests
 * need (no PAM, no password, MaxStartups 100:30:200); MaxSessions stays at OpenSSH's default of 10.
 * {@link #loginUser} adds login users with their own shell and start-up files (the same key logs them in).
 */
final class SshdFixture implements AutoCloseable {

    static final Path SSHD = Path.of("/usr/sbin/sshd");
    static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    private final Path dir;
    private final String user;
    private final Path key;
    private final Path knownHosts;
    private final List<Host> hosts = new ArrayList<>();
    private final Thread cleanup = new Thread(this::stopAll, "sshd-fixture-cleanup");
    private int counter;

    /** One sshd. */
    final class Host {
        final String address;
        final int port;
        final Path hostDir;
        final Process process;

        private Host(String address, int port, Path hostDir, Process process) {
            this.address = address;
            this.port = port;
            this.hostDir = hostDir;
            this.process = process;
        }

        /** {@code ssh-ed25519 AAAA...} of this sshd's host key. */
        String hostKeyLine() {
            try {
                String[] f = Files.readString(hostDir.resolve("ssh_host_ed25519_key.pub")).strip().split("\\s+");
                return f[0] + " " + f[1];
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        String log() {
            try {
                return Files.readString(hostDir.resolve("sshd.log"));
            } catch (IOException e) {
                return "(no log)";
            }
        }

        /** Stops the listener (sessions in progress are not touched). */
        void stop() {
            process.destroy();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    SshdFixture() {
        try {
            if (!Files.isExecutable(SSHD)) {
                throw new IllegalStateException(SSHD + " is missing: apt-get install -y openssh-server");
            }
            user = ROOT ? ensureUser("obplay") : System.getProperty("user.name");
            if (ROOT) {
                Files.createDirectories(Path.of("/run/sshd"));
            }
            dir = Files.createTempDirectory("obplay-transport-sshd-");
            // sshd reads AuthorizedKeysFile as the login user
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            key = dir.resolve("id_ed25519");
            T.mustRun("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "obplay-test", "-f", key.toString());
            Path authorized = dir.resolve("authorized_keys");
            Files.copy(Path.of(key + ".pub"), authorized);
            Files.setPosixFilePermissions(authorized, PosixFilePermissions.fromString("rw-r--r--"));
            knownHosts = dir.resolve("known_hosts");
            Files.writeString(knownHosts, "");
            Runtime.getRuntime().addShutdownHook(cleanup);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String ensureUser(String name) {
        if (!T.run("id", name).ok()) {
            T.mustRun("useradd", "-m", "-s", "/bin/sh", name);
        }
        // sshd with UsePAM no refuses a locked password ("!"); "*" means no password, not locked
        T.Result shadow = T.run("getent", "shadow", name);
        String[] f = shadow.stdout().split(":");
        if (f.length > 1 && f[1].startsWith("!")) {
            T.mustRun("usermod", "-p", "*", name);
        }
        return name;
    }

    String user() {
        return user;
    }

    /**
     * A further login user (created when missing; needs root), with login shell {@code shell} and these files
     * (path relative to its home, content) written afresh and owned by it: a login that prints a banner from
     * its {@code .bashrc} or {@code .ssh/rc}, say. Logs in with this fixture's key like {@link #user()}.
     */
    static String loginUser(String name, String shell, java.util.Map<String, String> files) {
        if (!ROOT) {
            throw new IllegalStateException("creating login user " + name + " needs root (.ci runs the tests as root)");
        }
        ensureUser(name);
        T.mustRun("usermod", "-s", shell, name);
        String home = T.mustRun("getent", "passwd", name).stdout().strip().split(":")[5];
        try {
            for (java.util.Map.Entry<String, String> f : files.entrySet()) {
                Path p = Path.of(home, f.getKey());
                Files.createDirectories(p.getParent());
                Files.writeString(p, f.getValue(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        T.mustRun("chown", "-R", name + ":", home);
        return name;
    }

    Path keyFile() {
        return key;
    }

    /** Has a line for every sshd started (and still known) by this fixture. */
    Path knownHostsFile() {
        return knownHosts;
    }

    Path dir() {
        return dir;
    }

    /** Starts an sshd on {@code address}, on a free port. {@code options} are sshd {@code -o} overrides. */
    Host start(String address, String... options) {
        return start(address, 0, options);
    }

    /** Starts an sshd on {@code address:port} (0: a free one), with a new host key. */
    synchronized Host start(String address, int port, String... options) {
        try {
            Path hostDir = dir.resolve("host" + (++counter));
            Files.createDirectories(hostDir);
            Path hostKey = hostDir.resolve("ssh_host_ed25519_key");
            T.mustRun("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", address, "-f", hostKey.toString());
            IOException last = null;
            for (int attempt = 0; attempt < 10; attempt++) {
                int p = port != 0 ? port : freePort(address);
                Path config = hostDir.resolve("sshd_config");
                Files.writeString(config, String.join("\n",
                        "ListenAddress " + address + ":" + p,
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
                        "UseDNS no",
                        "AllowTcpForwarding yes",
                        "LogLevel INFO",
                        ""), StandardCharsets.UTF_8);
                List<String> cmd = new ArrayList<>(List.of(SSHD.toString(), "-D", "-e", "-f", config.toString()));
                for (String o : options) {
                    cmd.add("-o");
                    cmd.add(o);
                }
                Path log = hostDir.resolve("sshd.log");
                Process proc = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (proc.isAlive() && System.nanoTime() < deadline) {
                    if (answersSsh(address, p)) {
                        Host h = new Host(address, p, hostDir, proc);
                        hosts.add(h);
                        writeKnownHosts();
                        return h;
                    }
                    Thread.sleep(10);
                }
                proc.destroyForcibly();
                String text = Files.exists(log) ? Files.readString(log) : "";
                last = new IOException("sshd on " + address + ":" + p + " did not start: " + text.strip());
                if (port != 0 || !text.contains("in use")) {
                    break;
                }
                Files.delete(log);
            }
            throw last;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Forgets a stopped host (its known_hosts line goes too). */
    synchronized void forget(Host h) {
        hosts.remove(h);
        writeKnownHosts();
    }

    private synchronized void writeKnownHosts() {
        StringBuilder sb = new StringBuilder();
        for (Host h : hosts) {
            sb.append(KnownHostsFile.lookupName(h.address, h.port)).append(' ').append(h.hostKeyLine()).append('\n');
        }
        try {
            Files.writeString(knownHosts, sb.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int freePort(String address) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(address, 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean answersSsh(String address, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, port), 500);
            s.setSoTimeout(2000);
            InputStream in = s.getInputStream();
            byte[] b = new byte[4];
            int n = in.readNBytes(b, 0, 4);
            return n == 4 && new String(b, StandardCharsets.US_ASCII).equals("SSH-");
        } catch (IOException e) {
            return false;
        }
    }

    private void stopAll() {
        for (Host h : new ArrayList<>(hosts)) {
            h.process.destroy();
        }
        for (Host h : new ArrayList<>(hosts)) {
            h.stop();
        }
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException shuttingDown) {
            // fine
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // best effort
        }
    }
}
