package io.obplay.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;

/**
 * Where the real test hosts come from, and small helpers shared by the host-level tests.
 *
 * <p>The images and the key are made by {@code src/test/docker/build-images.sh} (which
 * {@code .ci/setup.sh} runs on a CI machine):
 * <ul>
 *   <li>{@link #HOST_IMAGE} {@code local/obplay-host:latest}: sshd, procps, iproute2, python3 and
 *       {@code /usr/local/bin/standin.py}; users {@code admin} (shell /bin/sh) and {@code root}
 *       accept {@link #keyFile()};</li>
 *   <li>{@link #BASE_IMAGE} {@code local/debian:bookworm}: debootstrap minbase, no registry;</li>
 *   <li>the test key pair {@code ${OBPLAY_CACHE:-$HOME/.cache/obplay}/test-keys/id_ed25519}
 *       ({@link #KEY_PATH_IN_CACHE}); {@code OBPLAY_TEST_KEY} overrides the whole path.</li>
 * </ul>
 *
 * <p>When Docker, the image or sshd are missing, the host-level tests <em>fail</em> with a message
 * saying how to set them up; they are skipped only when asked to, with
 * {@code -Dobplay.skipHostTests=true} or {@code OBPLAY_SKIP_HOST_TESTS=true}.
 */
public final class TestHosts {

    /** The test host image built by {@code src/test/docker/build-images.sh}. */
    public static final String HOST_IMAGE = "local/obplay-host:latest";
    /** The base image, made by debootstrap (no registry needed). */
    public static final String BASE_IMAGE = "local/debian:bookworm";
    /** The test private key, relative to the cache directory {@link #cacheDir()}. */
    public static final String KEY_PATH_IN_CACHE = "test-keys/id_ed25519";
    /** The unprivileged login user on {@link #HOST_IMAGE} containers. */
    public static final String CONTAINER_USER = "admin";
    /** Where standin.py lives inside {@link #HOST_IMAGE}. */
    public static final String CONTAINER_STANDIN = "/usr/local/bin/standin.py";
    /** The login user {@code .ci/setup.sh} creates for {@link LoopbackFleet}. */
    public static final String LOOPBACK_USER = "obplay";
    /** OpenSSH's server binary (must be run by absolute path). */
    public static final Path SSHD = Path.of("/usr/sbin/sshd");

    static final String SETUP_HINT =
            "run `sudo bash .ci/setup.sh` (Debian 12) or `src/test/docker/build-images.sh`; "
                    + "to skip host-level tests instead: -Dobplay.skipHostTests=true";

    private static volatile Boolean dockerAvailable;

    private TestHosts() {
    }

    // ------------------------------------------------------------------------------------------
    // paths

