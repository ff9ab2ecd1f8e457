package io.obplay.cli;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static io.obplay.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input at the command line: exit 1, every problem at FILE:LINE:COLUMN on stderr, nothing on stdout, nothing run. */
class CliInputRefusalsTest {
    @TempDir
    Path dir;
    Path inv;
    Path stop;

    @BeforeEach
    void files() throws Exception {
        inv = dir.resolve("inv.yaml");
        Files.writeString(inv, """
                cluster: c
                zones:
                  z1: { servers: [ { host: "2001:DB8::1" }, { host: DB1.Example.com } ] }
                  z2: { servers: [ { host: "::ffff:10.0.0.2" } ] }
                  z3: { servers: [ { host: 10.0.0.3 } ] }
                """);
        stop = dir.resolve("stop.yaml");
        Files.writeString(stop, "name: s\ntargets: { all: true }\nsteps:\n  - stop: {}\n");
    }

    static void refused(CliTest.Result r, String... errs) {
        assertEquals(ExitCodes.INVALID, r.code(), r.err());
        assertEquals("", r.out());
        for (String e : errs) {
            assertTrue(r.err().contains(e), r.err());
        }
    }

    @Test
    void inventoryAndPlaybookInEachOthersPlace() {
        refused(run("plan", "-i", stop.toString(), inv.toString()),
                stop + ":1:1: this is a playbook (it has 'steps'), given as the inventory", "1 problem found; nothing was run.");
        refused(run("validate", "-i", inv.toString(), inv.toString()), inv + ":1:1: this is an inventory (it has 'zones'), given as the playbook");
    }

    @Test
    void absurdGraceIsAnInputErrorNotAnInternalOne() throws Exception {
        Path pb = dir.resolve("grace.yaml");
        Files.writeString(pb, "name: s\ntargets: { all: true }\nsteps:\n  - stop: { grace: 9999999999999999999s }\n  - stop: { grace: 9223372036854775807ms }\n");
        refused(run("plan", "-i", inv.toString(), pb.toString()),
                pb + ":4:20: 'grace' is '9999999999999999999s', far more than 24h; expected a duration from 1ms to 24h",
                pb + ":5:20: 'grace' is '9223372036854775807ms', far more than 24h", "2 problems found; nothing was run.");
        refused(run("run", "--yes", "--state-dir", dir.resolve("state").toString(), "-i", inv.toString(), pb.toString()),
                "2 problems found; nothing was run.");
        assertTrue(!Files.exists(dir.resolve("state")), "nothing was recorded: the state directory was not even made");
    }

    @Test
    void invalidUtf8AndTabs() throws Exception {
        Path bad = dir.resolve("bad.yaml");
        Files.write(bad, new byte[]{'n', 'a', 'm', 'e', ':', ' ', (byte) 0xc3, '(', '\n'});
        refused(run("plan", "-i", inv.toString(), bad.toString()), bad + ":1:7: byte 0xC3 (at offset 6) is not UTF-8");
        Files.writeString(bad, "name: s\ntargets:\n\tall: true\nsteps: [ { stop: {} } ]\n");
        refused(run("plan", "-i", inv.toString(), bad.toString()), bad + ":3:1: a tab is used for indentation");
    }

