package io.obplay.run.transport;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.Server;
import io.obplay.inventory.YamlSource;
import io.obplay.run.ExecResult;
import io.obplay.run.HostUnreachableException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The user's OpenSSH client configuration, read through JSch's OpenSSHConfig, against real sshds on loopback:
 * Host patterns, precedence (inventory > file > defaults), a two-hop ProxyJump chain through two real sshds
 * (each jump may forward only to the next hop), a missing IdentityFile, and lines obplay cannot honour.
 */
@Timeout(120)
class SshConfigTest {
    static SshdFixture fx;
    static SshdFixture.Host target;
    static SshdFixture.Host jump2;
    static SshdFixture.Host jump1;

    @TempDir
    Path home;

    @BeforeAll
    static void startFleet() {
        fx = new SshdFixture();
        target = fx.start("127.0.0.4");
        // each jump host may open a forward to the next hop only: a chain taken out of order fails
        jump2 = fx.start("127.0.0.3", "PermitOpen=" + target.address + ":" + target.port);
        jump1 = fx.start("127.0.0.2", "PermitOpen=" + jump2.address + ":" + jump2.port);
    }

    @AfterAll
    static void stopFleet() {
        if (fx != null) {
            fx.close();
        }
    }

    /** The common part of every test config: who we are and how hosts are checked. */
    String common() {
        return "Host *\n"
                + "  User " + fx.user() + "\n"
                + "  IdentityFile " + fx.keyFile() + "\n"
                + "  UserKnownHostsFile " + fx.knownHostsFile() + "\n"
                + "  ConnectTimeout 9\n";
    }

    Path config(String text) throws Exception {
        Path p = home.resolve("ssh_config");
        Files.writeString(p, text);
        return p;
    }

    static Server server(String inventory) throws Exception {
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", inventory));
        return inv.observers().get(0);
    }

    static String inventory(Path config, String host, String ssh) {
        return "cluster: c\nssh: { config: \"" + config + "\"" + (ssh.isEmpty() ? "" : ", " + ssh) + " }\n"
                + "zones:\n  zone1:\n    servers:\n      - host: " + host + "\n";
    }

    String whoAmI(SshTransport t, Server s) throws Exception {
        T.Lines l = new T.Lines();
        ExecResult r = t.connect(s).run("echo \"$SSH_CONNECTION\"", Duration.ofSeconds(30), l);
        assertEquals(0, r.exitCode(), l.err.toString());
        return l.out.get(0);
    }

