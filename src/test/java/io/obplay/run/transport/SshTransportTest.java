package io.obplay.run.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.obplay.inventory.SshSettings;
import io.obplay.run.Connection;
import io.obplay.run.ExecResult;
import io.obplay.run.HostUnreachableException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** SshTransport against real OpenSSH sshds on loopback (SshdFixture), logging in as a /bin/sh user. */
@Timeout(120)
class SshTransportTest {

    static SshdFixture fx;
    static SshdFixture.Host h0;
    static SshdFixture.Host h1;

    @TempDir
    Path home;

    @BeforeAll
    static void startFleet() {
        fx = new SshdFixture();
        h0 = fx.start("127.0.0.2");
        h1 = fx.start("127.0.0.3");
    }

    @AfterAll
    static void stopFleet() {
        if (fx != null) {
            fx.close();
        }
    }

    @Test
    void offersNoKeyExchangeThatNeedsBouncyCastle() {
        // not on the class path here: JSch's post-quantum hybrids are left out, the rest kept in order
        assertEquals("curve25519-sha256,ecdh-sha2-nistp256", SshTransport.kex(
                "mlkem768x25519-sha256,curve25519-sha256,sntrup761x25519-sha512@openssh.com,ecdh-sha2-nistp256"));
        assertFalse(SshTransport.KEX.contains("mlkem") || SshTransport.KEX.contains("sntrup"), SshTransport.KEX);
        assertTrue(SshTransport.KEX.contains("curve25519-sha256"), SshTransport.KEX);
    }

    @Test
    void runsAScriptWithOutputStderrExitCodeAndAnyCharacters() throws Exception {
        try (SshTransport t = new SshTransport(T.options(home))) {
            Connection c = t.connect(T.server(fx, h0));
            T.Lines lines = new T.Lines();
            String script = "echo \"user=$(id -un)\"\n"
                    + "echo 'single '\"'\"' quote' \"dollar \\$HOME\" back\\\\slash 'caf\u00e9 \u4e2d'\n"
                    + "echo to-stderr >&2\n"
                    + "cat </dev/stdin; echo \"stdin-was-empty args=$# zero=$0\"\n"
                    + "printf 'no-newline-at-end'\n"
                    + "exit 7\n";
            ExecResult r = c.run(script, Duration.ofSeconds(30), lines);
            assertEquals(7, r.exitCode(), () -> lines.out + " " + lines.err);
            assertFalse(r.timedOut());
            assertFalse(r.ok());
            assertEquals(List.of("user=" + fx.user(),
                    "single ' quote dollar $HOME back\\slash caf\u00e9 \u4e2d",
                    "stdin-was-empty args=0 zero=sh",
                    "no-newline-at-end"), lines.out, "the pgid line is private; the last line has no newline");
            assertEquals(List.of("to-stderr"), lines.err);
            assertTrue(r.elapsed().toMillis() >= 0 && r.elapsed().toMillis() < 30_000);

            ExecResult ok = c.run("true", Duration.ofSeconds(10), null);
            assertTrue(ok.ok());
            // how much of the time went to opening a channel and sending the script: some, and not all of it
            ExecResult slow = c.run("sleep 0.3", Duration.ofSeconds(10), null);
            assertTrue(slow.opening().toNanos() > 0, slow.toString());
            assertTrue(slow.elapsed().minus(slow.opening()).toMillis() >= 300, slow.toString());
        }
    }

    @Test
    void largeOutputArrivesCompleteAndInOrder() throws Exception {
        try (SshTransport t = new SshTransport(T.options(home))) {
            Connection c = t.connect(T.server(fx, h0));
            T.Lines lines = new T.Lines();
            ExecResult r = c.run("i=0; while [ $i -lt 20000 ]; do echo \"line $i\"; i=$((i+1)); done; "
                    + "head -c 300000 /dev/zero | tr '\\0' 'x'; echo", Duration.ofSeconds(60), lines);
            assertEquals(0, r.exitCode());
            assertEquals(20001, lines.out.size());
            for (int i = 0; i < 20000; i += 997) {
                assertEquals("line " + i, lines.out.get(i));
            }
            assertEquals(300000, lines.out.get(20000).length());
        }
    }

