package io.obplay.run.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.obplay.inventory.SshSettings;
import io.obplay.run.HostUnreachableException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The handshake's deadlines and how a failed one is named (issue 16, section 9): {@code connect_timeout}
 * covers the TCP connection and the banner, {@code handshake_timeout} the key exchange and authentication; a
 * handshake a deadline cut is a timeout naming its phase, retried; only a key the server refused is an
 * authentication failure. Real sshds; slow authentication is a real sshd whose AuthorizedKeysCommand is slow.
 */
@Timeout(120)
class SshHandshakeTest {

    static SshdFixture fx;
    /** Its AuthorizedKeysCommand takes 3 s, every time. */
    static SshdFixture.Host slowAuth;
    /** Its AuthorizedKeysCommand takes 3 s the first time only. */
    static SshdFixture.Host slowOnce;
    static Path once;

    @TempDir
    Path home;

    @BeforeAll
    static void start() throws IOException {
        fx = new SshdFixture();
        Path keys = fx.dir().resolve("authorized_keys");
        // the command runs as the login user: the first-time marker goes to a directory it can write
        Path marks = Files.createDirectories(fx.dir().resolve("marks"));
        Files.setPosixFilePermissions(marks, PosixFilePermissions.fromString("rwxrwxrwx"));
        once = marks.resolve("once");
        slowAuth = fx.start("127.0.0.7", "AuthorizedKeysFile=none", "AuthorizedKeysCommandUser=" + fx.user(),
                "AuthorizedKeysCommand=/bin/sh -c \"sleep 3; cat " + keys + "\"");
        slowOnce = fx.start("127.0.0.8", "AuthorizedKeysFile=none", "AuthorizedKeysCommandUser=" + fx.user(),
                "AuthorizedKeysCommand=/bin/sh -c \"mkdir " + once + " 2>/dev/null && sleep 3; cat " + keys + "\"");
    }

    @AfterAll
    static void stop() {
        if (fx != null) {
            fx.close();
        }
    }

    static SshSettings settings(SshdFixture.Host h, Duration connect, Duration handshake) {
        return new SshSettings(fx.user(), h.port, fx.keyFile().toString(), fx.knownHostsFile().toString(), null,
                connect, null, handshake);
    }

    SshTransport transport() {
        return new SshTransport(T.options(home).withConnectAttempts(2, Duration.ofMillis(50)));
    }

    @Test
    void connectTimeoutDoesNotCutASlowAuthentication() throws Exception {
        // OpenSSH's ConnectTimeout: TCP and banner only; authentication (3 s here) is handshake_timeout's
        try (SshTransport t = transport()) {
            T.Lines l = new T.Lines();
            assertEquals(0, t.connect(T.server(slowAuth.address, settings(slowAuth, Duration.ofSeconds(1), null)))
                    .run("echo reached", Duration.ofSeconds(20), l).exitCode());
            assertEquals(List.of("reached"), l.out);
            assertEquals(1, t.handshakes(), "in one attempt");
        }
    }