    @Test
    void hostPatternsGiveHostNamePortUserKeyAndWhereEachCameFrom() throws Exception {
        Path cfg = config("# obplay test\n"
                + "Host ob-target ob-other\n"
                + "  HostName " + target.address + "\n"
                + "  Port " + target.port + "\n"
                + "  ForwardAgent yes\n"
                + "Host ob-*\n"
                + "  ServerAliveInterval 5\n"
                + "  Port 1\n"
                + common());
        Server s = server(inventory(cfg, "ob-target", ""));
        SshResolution r = SshResolution.resolve(s, home.toString());
        assertNull(r.error());
        assertEquals(target.address, r.target().host());
        assertEquals(target.port, r.target().port());
        assertEquals(fx.user(), r.target().settings().user());
        assertEquals(Duration.ofSeconds(9), r.target().settings().connectTimeout());
        assertEquals(Duration.ofSeconds(5), r.target().keepAlive());
        assertEquals(cfg + ":4 (Port " + target.port + ")", origin(r, "port").replace("ssh config ", ""));
        assertEquals("ssh config " + cfg + ":10 (User " + fx.user() + ")", origin(r, "user"));
        assertEquals("ssh config " + cfg + ":11 (IdentityFile " + fx.keyFile() + ")", origin(r, "key"));
        assertEquals(List.of(cfg + ":5: 'ForwardAgent yes' (not used by obplay)"), r.ignored());
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(target.address, whoAmI(t, s).split(" ")[2]);
        }
    }

    @Test
    void theInventoryWinsOverTheFileAndTheFileOverDefaults() throws Exception {
        Path cfg = config("Host ob-target\n"
                + "  HostName " + target.address + "\n"
                + "  Port 1\n"
                + "  User nobody-at-all\n"
                + common());
        // the file's port (1) and user would fail: the inventory's win
        Server s = server(inventory(cfg, "ob-target", "port: " + target.port + ", user: " + fx.user()));
        SshResolution r = SshResolution.resolve(s, home.toString());
        assertEquals(target.port, r.target().port());
        assertTrue(origin(r, "port").startsWith("inventory: top-level ssh (inv.yaml:2:"), origin(r, "port"));
        assertEquals("built-in default", origin(r, "jump"));
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(target.address, whoAmI(t, s).split(" ")[2]);
        }
        // without the inventory's values, the file's apply (and fail, naming the port)
        Server fromFile = server(inventory(cfg, "ob-target", ""));
        try (SshTransport t = new SshTransport(T.options(home).withConnectAttempts(1, Duration.ofMillis(10)))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class, () -> t.connect(fromFile));
            assertTrue(e.getMessage().contains("connection refused"), e.getMessage());
        }
        // config: none ignores the file altogether
        Server none = server("cluster: c\nssh: { config: none }\nzones: { z: { servers: [ { host: ob-target } ] } }\n");
        SshResolution n = SshResolution.resolve(none, home.toString());
        assertNull(n.configFile());
        assertEquals("ob-target", n.target().host());
    }

    @Test
    void aTwoHopProxyJumpChainThroughTwoRealSshds() throws Exception {
        Path cfg = config("Host ob-target\n"
                + "  HostName " + target.address + "\n"
                + "  Port " + target.port + "\n"
                + "  ProxyJump jump-one,jump-two\n"
                + "Host jump-one\n"
                + "  HostName " + jump1.address + "\n"
                + "  Port " + jump1.port + "\n"
                + "Host jump-two\n"
                + "  HostName " + jump2.address + "\n"
                + "  Port " + jump2.port + "\n"
                + common());
        Server s = server(inventory(cfg, "ob-target", ""));
        SshResolution r = SshResolution.resolve(s, home.toString());
        assertNull(r.error());
        assertEquals(List.of(jump1.address, jump2.address), r.jumps().stream().map(SshResolution.Hop::host).toList());
        assertEquals(List.of(jump1.port, jump2.port), r.jumps().stream().map(SshResolution.Hop::port).toList());
        assertEquals("ssh config " + cfg + ":4 (ProxyJump jump-one,jump-two)", origin(r, "jump"));
        try (SshTransport t = new SshTransport(T.options(home))) {
            String[] conn = whoAmI(t, s).split(" ");
            assertEquals(target.address, conn[2]);
            assertEquals(3, t.sessionsOpened(), "jump-one, jump-two, target");
            // the target's TCP peer is jump-two's sshd (the last hop), not this JVM
            T.Result ss = T.run("ss", "-tnpH", "state", "established", "src", conn[0] + ":" + conn[1]);
            assertTrue(ss.stdout().contains("sshd"), ss.toString());
        }
        // a target key not in known_hosts: the hint to fetch it goes through the whole chain
        Path empty = home.resolve("target_known_hosts");
        Files.writeString(empty, "");
        Path unknown = config(Files.readString(cfg).replace("  ProxyJump jump-one,jump-two\n",
                "  ProxyJump jump-one,jump-two\n  UserKnownHostsFile " + empty + "\n"));
        Server behind = server(inventory(unknown, "ob-target", ""));
        try (SshTransport t = new SshTransport(T.options(home))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class, () -> t.connect(behind));
            assertTrue(e.getMessage().contains("ssh -J " + fx.user() + "@" + jump1.address + ":" + jump1.port + " -p " + jump2.port
                    + " " + fx.user() + "@" + jump2.address + " '"), e.getMessage());
        }
        // the same chain in the wrong order is refused by the jump hosts' PermitOpen: the chain is really used
        Path swapped = config(Files.readString(cfg).replace("ProxyJump jump-one,jump-two", "ProxyJump jump-two,jump-one"));
        Server bad = server(inventory(swapped, "ob-target", ""));
        try (SshTransport t = new SshTransport(T.options(home).withConnectAttempts(1, Duration.ofMillis(10)))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class, () -> t.connect(bad));
            assertTrue(e.getMessage().contains("refused to forward"), e.getMessage());
        }
    }

    @Test
    void aJumpHostsOwnProxyJumpComesFromTheSameFile() throws Exception {
        Path cfg = config("Host ob-target\n"
                + "  HostName " + target.address + "\n"
                + "  Port " + target.port + "\n"
                + "  ProxyJump jump-two\n"
                + "Host jump-two\n"
                + "  HostName " + jump2.address + "\n"
                + "  Port " + jump2.port + "\n"
                + "  ProxyJump jump-one\n"
                + "Host jump-one\n"
                + "  HostName " + jump1.address + "\n"
                + "  Port " + jump1.port + "\n"
                + common());
        Server s = server(inventory(cfg, "ob-target", ""));
        SshResolution r = SshResolution.resolve(s, home.toString());
        assertEquals(List.of("jump-one", "jump-two"), r.jumps().stream().map(SshResolution.Hop::alias).toList());
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(target.address, whoAmI(t, s).split(" ")[2]);
            assertEquals(3, t.sessionsOpened());
        }
    }

    @Test
    void anIdentityFileThatDoesNotExistIsAClearError() throws Exception {
        Path cfg = config("Host ob-target\n"
                + "  HostName " + target.address + "\n"
                + "  Port " + target.port + "\n"
                + "  IdentityFile ~/.ssh/no-such-key\n"
                + common());
        Server s = server(inventory(cfg, "ob-target", ""));
        try (SshTransport t = new SshTransport(T.options(home))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class, () -> t.connect(s));
            assertEquals("ob-target", e.host());
            assertTrue(e.getMessage().contains("IdentityFile ~/.ssh/no-such-key (ssh config " + cfg + ":4"), e.getMessage());
            assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        }
    }

    @Test
    void linesObplayCannotHonourAreReportedNotDropped() throws Exception {
        Path cfg = config("Host ob-target\n"
                + "  HostName " + target.address + "\n"
                + "  ProxyCommand nc %h %p\n"
                + common());
        Server s = server(inventory(cfg, "ob-target", ""));
        try (SshTransport t = new SshTransport(T.options(home))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class, () -> t.connect(s));
            assertTrue(e.getMessage().contains("ssh config " + cfg + ":3: 'ProxyCommand nc %h %p' is not supported by obplay;"
                    + " expected ProxyJump"), e.getMessage());
        }
        // a host the line does not apply to is not affected
        Server other = server(inventory(cfg, target.address, "port: " + target.port));
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(target.address, whoAmI(t, other).split(" ")[2]);
        }
        // Match: JSch reads Host blocks only, so a file with Match is refused with its line
        Path match = config(common() + "Match host ob-*\n  User x\n");
        SshResolution m = SshResolution.resolve(server(inventory(match, "ob-target", "")), home.toString());
        assertTrue(m.error().contains(match + ":6: 'Match host ob-*': Match blocks are not supported"), m.error());
        // Include: JSch does not read included files, which is said, not hidden
        Path include = config("Include ~/.ssh/other\n" + common());
        SshResolution inc = SshResolution.resolve(server(inventory(include, "ob-target", "")), home.toString());
        assertNull(inc.error());
        assertEquals(List.of(include + ":1: 'Include ~/.ssh/other' (JSch does not read included files: their settings do not apply)"),
                inc.ignored());
        // a config file the inventory names must exist
        SshResolution missing = SshResolution.resolve(server(inventory(home.resolve("nope"), "ob-target", "")), home.toString());
        assertTrue(missing.error().contains("does not exist (ssh.config in the inventory)"), missing.error());
    }

    @Test
    void hostKeyCheckingAndKnownHostsFileFromTheFile() throws Exception {
        Path known = home.resolve("fresh_known_hosts");
        Files.writeString(known, "");
        String block = "Host ob-target\n"
                + "  HostName " + target.address + "\n"
                + "  Port " + target.port + "\n"
                + "  UserKnownHostsFile " + known + "\n"
                + "  IdentitiesOnly yes\n";
        // strict (the default): the file's empty known hosts file does not know the target
        Server strict = server(inventory(config(block + common()), "ob-target", ""));
        try (SshTransport t = new SshTransport(T.options(home))) {
            HostUnreachableException e = assertThrows(HostUnreachableException.class, () -> t.connect(strict));
            assertTrue(e.getMessage().contains(known.toString()), e.getMessage());
        }
        // accept-new from the file: connects and records the key in the file's known hosts file
        Server acceptNew = server(inventory(config(block + "  StrictHostKeyChecking accept-new\n" + common()), "ob-target", ""));
        SshResolution r = SshResolution.resolve(acceptNew, home.toString());
        assertEquals("accept-new", r.target().settings().hostKeyChecking().yamlName());
        assertTrue(r.target().identitiesOnly());
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertEquals(target.address, whoAmI(t, acceptNew).split(" ")[2]);
        }
        assertTrue(Files.readString(known).contains(target.hostKeyLine()), Files.readString(known));
        // the inventory's setting wins over the file's
        Server inventoryStrict = server(inventory(config(block + "  StrictHostKeyChecking no\n" + common()), "ob-target",
                "host_key_checking: strict, known_hosts: " + home.resolve("empty")));
        Files.writeString(home.resolve("empty"), "");
        try (SshTransport t = new SshTransport(T.options(home))) {
            assertThrows(HostUnreachableException.class, () -> t.connect(inventoryStrict));
        }
    }

    static String origin(SshResolution r, String setting) {
        return r.origins().stream().filter(o -> o.setting().equals(setting)).findFirst().orElseThrow().origin();
    }
}