    @Test
    void twentyRunsReuseOneSessionAndConcurrentConnectsShareOneHandshake() throws Exception {
        try (SshTransport t = new SshTransport(T.options(home))) {
            ExecutorService pool = Executors.newFixedThreadPool(20);
            try {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Connection>> fs = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    fs.add(pool.submit(() -> {
                        go.await();
                        return t.connect(T.server(fx, h1));
                    }));
                }
                go.countDown();
                Connection first = fs.get(0).get();
                for (Future<Connection> f : fs) {
                    assertSame(first, f.get(), "one connection per host");
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(1, t.handshakes(), "20 concurrent connects, one handshake");
            Set<String> sshConnection = new HashSet<>();
            for (int i = 0; i < 20; i++) {
                T.Lines l = new T.Lines();
                ExecResult r = t.connect(T.server(fx, h1)).run("echo $SSH_CONNECTION", Duration.ofSeconds(10), l);
                assertEquals(0, r.exitCode());
                sshConnection.add(l.out.get(0));
            }
            assertEquals(1, t.handshakes());
            assertEquals(1, t.sessionsOpened());
            // sshd's view: every command came over the same TCP connection (same client port)
            assertEquals(1, sshConnection.size(), sshConnection.toString());
            assertTrue(sshConnection.iterator().next().endsWith(h1.address + " " + h1.port));
        }
    }

    @Test
    void timeoutEndsTheRemoteScriptAndItsChildren() throws Exception {
        int n = T.uniqueSeconds();
        String pattern = "^sleep (" + n + "|" + (n + 1) + "|" + (n + 2) + ")$";
        try (SshTransport t = new SshTransport(T.options(home))) {
            Connection c = t.connect(T.server(fx, h0));
            T.Lines lines = new T.Lines();
            AtomicReference<List<String>> seen = new AtomicReference<>(List.of());
            Thread watcher = new Thread(() -> T.await(() -> {
                seen.set(T.pgrep(pattern));
                return seen.get().size() == 3;
            }, Duration.ofSeconds(10)));
            watcher.start();
            // one child ignores TERM: it takes the KILL after the grace period (2 s here)
            ExecResult r = c.run("echo started; sleep " + n + " & sh -c 'trap \"\" TERM; sleep " + (n + 2) + "' & "
                    + "sleep " + (n + 1) + "; echo never", Duration.ofSeconds(2), lines);
            watcher.join();
            assertTrue(r.timedOut());
            assertFalse(r.ok());
            assertEquals(3, seen.get().size(), "the three sleeps ran: " + seen.get());
            assertEquals(List.of("started"), lines.out);
            assertTrue(r.elapsed().toMillis() >= 4000 && r.elapsed().toMillis() < 10000,
                    "timeout + grace before KILL: " + r.elapsed());
            List<String> left = T.pgrep(pattern);
            T.run("pkill", "-KILL", "-f", pattern);
            assertEquals(List.of(), left, "the script's whole process tree is gone when run() returns");
            assertEquals(null, r.leftRunning(), "and obplay proved it");
            // the session is still usable afterwards
            assertEquals(0, c.run("true", Duration.ofSeconds(10), null).exitCode());
            assertEquals(1, t.handshakes());
        }
    }

    @Test
    void interruptEndsTheRemoteScriptAndThrows() throws Exception {
        int n = T.uniqueSeconds();
        String pattern = "^sleep (" + n + "|" + (n + 1) + ")$";
        try (SshTransport t = new SshTransport(T.options(home))) {
            Connection c = t.connect(T.server(fx, h0));
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicReference<Boolean> interruptFlag = new AtomicReference<>();
            Thread runner = new Thread(() -> {
                try {
                    c.run("sleep " + n + " & sleep " + (n + 1), Duration.ofMinutes(5), null);
                } catch (Throwable e) {
                    thrown.set(e);
                }
                interruptFlag.set(Thread.currentThread().isInterrupted());
            });
            runner.start();
            try {
                assertTrue(T.await(() -> T.pgrep(pattern).size() == 2, Duration.ofSeconds(10)));
                long t0 = System.nanoTime();
                runner.interrupt();
                runner.join(15_000);
                assertFalse(runner.isAlive());
                assertTrue(thrown.get() instanceof io.obplay.run.ScriptCancelledException s
                        && s.leftRunning() == null, String.valueOf(thrown.get()));
                assertTrue((System.nanoTime() - t0) / 1_000_000 < 5000, "promptly");
                assertEquals(List.of(), T.pgrep(pattern), "remote processes ended before run() threw");
            } finally {
                runner.interrupt();
                T.run("pkill", "-KILL", "-f", pattern); // leave nothing behind even when an assertion failed
            }
        }
    }

    @Test
    void concurrentRunsOnOneSession() throws Exception {
        try (SshTransport t = new SshTransport(T.options(home))) {
            Connection c = t.connect(T.server(fx, h1));
            ExecutorService pool = Executors.newFixedThreadPool(24);
            try {
                List<Future<String>> fs = new ArrayList<>();
                for (int i = 0; i < 24; i++) {
                    int k = i;
                    fs.add(pool.submit(() -> {
                        T.Lines l = new T.Lines();
                        ExecResult r = c.run("sleep 0.3; echo run-" + k + "; echo err-" + k + " >&2; exit " + (k % 3),
                                Duration.ofSeconds(30), l);
                        assertEquals(k % 3, r.exitCode());
                        assertEquals(List.of("err-" + k), l.err);
                        return l.out.get(0);
                    }));
                }
                for (int i = 0; i < 24; i++) {
                    assertEquals("run-" + i, fs.get(i).get());
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(1, t.handshakes());
        }
    }

    @Test
    void wrongKeyIsAnAuthenticationFailureWithoutRetries() throws Exception {
        Path wrong = home.resolve("wrong_ed25519");
        T.newKey(home, "wrong_ed25519", "");
        SshSettings s = T.with(T.ssh(fx, h0), wrong.toString(), fx.knownHostsFile().toString(), null);
        try (SshTransport t = new SshTransport(T.options(home))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class,
                    () -> t.connect(T.server(h0.address, s)));
            assertEquals("authentication failed for user " + fx.user() + " with key " + wrong, e.getMessage());
            assertEquals(h0.address, e.host());
            assertEquals(1, t.handshakes(), "auth failures are not retried");
        }
    }

    @Test
    void missingKeyFileAndEncryptedKeyAreExplained() throws Exception {
        Path enc = home.resolve("enc_ed25519");
        T.newKey(home, "enc_ed25519", "secret");
        try (SshTransport t = new SshTransport(T.options(home))) {
            SshSettings missing = T.with(T.ssh(fx, h0), "~/nope/id_ed25519", fx.knownHostsFile().toString(), null);
            HostUnreachableException e = assertThrows(HostUnreachableException.class,
                    () -> t.connect(T.server(h0.address, missing)));
            assertEquals("key file " + home.resolve("nope/id_ed25519") + " does not exist", e.getMessage());
            SshSettings encrypted = T.with(T.ssh(fx, h0), enc.toString(), fx.knownHostsFile().toString(), null);
            e = assertThrows(HostUnreachableException.class, () -> t.connect(T.server(h0.address, encrypted)));
            assertTrue(e.getMessage().contains("protected by a passphrase") && e.getMessage().contains("ssh-add"),
                    e.getMessage());
            SshSettings none = T.with(T.ssh(fx, h0), null, fx.knownHostsFile().toString(), null);
            e = assertThrows(HostUnreachableException.class, () -> t.connect(T.server(h0.address, none)));
            assertTrue(e.getMessage().startsWith("no SSH key to log in with"), e.getMessage());
            assertEquals(0, t.handshakes(), "nothing to try: no connection attempted");
        }
    }

    @Test
    void defaultKeyFilesInHomeAreUsedWhenNoKeyIsSet() throws Exception {
        Path ssh = Files.createDirectories(home.resolve(".ssh"));
        Files.copy(fx.keyFile(), ssh.resolve("id_ed25519"));
        SshSettings s = T.with(T.ssh(fx, h0), null, fx.knownHostsFile().toString(), null);
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(0, t.connect(T.server(h0.address, s)).run("true", Duration.ofSeconds(10), null).exitCode());
        }
    }

    @Test
    void sshAgentIsUsedWhenNoKeyIsSet() throws Exception {
        Path sock = home.resolve("agent.sock");
        Process agent = new ProcessBuilder("ssh-agent", "-D", "-a", sock.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            assertTrue(T.await(() -> Files.exists(sock), Duration.ofSeconds(10)), "agent socket");
            SshSettings s = T.with(T.ssh(fx, h0), null, fx.knownHostsFile().toString(), null);
            // an empty agent: authentication fails and says which keys were tried
            try (SshTransport t = new SshTransport(T.options(home).withAgentSocket(sock.toString()))) {
                HostUnreachableException e = assertThrows(HostUnreachableException.class,
                        () -> t.connect(T.server(h0.address, s)));
                assertEquals("authentication failed for user " + fx.user() + " with the keys in ssh-agent ("
                        + sock + ")", e.getMessage());
            }
            T.mustRun("sh", "-c", "SSH_AUTH_SOCK=" + sock + " ssh-add " + fx.keyFile());
            try (SshTransport t = new SshTransport(T.options(home).withAgentSocket(sock.toString()))) {
                T.Lines l = new T.Lines();
                assertEquals(0, t.connect(T.server(h0.address, s)).run("id -un", Duration.ofSeconds(10), l)
                        .exitCode());
                assertEquals(List.of(fx.user()), l.out);
            }
        } finally {
            agent.destroy();
        }
    }

    @Test
    void closedPortIsConnectionRefusedAfterRetries() throws Exception {
        int port = SshdFixture.freePort("127.0.0.1");
        SshSettings s = new SshSettings(fx.user(), port, fx.keyFile().toString(),
                fx.knownHostsFile().toString(), null, Duration.ofSeconds(5), null);
        try (SshTransport t = new SshTransport(T.options(home))) {
            long t0 = System.nanoTime();
            HostUnreachableException e = assertThrows(HostUnreachableException.class,
                    () -> t.connect(T.server("127.0.0.1", s)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals("connection refused (3 attempts)", e.getMessage());
            assertEquals(3, t.handshakes());
            // backoff 100 ms then 200 ms, each x0.5..1.5
            assertTrue(ms >= 150, "backed off between attempts: " + ms + " ms");
        }
    }

    @Test
    void silentServerTimesOut() throws Exception {
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getByName("127.0.0.1"))) {
            SshSettings s = new SshSettings(fx.user(), silent.getLocalPort(), fx.keyFile().toString(),
                    fx.knownHostsFile().toString(), null, Duration.ofSeconds(1), null);
            try (SshTransport t = new SshTransport(T.options(home).withConnectAttempts(2, Duration.ofMillis(50)))) {
                long t0 = System.nanoTime();
                HostUnreachableException e = assertThrows(HostUnreachableException.class,
                        () -> t.connect(T.server("127.0.0.1", s)));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertEquals("timed out after 1s waiting for the SSH banner (connect_timeout) (2 attempts)",
                        e.getMessage());
                assertTrue(ms >= 2000 && ms < 6000, ms + " ms");
            }
        }
    }

    @Test
    void lostSessionMidCommandIsHostUnreachableAndTheNextConnectReconnects() throws Exception {
        try (SshTransport t = new SshTransport(T.options(home))) {
            int n = T.uniqueSeconds();
            Connection c = t.connect(T.server(fx, h1));
            T.Lines l = new T.Lines();
            // kill the sshd process serving this very connection (the script's grandparent: sshd user child)
            ExecResult probe = c.run("echo $PPID", Duration.ofSeconds(10), l);
            assertEquals(0, probe.exitCode());
            String sshdChild = l.out.get(0);
            Thread killer = new Thread(() -> {
                try {
                    Thread.sleep(500);
                } catch (InterruptedException ignored) {
                    return;
                }
                T.run("kill", "-9", sshdChild);
            });
            killer.start();
            HostUnreachableException e;
            try {
                e = assertThrows(HostUnreachableException.class,
                        () -> c.run("sleep " + n, Duration.ofSeconds(60), null));
            } finally {
                killer.join();
                T.run("pkill", "-f", "^sleep " + n + "$"); // orphaned on the host: a lost session cannot end it
            }
            assertTrue(e.getMessage().contains("lost") && e.getMessage().contains("may still run on " + h1.address),
                    "the orphaned script is not called ended: " + e.getMessage());
            Connection again = t.connect(T.server(fx, h1));
            assertNotEquals(c, again);
            assertEquals(0, again.run("true", Duration.ofSeconds(10), null).exitCode());
            assertEquals(2, t.sessionsOpened());
        }
    }

    @Test
    void jumpsThroughABastionWhoseSessionIsShared() throws Exception {
        String jump = fx.user() + "@" + h0.address + ":" + h0.port;
        SshSettings base = T.ssh(fx, h1);
        SshSettings viaBastion = new SshSettings(base.user(), base.port(), base.key(), base.knownHosts(),
                base.hostKeyChecking(), base.connectTimeout(), jump);
        try (SshTransport t = new SshTransport(T.options(home))) {
            T.Lines l = new T.Lines();
            ExecResult r = t.connect(T.server(h1.address, viaBastion)).run("echo $SSH_CONNECTION",
                    Duration.ofSeconds(20), l);
            assertEquals(0, r.exitCode(), l.err.toString());
            String[] conn = l.out.get(0).split(" ");
            assertEquals(h1.address, conn[2]);
            // the TCP connection the target sees comes from the bastion's sshd, not from this JVM
            T.Result ss = T.run("ss", "-tnpH", "state", "established", "src", conn[0] + ":" + conn[1]);
            assertTrue(ss.stdout().contains("sshd"), "owner of " + conn[0] + ":" + conn[1] + ": " + ss);
            assertFalse(ss.stdout().contains("java"), ss.toString());
            assertEquals(2, t.sessionsOpened(), "bastion + target");
            // the bastion's session is the one a direct connection to that host uses
            T.Lines b = new T.Lines();
            t.connect(T.server(fx, h0)).run("echo $SSH_CONNECTION", Duration.ofSeconds(10), b);
            assertEquals(2, t.sessionsOpened(), "bastion session reused");
            // a second command on the jumped host reuses everything
            assertEquals(0, t.connect(T.server(h1.address, viaBastion)).run("true", Duration.ofSeconds(10), null)
                    .exitCode());
            assertEquals(2, t.handshakes());
        }
    }

    @Test
    void bastionThatCannotReachTheTargetIsReported() throws Exception {
        int closed = SshdFixture.freePort("127.0.0.1");
        String jump = fx.user() + "@" + h0.address + ":" + h0.port;
        SshSettings viaBastion = new SshSettings(fx.user(), closed, fx.keyFile().toString(),
                fx.knownHostsFile().toString(), null, Duration.ofSeconds(5), jump);
        try (SshTransport t = new SshTransport(T.options(home))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class,
                    () -> t.connect(T.server("127.0.0.1", viaBastion)));
            assertEquals("bastion " + h0.address + ":" + h0.port + " could not connect to 127.0.0.1:" + closed
                    + " (connection refused or host unreachable from the bastion) (3 attempts)", e.getMessage());
            assertEquals(1, t.sessionsOpened(), "the bastion itself was fine");
        }
    }