    @Test
    void anAuthenticationCutByTheDeadlineIsATimeoutInThatPhaseAndIsRetried() throws Exception {
        try (SshTransport t = transport()) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class, () -> t.connect(
                    T.server(slowAuth.address, settings(slowAuth, Duration.ofSeconds(5), Duration.ofSeconds(1)))));
            assertEquals("timed out after 1s in user authentication (handshake_timeout) (2 attempts)",
                    e.getMessage());
            assertEquals(2, t.handshakes(), "a timeout is transient: retried");
        }
    }

    @Test
    void aHostSlowOnceIsReachedOnTheRetry() throws Exception {
        try (SshTransport t = transport()) {
            T.Lines l = new T.Lines();
            assertEquals(0, t.connect(T.server(slowOnce.address,
                            settings(slowOnce, Duration.ofSeconds(5), Duration.ofSeconds(1))))
                    .run("echo reached", Duration.ofSeconds(20), l).exitCode());
            assertEquals(List.of("reached"), l.out);
            assertTrue(Files.isDirectory(once), "the first authentication was the slow one");
            assertEquals(2, t.handshakes());
            assertEquals(1, t.sessionsOpened());
        }
    }

    @Test
    void aListenerThatNeverSendsABannerTimesOutWaitingForIt() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
             SshTransport t = transport()) {
            SshSettings s = new SshSettings(fx.user(), silent.getLocalPort(), fx.keyFile().toString(),
                    fx.knownHostsFile().toString(), null, Duration.ofSeconds(1), null, Duration.ofSeconds(30));
            long t0 = System.nanoTime();
            HostUnreachableException e = assertThrows(HostUnreachableException.class,
                    () -> t.connect(T.server("127.0.0.1", s)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals("timed out after 1s waiting for the SSH banner (connect_timeout) (2 attempts)",
                    e.getMessage());
            assertEquals(2, t.handshakes());
            assertTrue(ms >= 2000 && ms < 20_000, "connect_timeout, not handshake_timeout: " + ms + " ms");
        }
    }

    @Test
    void aServerThatStallsAfterItsBannerTimesOutInTheKeyExchange() throws Exception {
        SshdFixture.Host h = fx.start("127.0.0.9");
        try (BannerOnlyRelay relay = new BannerOnlyRelay(h.address, h.port); SshTransport t = transport()) {
            SshSettings s = new SshSettings(fx.user(), relay.port(), fx.keyFile().toString(),
                    fx.knownHostsFile().toString(), io.obplay.inventory.HostKeyChecking.OFF, Duration.ofSeconds(5),
                    null, Duration.ofSeconds(1));
            HostUnreachableException e = assertThrows(HostUnreachableException.class,
                    () -> t.connect(T.server("127.0.0.1", s)));
            assertEquals("timed out after 1s in the key exchange (handshake_timeout) (2 attempts)", e.getMessage());
        } finally {
            h.stop();
            fx.forget(h);
        }
    }

    @Test
    void aConnectionThatIsNeverAcceptedTimesOutInTheTcpConnect() throws Exception {
        // a listener whose accept queue is full: Linux drops further SYNs, the connect hangs like a dead host's
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
             SshTransport t = transport()) {
            List<Socket> fillers = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    Socket f = new Socket();
                    try {
                        f.connect(new InetSocketAddress("127.0.0.1", full.getLocalPort()), 300);
                        fillers.add(f);
                    } catch (IOException queueFull) {
                        f.close();
                    }
                }
                SshSettings s = new SshSettings(fx.user(), full.getLocalPort(), fx.keyFile().toString(),
                        fx.knownHostsFile().toString(), null, Duration.ofSeconds(1), null, Duration.ofSeconds(30));
                HostUnreachableException e = assertThrows(HostUnreachableException.class,
                        () -> t.connect(T.server("127.0.0.1", s)));
                assertEquals("timed out after 1s in the TCP connect (connect_timeout) (2 attempts)", e.getMessage());
            } finally {
                for (Socket f : fillers) {
                    f.close();
                }
            }
        }
    }

    @Test
    void aRefusedKeyIsAnAuthenticationFailureOnceEvenWithAShortDeadline() throws Exception {
        Path wrong = T.newKey(home, "wrong_ed25519", "");
        SshdFixture.Host h = fx.start("127.0.0.10");
        try (SshTransport t = transport()) {
            SshSettings s = new SshSettings(fx.user(), h.port, wrong.toString(), fx.knownHostsFile().toString(),
                    null, Duration.ofSeconds(5), null, Duration.ofSeconds(5));
            HostUnreachableException e = assertThrows(HostUnreachableException.class,
                    () -> t.connect(T.server(h.address, s)));
            assertEquals("authentication failed for user " + fx.user() + " with key " + wrong, e.getMessage());
            assertEquals(1, t.handshakes(), "not retried");
        } finally {
            h.stop();
            fx.forget(h);
        }
    }

    /** Relays one TCP connection at a time to an sshd, but passes on only the server's first line. */
    static final class BannerOnlyRelay implements AutoCloseable {
        private final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        private final List<Socket> open = new ArrayList<>();
        private final Thread acceptor;

        BannerOnlyRelay(String host, int port) throws IOException {
            acceptor = new Thread(() -> {
                while (!listener.isClosed()) {
                    try {
                        Socket client = listener.accept();
                        Socket server = new Socket(host, port);
                        synchronized (open) {
                            open.add(client);
                            open.add(server);
                        }
                        pump(client.getInputStream(), server.getOutputStream(), false);
                        pump(server.getInputStream(), client.getOutputStream(), true);
                    } catch (IOException closed) {
                        return;
                    }
                }
            }, "banner-only-relay");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return listener.getLocalPort();
        }

        private static void pump(InputStream in, OutputStream out, boolean firstLineOnly) {
            Thread p = new Thread(() -> {
                try {
                    int b;
                    boolean passing = true;
                    while ((b = in.read()) >= 0) {
                        if (passing) {
                            out.write(b);
                            out.flush();
                        }
                        if (firstLineOnly && b == '\n') {
                            passing = false; // then swallow the server's key exchange
                        }
                    }
                } catch (IOException closed) {
                    // done
                }
            }, "banner-only-pump");
            p.setDaemon(true);
            p.start();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            synchronized (open) {
                for (Socket s : open) {
                    s.close();
                }
            }
        }
    }
}
