package io.obplay.run.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.obplay.inventory.HostKeyChecking;
import io.obplay.inventory.SshSettings;
import io.obplay.run.HostUnreachableException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** known_hosts policies against real sshds with ed25519 host keys. */
@Timeout(120)
class SshHostKeyTest {

    SshdFixture fx;
    SshdFixture.Host host;

    @TempDir
    Path home;

    @BeforeEach
    void start() {
        fx = new SshdFixture();
        host = fx.start("127.0.0.4");
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    private SshSettings settings(Path knownHosts, HostKeyChecking mode) {
        return T.with(T.ssh(fx, host), fx.keyFile().toString(), knownHosts.toString(), mode);
    }

    private String fingerprintOf(SshdFixture.Host h) {
        T.Result r = T.mustRun("ssh-keygen", "-l", "-E", "sha256", "-f",
                h.hostDir.resolve("ssh_host_ed25519_key.pub").toString());
        return r.stdout().split(" ")[1];
    }

    @Test
    void unknownKeyIsRefusedUnderStrictWithHowToAccept() throws Exception {
        Path kh = home.resolve("known_hosts");
        Files.writeString(kh, "# nothing yet\n");
        try (SshTransport t = new SshTransport(T.options(home))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class,
                    () -> t.connect(T.server(host.address, settings(kh, HostKeyChecking.STRICT))));
            assertEquals("host key of 127.0.0.4:" + host.port + " is not in " + kh + " (host_key_checking: strict); "
                    + "verify its fingerprint " + fingerprintOf(host) + " (ssh-ed25519) and add it with: ssh-keyscan -p "
                    + host.port + " 127.0.0.4 >> " + kh + ", or set host_key_checking: accept-new", e.getMessage());
            assertEquals(1, t.handshakes(), "host key refusals are not retried");
            assertEquals("# nothing yet\n", Files.readString(kh), "strict never writes");
        }
        // the same under strict when the file does not even exist (the default ~/.ssh/known_hosts)
        SshSettings defaults = T.with(T.ssh(fx, host), fx.keyFile().toString(), "~/.ssh/known_hosts", null);
        try (SshTransport t = new SshTransport(T.options(home))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class,
                    () -> t.connect(T.server(host.address, defaults)));
            assertTrue(e.getMessage().startsWith("host key of 127.0.0.4:" + host.port + " is not in "
                    + home.resolve(".ssh/known_hosts") + " (host_key_checking: strict)"), e.getMessage());
            assertFalse(Files.exists(home.resolve(".ssh")));
        }
    }

    @Test
    void theSuggestedKeyscanCommandMakesStrictWork() throws Exception {
        Path kh = home.resolve("known_hosts");
        T.mustRun("sh", "-c", "ssh-keyscan -p " + host.port + " 127.0.0.4 >> " + kh + " 2>/dev/null");
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(0, t.connect(T.server(host.address, settings(kh, HostKeyChecking.STRICT)))
                    .run("true", Duration.ofSeconds(10), null).exitCode());
        }
    }

    @Test
    void hashedKnownHostsWork() throws Exception {
        Path kh = home.resolve("known_hosts");
        Files.copy(fx.knownHostsFile(), kh);
        T.mustRun("ssh-keygen", "-H", "-f", kh.toString());
        assertFalse(Files.readString(kh).contains("127.0.0.4"), "hashed");
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(0, t.connect(T.server(host.address, settings(kh, HostKeyChecking.STRICT)))
                    .run("true", Duration.ofSeconds(10), null).exitCode());
        }
    }

    @Test
    void acceptNewRecordsTheKeyThenAChangedKeyIsRefused() throws Exception {
        Path kh = home.resolve("fresh/dir/known_hosts");
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(0, t.connect(T.server(host.address, settings(kh, HostKeyChecking.ACCEPT_NEW)))
                    .run("true", Duration.ofSeconds(10), null).exitCode());
        }
        List<String> lines = Files.readAllLines(kh);
        assertEquals(List.of("[127.0.0.4]:" + host.port + " " + host.hostKeyLine()), lines);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(kh)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(kh.getParent())));
        assertTrue(T.run("ssh-keygen", "-F", "[127.0.0.4]:" + host.port, "-f", kh.toString()).ok(),
                "OpenSSH finds the entry");
        // now known: strict accepts it
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(0, t.connect(T.server(host.address, settings(kh, HostKeyChecking.STRICT)))
                    .run("true", Duration.ofSeconds(10), null).exitCode());
        }

        // the "host" is reinstalled: same address and port, new host key
        String oldFingerprint = fingerprintOf(host);
        host.stop();
        fx.forget(host);
        SshdFixture.Host again = fx.start("127.0.0.4", host.port);
        String newFingerprint = fingerprintOf(again);
        for (HostKeyChecking mode : List.of(HostKeyChecking.ACCEPT_NEW, HostKeyChecking.STRICT)) {
            try (SshTransport t = new SshTransport(T.options(home))) {
                HostUnreachableException e = assertThrows(HostUnreachableException.class,
                        () -> t.connect(T.server(again.address, settings(kh, mode))));
                assertEquals("HOST KEY OF 127.0.0.4:" + host.port + " HAS CHANGED - possible man-in-the-middle attack: "
                        + "it offered ssh-ed25519 " + newFingerprint + " but " + kh + " line 1 records ssh-ed25519 "
                        + oldFingerprint + "; refusing to connect (host_key_checking: " + mode.yamlName() + "). If the "
                        + "host was reinstalled, remove the old key with: ssh-keygen -R '[127.0.0.4]:" + host.port
                        + "' -f " + kh, e.getMessage());
                assertEquals(1, t.handshakes());
            }
        }
        assertEquals(lines, Files.readAllLines(kh), "a changed key is never written");
        // the suggested fix works
        T.mustRun("ssh-keygen", "-R", "[127.0.0.4]:" + host.port, "-f", kh.toString());
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(0, t.connect(T.server(again.address, settings(kh, HostKeyChecking.ACCEPT_NEW)))
                    .run("true", Duration.ofSeconds(10), null).exitCode());
        }
    }

    @Test
    void revokedKeyIsRefused() throws Exception {
        Path kh = home.resolve("known_hosts");
        Files.writeString(kh, Files.readString(fx.knownHostsFile()) + "@revoked * " + host.hostKeyLine() + "\n");
        try (SshTransport t = new SshTransport(T.options(home))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class,
                    () -> t.connect(T.server(host.address, settings(kh, HostKeyChecking.ACCEPT_NEW))));
            assertTrue(e.getMessage().contains("is marked @revoked in " + kh + " line 2"), e.getMessage());
        }
    }

    @Test
    void offAcceptsAnythingAndWritesNothing() throws Exception {
        Path kh = home.resolve("known_hosts");
        Files.writeString(kh, "");
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(0, t.connect(T.server(host.address, settings(kh, HostKeyChecking.OFF)))
                    .run("true", Duration.ofSeconds(10), null).exitCode());
        }
        assertEquals("", Files.readString(kh));
    }
}