    @Test
    void silentTargetBehindABastionTimesOut() throws Exception {
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getByName("127.0.0.1"))) {
            String jump = fx.user() + "@" + h0.address + ":" + h0.port;
            SshSettings s = new SshSettings(fx.user(), silent.getLocalPort(), fx.keyFile().toString(),
                    fx.knownHostsFile().toString(), null, Duration.ofSeconds(1), jump);
            try (SshTransport t = new SshTransport(T.options(home).withConnectAttempts(2, Duration.ofMillis(50)))) {
                long t0 = System.nanoTime();
                HostUnreachableException e = assertThrows(HostUnreachableException.class,
                        () -> t.connect(T.server("127.0.0.1", s)));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertEquals("timed out after 1s waiting for the SSH banner (connect_timeout) (2 attempts)",
                        e.getMessage());
                assertTrue(ms >= 2000 && ms < 8000, ms + " ms");
                // the bastion's session survived the target's failures and is still usable
                assertEquals(0, t.connect(T.server(fx, h0)).run("true", Duration.ofSeconds(10), null).exitCode());
                assertEquals(1, t.sessionsOpened());
            }
        }
    }

    @Test
    void unreachableBastionIsNamedInTheReason() throws Exception {
        int closed = SshdFixture.freePort("127.0.0.1");
        SshSettings s = T.withJump(T.ssh(fx, h1), "nobody@127.0.0.1:" + closed);
        try (SshTransport t = new SshTransport(T.options(home))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class,
                    () -> t.connect(T.server(h1.address, s)));
            assertEquals("bastion nobody@127.0.0.1:" + closed + ": connection refused (3 attempts)", e.getMessage());
            assertEquals(h1.address, e.host());
        }
    }

    @Test
    void scriptKilledByASignalIsNotALostConnection() throws Exception {
        try (SshTransport t = new SshTransport(T.options(home))) {
            Connection c = t.connect(T.server(fx, h0));
            T.Lines l = new T.Lines();
            ExecResult r = c.run("echo before; kill -9 $$", Duration.ofSeconds(10), l);
            assertEquals(-1, r.exitCode(), "no exit status: sshd reports a signal");
            assertFalse(r.timedOut());
            assertEquals(List.of("before"), l.out);
            assertEquals(0, c.run("true", Duration.ofSeconds(10), null).exitCode(), "session fine");
        }
    }
}