    @Test
    void hostsAreShownAndMatchedInTheirCanonicalForm() {
        CliTest.Result hosts = run("plan", "-i", inv.toString(), stop.toString(), "--list-hosts");
        assertEquals(0, hosts.code(), hosts.err());
        assertEquals("[2001:db8::1]:2886\ndb1.example.com:2886\n10.0.0.2:2886\n10.0.0.3:2886\n", hosts.out());
        assertEquals("[2001:db8::1]:2886\n", run("plan", "-i", inv.toString(), stop.toString(), "--list-hosts",
                "--limit", "[2001:0db8:0::1]:2886").out());
        assertEquals("[2001:db8::1]:2886\n", run("plan", "-i", inv.toString(), stop.toString(), "--list-hosts",
                "--limit", "2001:db8::1").out());
        assertEquals("db1.example.com:2886\n", run("plan", "-i", inv.toString(), stop.toString(), "--list-hosts",
                "--limit", "DB1.EXAMPLE.COM").out());
        assertEquals("10.0.0.2:2886\n", run("plan", "-i", inv.toString(), stop.toString(), "--list-hosts",
                "--limit", "[::ffff:10.0.0.2]:2886").out());
        assertEquals("db1.example.com:2886\n", run("plan", "-i", inv.toString(), stop.toString(), "--list-hosts",
                "--limit", "DB1.*").out());
        refused(run("plan", "-i", inv.toString(), stop.toString(), "--list-hosts", "--limit", "010.0.0.3"),
                "--limit pattern '010.0.0.3' matches no server ('010' has a leading zero");
        CliTest.Result inventory = run("inventory", "-i", inv.toString(), "--host", "DB1.example.COM.");
        assertEquals(0, inventory.code(), inventory.err());
        assertTrue(inventory.out().contains("db1.example.com:2886"), inventory.out());
    }

    @Test
    void agentIsCheckedLikeInventoryHostsAndPorts() {
        refused(run("plan", "-i", inv.toString(), stop.toString(), "--agent", "010.0.0.1:2886"),
                "--agent must be IP:PORT (or [IPv6]:PORT), got '010.0.0.1:2886': '010' has a leading zero");
        refused(run("plan", "-i", inv.toString(), stop.toString(), "--agent", "10.0.0.1:0"),
                "--agent must be IP:PORT (or [IPv6]:PORT), got '10.0.0.1:0': the port '0' is not a port number from 1 to 65535");
        refused(run("plan", "-i", inv.toString(), stop.toString(), "--agent", "10.0.0.1:99999"), "the port '99999' is not a port number");
        refused(run("plan", "-i", inv.toString(), stop.toString(), "--agent", "10.0.0.1"), "got '10.0.0.1': it has no port");
        refused(run("plan", "-i", inv.toString(), stop.toString(), "--agent", "[2001:DB8::9]:2886"),
                "--agent must be an IPv4 address and a port, got '[2001:DB8::9]:2886'");
        CliTest.Result mapped = run("plan", "-i", inv.toString(), stop.toString(), "--agent", "[::ffff:10.0.0.9]:2886", "--format", "obshell");
        assertEquals(0, mapped.code(), mapped.err());
    }

    @Test
    void forksOutOfRange() {
        CliTest.Result r = run("run", "--yes", "--forks", "-3", "--state-dir", dir.resolve("state").toString(), "-i", inv.toString(), stop.toString());
        refused(r, "--forks is -3; expected a number of hosts acted on at once, from 1 to 10000");
        assertTrue(!r.err().contains("Plan:"), r.err());
    }

    @Test
    void valuesWithShellMetacharactersAreShownQuoted() throws Exception {
        Path odd = dir.resolve("odd.yaml");
        Files.writeString(odd, """
                cluster: c
                zones:
                  z1: { servers: [ { host: 10.0.0.1, home_path: "/home/a b/$(touch x)'q\\"" } ] }
                """);
        Path clean = dir.resolve("clean.yaml");
        Files.writeString(clean, "name: s\ntargets: { all: true }\nsteps:\n  - cleanup: { paths: [log] }\n");
        CliTest.Result r = run("plan", "-i", odd.toString(), clean.toString(), "--show-scripts");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("'/home/a b/$(touch x)'\\''q\"/log'"), r.out());
    }

    @Test
    void directoriesOfAnotherServerAreRefused() throws Exception {
        Path two = dir.resolve("two.yaml");
        Files.writeString(two, """
                cluster: c
                zones:
                  z1: { servers: [ { host: 10.0.0.1, redo_dir: /redo } ] }
                  z2: { servers: [ { host: "::FFFF:10.0.0.1", agent_port: 3886, mysql_port: 3881, rpc_port: 3882, home_path: /home/b, redo_dir: /redo } ] }
                """);
        refused(run("validate", "-i", two.toString()), two + ":4:28: on host 10.0.0.1, 10.0.0.1:3886 redo_dir /redo is also 10.0.0.1:2886 redo_dir /redo");
    }
}
