package io.obplay.run.transport;

import io.obplay.inventory.HostKeyChecking;
import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.inventory.SshSettings;
import io.obplay.run.OutputSink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Helpers shared by this package's tests. */
final class T {
    private T() {
    }

    static Server server(String host, SshSettings ssh) {
        return new Server(Role.OBSERVER, host + ":2886", "zone1", 0, 0, host, 2886, ssh, "/home/obplay/ob",
                Map.of(), Map.of(), Map.of(), Map.of());
    }

    static SshSettings ssh(SshdFixture fx, SshdFixture.Host h) {
        return new SshSettings(fx.user(), h.port, fx.keyFile().toString(), fx.knownHostsFile().toString(),
                HostKeyChecking.STRICT, Duration.ofSeconds(10), null);
    }

    static Server server(SshdFixture fx, SshdFixture.Host h) {
        return server(h.address, ssh(fx, h));
    }

    static SshSettings with(SshSettings s, String key, String knownHosts, HostKeyChecking mode) {
        return new SshSettings(s.user(), s.port(), key, knownHosts, mode, s.connectTimeout(), s.jump());
    }

    static SshSettings withJump(SshSettings s, String jump) {
        return new SshSettings(s.user(), s.port(), s.key(), s.knownHosts(), s.hostKeyChecking(), s.connectTimeout(),
                jump);
    }

    /** Options for tests: fast retries, the given home (no default keys unless put there), no agent. */
    static SshTransport.Options options(Path home) {
        return SshTransport.Options.defaults().withHome(home.toString()).withAgentSocket(null)
                .withConnectAttempts(3, Duration.ofMillis(100)).withKillGrace(Duration.ofSeconds(2));
    }

    /** Collects output lines, thread-safe. */
    static final class Lines implements OutputSink {
        final List<String> out = Collections.synchronizedList(new ArrayList<>());
        final List<String> err = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void line(boolean stderr, String text) {
            (stderr ? err : out).add(text);
        }
    }

    record Result(int exitCode, String stdout, String stderr) {
        boolean ok() {
            return exitCode == 0;
        }
    }

    /** Runs a local command (stdin empty), 30 s at most. */
    static Result run(String... cmd) {
        try {
            Path out = Files.createTempFile("t", ".out");
            Path err = Files.createTempFile("t", ".err");
            try {
                Process p = new ProcessBuilder(cmd)
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                int code = p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
                if (code == -1) {
                    p.destroyForcibly();
                }
                return new Result(code, Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + List.of(cmd), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static Result mustRun(String... cmd) {
        Result r = run(cmd);
        if (!r.ok()) {
            throw new IllegalStateException(List.of(cmd) + " failed: " + r);
        }
        return r;
    }

    /** Pids of local processes whose full command line matches (pgrep -f). */
    static List<String> pgrep(String pattern) {
        Result r = run("pgrep", "-f", pattern);
        List<String> pids = new ArrayList<>();
        for (String l : r.stdout().split("\n")) {
            if (!l.isBlank()) {
                pids.add(l.strip());
            }
        }
        return pids;
    }

    /**
     * Pids of the live (not zombie) processes whose argv is exactly {@code argv}, read from /proc directly
     * ({@code /proc/<pid>/cmdline} and {@code stat}).
     */
    static List<Long> procs(String... argv) {
        String want = String.join("\0", argv) + "\0";
        List<Long> pids = new ArrayList<>();
        try (java.util.stream.Stream<Path> all = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) all::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), java.nio.charset.StandardCharsets.UTF_8);
                    String stat = Files.readString(p.resolve("stat"));
                    char state = stat.charAt(stat.lastIndexOf(')') + 2);
                    if (cmd.equals(want) && state != 'Z') {
                        pids.add(Long.parseLong(name));
                    }
                } catch (IOException gone) {
                    // exited meanwhile
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc", e);
        }
        return pids;
    }

    /** Polls every 20 ms until the condition holds; false on timeout. */
    static boolean await(BooleanSupplier condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** A sleep duration no other test uses, to find its processes with pgrep. */
    static int uniqueSeconds() {
        return 300_000 + (int) (Math.random() * 600_000);
    }

    static Path newKey(Path dir, String name, String passphrase) {
        Path k = dir.resolve(name);
        mustRun("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", k.toString());
        return k;
    }
}