    /** {@code $OBPLAY_CACHE}, else {@code $HOME/.cache/obplay} (the same rule as build-images.sh). */
    public static Path cacheDir() {
        String env = System.getenv("OBPLAY_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String home = System.getenv("HOME");
        if (home == null || home.isBlank()) {
            home = System.getProperty("user.home");
        }
        return Path.of(home, ".cache", "obplay");
    }

    /** The test private key (OpenSSH ed25519, no passphrase). */
    public static Path keyFile() {
        String env = System.getenv("OBPLAY_TEST_KEY");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return cacheDir().resolve(KEY_PATH_IN_CACHE);
    }

    public static Path publicKeyFile() {
        return Path.of(keyFile() + ".pub");
    }

    /** The project directory (the one holding {@code examples/standin/standin.py}). */
    public static Path projectDir() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("examples/standin/standin.py"))) {
                return p;
            }
        }
        throw new IllegalStateException("examples/standin/standin.py not found above " + dir);
    }

    public static Path standinScript() {
        return projectDir().resolve("examples/standin/standin.py");
    }

    /** The system Python 3 (not a pyenv shim, which costs ~100 ms per call), else python3 on PATH. */
    public static String python() {
        return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }

    // ------------------------------------------------------------------------------------------
    // availability

    /** True when a Docker daemon answers (Testcontainers' own check; the result is cached). */
    public static boolean dockerAvailable() {
        Boolean b = dockerAvailable;
        if (b == null) {
            try {
                b = DockerClientFactory.instance().isDockerAvailable();
            } catch (Throwable t) {
                b = false;
            }
            dockerAvailable = b;
        }
        return b;
    }

    /** True when {@link #HOST_IMAGE} exists in the local Docker daemon. */
    public static boolean hostImageAvailable() {
        if (!dockerAvailable()) {
            return false;
        }
        try {
            DockerClientFactory.instance().client().inspectImageCmd(HOST_IMAGE).exec();
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** Docker and {@link #HOST_IMAGE} must be there: fails (or skips, when asked) otherwise. */
    public static void requireHostImage() {
        if (!dockerAvailable()) {
            unavailable("no Docker daemon answers");
        } else if (!hostImageAvailable()) {
            unavailable("the image " + HOST_IMAGE + " does not exist");
        }
        requireKey();
    }

    /** OpenSSH's sshd and the test key must be there: fails (or skips, when asked) otherwise. */
    public static void requireSshd() {
        if (!Files.isExecutable(SSHD)) {
            unavailable(SSHD + " is not installed (apt-get install openssh-server)");
        }
        requireKey();
    }

    static void requireKey() {
        if (!Files.isReadable(keyFile()) || !Files.isReadable(publicKeyFile())) {
            unavailable("the test key " + keyFile() + " (and .pub) does not exist");
        }
    }

    static boolean skipRequested() {
        return Boolean.getBoolean("obplay.skipHostTests")
                || "true".equalsIgnoreCase(System.getenv("OBPLAY_SKIP_HOST_TESTS"));
    }

    private static void unavailable(String why) {
        String msg = "real test hosts unavailable: " + why + "; " + SETUP_HINT;
        if (skipRequested()) {
            Assumptions.abort(msg);
        }
        Assertions.fail(msg);
    }

    // ------------------------------------------------------------------------------------------
    // processes and ports on this machine

    /** True if the local process exists and is not a zombie (this VM's PID 1 does not reap). */
    /** Kills (KILL) every local process whose cwd lies under {@code dir}: what a test's stand-ins left running. */
    public static void killProcessesUnder(Path dir) throws java.io.IOException {
        String root = dir.toRealPath().toString();
        try (java.util.stream.Stream<Path> procs = java.nio.file.Files.list(Path.of("/proc"))) {
            procs.filter(p -> p.getFileName().toString().matches("[0-9]+")).forEach(p -> {
                try {
                    if (p.resolve("cwd").toRealPath().toString().startsWith(root)) {
                        ProcessHandle.of(Long.parseLong(p.getFileName().toString())).ifPresent(ProcessHandle::destroyForcibly);
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    // gone, or not ours to read
                }
            });
        }
    }

    public static boolean localPidAlive(long pid) {
        if (pid <= 0) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.UTF_8);
            String rest = stat.substring(stat.lastIndexOf(')') + 2);
            char state = rest.charAt(0);
            return state != 'Z' && state != 'X' && state != 'x';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** A port the kernel just handed out on {@code bindAddress} (free now; callers must retry on a race). */
    public static int freePort(String bindAddress) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(bindAddress, 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free port on " + bindAddress, e);
        }
    }

    public static boolean canConnect(String host, int port, int timeoutMillis) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), timeoutMillis);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Polls every 50 ms until {@code condition} holds; false on timeout. */
    public static boolean await(BooleanSupplier condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    /** Result of {@link #run(Duration, List)}. */
    public record Run(int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }

        @Override
        public String toString() {
            return "exit=" + exitCode + " stdout=" + stdout.strip() + " stderr=" + stderr.strip();
        }
    }

    /** Runs a local command, stdin closed, and returns its output (exit code -1 on timeout). */
    public static Run run(Duration timeout, List<String> cmd) {
        try {
            Path out = Files.createTempFile("obplay-run", ".out");
            Path err = Files.createTempFile("obplay-run", ".err");
            try {
                Process p = new ProcessBuilder(cmd)
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile())
                        .start();
                int code;
                if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    code = p.exitValue();
                } else {
                    p.destroyForcibly();
                    code = -1;
                }
                return new Run(code, Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + cmd, e);
        }
    }

    public static Run run(Duration timeout, String... cmd) {
        return run(timeout, List.of(cmd));
    }

    /** The system ssh client with only the test key and the given known_hosts (nothing from ~/.ssh). */
    public static List<String> sshCommand(Path knownHosts, String user, String host, int port, String command) {
        List<String> cmd = new ArrayList<>(List.of(
                "ssh", "-F", "/dev/null",
                "-i", keyFile().toString(),
                "-o", "IdentitiesOnly=yes",
                "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=" + knownHosts,
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "ConnectTimeout=10",
                "-p", Integer.toString(port),
                user + "@" + host));
        cmd.add(command);
        return cmd;
    }
}
