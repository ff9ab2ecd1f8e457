package io.obplay.inventory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.obplay.inventory.InventoryLoaderTest.load;
import static io.obplay.inventory.InventoryLoaderTest.problems;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Issue 9 §6 and issue 16 §4, §5: bad inventories are refused at FILE:LINE:COLUMN, with what was expected. */
class InventoryLoaderRefusalsTest {

    static List<String> problemsOf(byte[] bytes, @TempDir Path dir) throws Exception {
        Path f = dir.resolve("inv.yaml");
        Files.write(f, bytes);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> InventoryLoader.load(f));
        return e.problems().stream().map(Problem::toString).map(s -> s.replace(f.toString(), "inv.yaml")).toList();
    }

    static String one(List<String> p) {
        assertEquals(1, p.size(), String.join("\n", p));
        return p.get(0);
    }

    @Test
    void duplicateKeysInOneMapping() {
        assertEquals("inv.yaml:3:1: duplicate key 'zones' in the inventory; expected each key once", one(problems("""
                cluster: c
                zones: { z1: { servers: [ { host: 10.0.0.1 } ] } }
                zones: { z2: { servers: [ { host: 10.0.0.2 } ] } }
                """)));
        assertEquals("inv.yaml:4:34: duplicate key 'host' in a server of zone z1; expected each key once", one(problems("""
                cluster: c
                zones:
                  z1:
                    servers: [ { host: 10.0.0.1, host: 10.0.0.2 } ]
                """)));
    }

    @Test
    void tabsUsedForIndentation() {
        assertEquals("inv.yaml:3:3: a tab is used for indentation; expected spaces (YAML indents with spaces only)",
                problems("cluster: c\nzones:\n  \tz1:\n    servers: [ { host: 10.0.0.1 } ]\n").get(0));
        List<String> p = problems("cluster: c\nzones:\n\tz1: {}\n");
        assertTrue(p.get(0).startsWith("inv.yaml:3:1: a tab is used for indentation"), String.join("\n", p));
        // YAML itself lets a tab separate items inside [ ] or { }; obplay still refuses it at the start of a line
        assertEquals("inv.yaml:4:2: a tab is used for indentation; expected spaces (YAML indents with spaces only)", one(problems(
                "cluster: c\nzones:\n  z1: { servers: [\n \t{ host: 10.0.0.1 } ] }\n")));
    }

    @Test
    void tabsInsideBlockTextAreContent() throws Exception {
        Inventory inv = load("cluster: c\nvars:\n  script: |\n    one\n    \tindented by a tab\nzones:\n  z1:\n    servers: [ { host: 10.0.0.1 } ]\n");
        assertEquals("one\n\tindented by a tab\n", inv.observers().get(0).settings().get("script").value());
    }

    @Test
    void invalidUtf8(@TempDir Path dir) throws Exception {
        byte[] head = "cluster: c\nzones:\n  z1:\n    servers: [ { host: 10.0.0.1, home_path: /data/".getBytes(StandardCharsets.UTF_8);
        byte[] tail = "ob } ]\n".getBytes(StandardCharsets.UTF_8);
        byte[] bytes = new byte[head.length + 1 + tail.length];
        System.arraycopy(head, 0, bytes, 0, head.length);
        bytes[head.length] = (byte) 0xff;
        System.arraycopy(tail, 0, bytes, head.length + 1, tail.length);
        assertEquals("inv.yaml:4:51: byte 0xFF (at offset " + head.length + ") is not UTF-8; expected a file in UTF-8 (paths and names "
                + "are read as UTF-8, never guessed)", one(problemsOf(bytes, dir)));
    }

    @Test
    void aliasBombIsRefusedQuicklyAtTheAnchorThatExplodes() {
        // "billion laughs": 9 levels of 9 aliases, 81 aliases in all, 9^9 = 387,420,489 values written out
        StringBuilder y = new StringBuilder("cluster: c\nvars:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        String prev = "a";
        for (int i = 0; i < 9; i++) {
            String name = "l" + i;
            y.append("  ").append(name).append(": &").append(name).append(" [");
            for (int j = 0; j < 9; j++) {
                y.append(j == 0 ? "" : ", ").append('*').append(prev);
            }
            y.append("]\n");
            prev = name;
        }
        y.append("zones: { z1: { servers: [ { host: 10.0.0.1 } ] } }\n");
        long t0 = System.nanoTime();
        List<String> p = problems(y.toString());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        // 9^7 = 4,782,969 values under l5 (line 9), the first over a million; its anchor '&l5' is at column 7
        assertEquals("inv.yaml:9:7: the anchor 'l5' expands, with its aliases written out, to more than 1000000 nodes (an alias bomb); "
                + "expected a file that means at most 1000000 values", one(p));
        assertTrue(ms < 60_000, ms + " ms");  // not a timing test: a bound that an expansion of 10^8 values would never meet
    }

    @Test
    void tooManyAliasesAreRefusedAtTheFirstOneOverTheLimit() {
        StringBuilder y = new StringBuilder("cluster: c\nobserver: &o { home_path: /home/admin/ob }\nzones:\n  z1:\n    servers:\n");
        for (int i = 0; i < 10_001; i++) {
            y.append("      - { <<: *o, host: 10.0.").append(i / 250).append('.').append(i % 250 + 1).append(" }\n");
        }
        assertEquals("inv.yaml:10006:15: more than 10000 aliases to mappings or lists (a file that expands to a huge tree: an alias bomb); "
                + "expected at most 10000", one(problems(y.toString())));
    }

    @Test
    void manyMergesOfOneDefaultAreFine() throws Exception {
        StringBuilder y = new StringBuilder("cluster: c\nobserver: &d { home_path: /home/admin/ob, mysql_port: 3881 }\nzones:\n  z1:\n    servers:\n");
        for (int i = 0; i < 1_000; i++) {
            y.append("      - { <<: *d, host: 10.0.").append(i / 250).append('.').append(i % 250 + 1).append(" }\n");
        }
        Inventory inv = load(y.toString());
        assertEquals(1_000, inv.observers().size());
        assertEquals(3881, inv.observers().get(999).ports().get("mysql_port"));
    }

    @Test
    void nestingTooDeep() {
        String deep = "cluster: c\nvars:\n  x: " + "[".repeat(60) + "]".repeat(60) + "\n";
        assertEquals("inv.yaml:3:54: mappings and lists nested more than 50 deep; expected at most 50", one(problems(deep)));
    }

    @Test
    void fileOverTheSizeLimit(@TempDir Path dir) throws Exception {
        byte[] big = new byte[YamlSource.MAX_BYTES + 1];
        java.util.Arrays.fill(big, (byte) '#');
        assertEquals("inv.yaml:1:1: the file is " + big.length + " bytes, over obplay's limit of 16 MiB for an inventory or a playbook; "
                + "expected a smaller file", one(problemsOf(big, dir)));
    }

    @Test
    void documentThatIsNotAMapping() {
        assertEquals("inv.yaml:1:1: the inventory must be a mapping (key: value lines); found a list", one(problems("- host: 10.0.0.1\n")));
        assertEquals("inv.yaml:1:1: the inventory must be a mapping (key: value lines); found 'zones'", one(problems("zones\n")));
        assertEquals("inv.yaml:3:6: zone 'z1' needs 'servers', a list of hosts", one(problems("cluster: c\nzones:\n  z1:\n")));
    }

    @Test
    void playbookGivenAsTheInventory() {
        assertEquals("inv.yaml:1:1: this is a playbook (it has 'steps'), given as the inventory; expected an inventory (cluster:, zones:) "
                + "after -i and the playbook as the argument", one(problems("name: x\ntargets: { all: true }\nsteps:\n  - stop: {}\n")));
    }

    @Test
    void absurdAndZeroDurations() {
        List<String> p = problems("""
                cluster: c
                ssh: { connect_timeout: 9999999999999999999s }
                zones:
                  z1:
                    servers: [ { host: 10.0.0.1 } ]
                  z2:
                    ssh: { connect_timeout: 0s }
                    servers: [ { host: 10.0.0.2 }, { host: 10.0.0.3, ssh: { connect_timeout: 2h } } ]
                """);
        assertEquals(List.of(
                "inv.yaml:2:25: 'connect_timeout' is '9999999999999999999s', far more than 10m; expected a duration from 1ms to 10m",
                "inv.yaml:7:29: 'connect_timeout' is '0s', zero; expected a duration from 1ms to 10m",
                "inv.yaml:8:78: 'connect_timeout' is '2h', more than 10m; expected a duration from 1ms to 10m"), p);
    }

    @Test
    void hostsAreCanonicalOrRefusedAtTheirPosition() {
        List<String> p = problems("""
                cluster: c
                zones:
                  z1:
                    servers:
                      - host: 010.0.0.1
                      - host: 10.1
                      - host: "10.0.0.1:2886"
                      - host: "db1\\u200b.example"
                      - host: "db1\\n"
                      - host: "db1;reboot"
                """);
        assertEquals(List.of(
                "inv.yaml:5:15: 'host' is '010.0.0.1': '010' has a leading zero (some tools read it as octal); expected an IPv4 address as "
                        + "four decimal numbers without leading zeros, such as 10.0.1.1",
                "inv.yaml:6:15: 'host' is '10.1': it is a shorthand IPv4 address (2 numbers), which tools read differently; expected four "
                        + "decimal numbers, such as 10.0.1.1",
                "inv.yaml:7:15: 'host' is '10.0.0.1:2886': it holds a port (host:port); expected the host alone (ports are separate settings)",
                "inv.yaml:8:15: 'host' is 'db1\\u200b.example': it holds the invisible character U+200B at character 4; expected an ASCII host name",
                "inv.yaml:9:15: 'host' is 'db1\\n': it holds the control character U+000A at character 4; expected an IP address or a host name",
                "inv.yaml:10:15: 'host' is 'db1;reboot': it holds ';'; expected a host name of letters, digits, '-' and '.', or an IP address"), p);
    }

    @Test
    void oneHostOneIdentity() throws Exception {
        // the same machine spelled two ways is one host: the duplicate is found
        List<String> p = problems("""
                cluster: c
                zones:
                  z1:
                    servers: [ { host: DB1.example.com } ]
                  z2:
                    servers: [ { host: db1.example.com. } ]
                  z3:
                    servers: [ { host: "::ffff:10.0.0.9" } ]
                  z4:
                    servers: [ { host: 10.0.0.9 } ]
                """);
        assertEquals(List.of(
                "inv.yaml:6:24: two servers are both db1.example.com:2886 (zones z1 and z2, first at inv.yaml:4:24); expected each ip:agent_port once",
                "inv.yaml:10:24: two servers are both 10.0.0.9:2886 (zones z3 and z4, first at inv.yaml:8:24); expected each ip:agent_port once"),
                p.stream().filter(s -> s.contains("two servers")).toList());
        Inventory inv = load("""
                cluster: c
                zones:
                  z1:
                    servers: [ { host: "2001:DB8:0:0::1" }, { host: "[2001:db8::2]" }, { host: "::FFFF:10.0.0.3" } ]
                """);
        assertEquals(List.of("[2001:db8::1]:2886", "[2001:db8::2]:2886", "10.0.0.3:2886"), inv.observers().stream().map(Server::name).toList());
        assertEquals("2001:db8::1", inv.observers().get(0).host());
        assertEquals("2001:db8::1", inv.observers().get(0).settings().get("host").value());
    }

    @Test
    void usersPathsVarsAndJumps() {
        List<String> p = problems("""
                cluster: c
                ssh: { user: "admin; rm -rf /" }
                observer: { home_path: "/home/admin/ob\\nx", data_dir: "/data/*" }
                vars: { note: "a\\0b", fine: "line one\\nline two $(id) `id` 'q' \\"dq\\"" }
                zones:
                  z1:
                    ssh: { jump: "ops@010.0.0.1" }
                    servers: [ { host: 10.0.0.1 }, { host: 10.0.0.2, ssh: { jump: "bastion:99999" } } ]
                """);
        assertEquals(List.of(
                "inv.yaml:2:14: 'user' is 'admin; rm -rf /': it holds ';'; expected a user name of letters, digits, '.', '_', '-' (and '@' or '\\' for directory users)",
                "inv.yaml:3:24: 'home_path' is '/home/admin/ob\\nx': it holds a line break (\\n) at character 15; expected a path without control or invisible characters",
                "inv.yaml:3:55: 'data_dir' is '/data/*': it holds '*', which a shell reads as a pattern, while obplay takes every path literally; expected a path without '*', '?' or '['",
                "inv.yaml:4:15: var 'note': it holds a NUL character at character 2, which no shell value can hold; expected text without it",
                "inv.yaml:7:18: 'jump' is 'ops@010.0.0.1': its host '010.0.0.1': '010' has a leading zero (some tools read it as octal); expected an IPv4 address as four decimal numbers without leading zeros, such as 10.0.1.1; expected [user@]host[:port]",
                "inv.yaml:8:67: 'jump' is 'bastion:99999': the port '99999' is not a port number from 1 to 65535; expected [user@]host[:port]"),
                p);
    }

    @Test
    void namesShownInThePlanHoldNoControlOrInvisibleCharacters() {
        assertEquals(List.of(
                "inv.yaml:1:10: the cluster name 'c\\u202eevil': it holds the invisible character U+202E at character 2; expected a name without control or invisible characters",
                "inv.yaml:3:3: the zone name 'z1\\x1b[2J': it holds an escape character at character 3; expected a name without control or invisible characters"),
                problems("cluster: \"c\\u202Eevil\"\nzones:\n  \"z1\\e[2J\": { servers: [ { host: 10.0.0.1 } ] }\n"));
    }

    @Test
    void jumpHostsAreCanonical() throws Exception {
        Inventory inv = load("""
                cluster: c
                ssh: { jump: "ops@Bastion.Example:2222" }
                zones:
                  z1:
                    servers: [ { host: 10.0.0.1 }, { host: 10.0.0.2, ssh: { jump: "[2001:DB8::7]:22" } }, { host: 10.0.0.3, ssh: { jump: "2001:db8::7" } } ]
                """);
        assertEquals("ops@bastion.example:2222", inv.observers().get(0).ssh().jump());
        assertEquals("[2001:db8::7]:22", inv.observers().get(1).ssh().jump());
        assertEquals("[2001:db8::7]", inv.observers().get(2).ssh().jump());
    }

    @Test
    void aMistakeInADefaultIsReportedOnceAtTheDefault() {
        StringBuilder y = new StringBuilder("cluster: c\nobserver: { mysql_port: 0, home_path: /data/ob, data_dir: /data }\nzones:\n  z1:\n    servers:\n");
        for (int i = 1; i <= 50; i++) {
            y.append("      - host: 10.0.0.").append(i).append('\n');
        }
        y.append("      - { host: 10.0.1.1, rpc_port: 3000 }\n");
        assertEquals(List.of(
                "inv.yaml:2:25: 'mysql_port' is 0; expected a port number from 1 to 65535",
                "inv.yaml:2:59: 'data_dir' /data contains the server's home /data/ob; cleaning it would delete the installation. "
                        + "Expected a directory of its own, outside the home or below it"), problems(y.toString()));
    }

    @Test
    void crlfBomAnchorsAndMergeKeysReadAsTheirPlainEquivalents(@TempDir Path dir) throws Exception {
        String plain = """
                cluster: c
                observer: { home_path: /home/admin/oceanbase, mysql_port: 2881 }
                zones:
                  z1:
                    servers:
                      - { host: 10.0.0.1, data_dir: /data/1, redo_dir: /redo/1 }
                      - { host: 10.0.0.2, data_dir: /data/2, redo_dir: /redo/1b, mysql_port: 2891 }
                """;
        String fancy = "\uFEFF" + """
                cluster: c
                observer: &obs { home_path: /home/admin/oceanbase, mysql_port: 2881 }
                zones:
                  z1:
                    servers:
                      - &one { host: 10.0.0.1, data_dir: /data/1, redo_dir: /redo/1 }
                      - <<: [*one, *obs]
                        host: 10.0.0.2
                        data_dir: /data/2
                        redo_dir: /redo/1b
                        mysql_port: 2891
                """.replace("\n", "\r\n");
        Path a = dir.resolve("a.yaml");
        Path b = dir.resolve("b.yaml");
        Files.writeString(a, plain);
        Files.writeString(b, fancy);
        Inventory pi = InventoryLoader.load(a);
        Inventory fi = InventoryLoader.load(b);
        for (int i = 0; i < 2; i++) {
            assertEquals(pi.observers().get(i).dirs(), fi.observers().get(i).dirs());
            assertEquals(pi.observers().get(i).ports(), fi.observers().get(i).ports());
            assertEquals(pi.observers().get(i).name(), fi.observers().get(i).name());
        }
    }

    @Test
    void directoriesOfAnotherServerOnTheSameHost() {
        List<String> p = problems("""
                cluster: c
                zones:
                  z1:
                    servers:
                      - { host: 10.0.0.1, home_path: /home/a/ob, data_dir: /data/a, redo_dir: /redo }
                  z2:
                    servers:
                      - { host: 10.0.0.1, agent_port: 3886, mysql_port: 3881, rpc_port: 3882, home_path: /home/b/ob, data_dir: /data/b, redo_dir: /redo/b }
                  z3:
                    servers:
                      - { host: 10.0.0.2, home_path: /home/c/ob, data_dir: /home/c }
                      - { host: 10.0.0.3, home_path: /home/d/ob, data_dir: /home/d/ob }
                      - { host: 10.0.0.4, home_path: /home/e/ob, pid_file: /var/run/observer.pid }
                """);
        assertEquals(List.of(
                "inv.yaml:8:17: on host 10.0.0.1, 10.0.0.1:3886 redo_dir /redo/b lies inside 10.0.0.1:2886 redo_dir /redo; cleaning or "
                        + "stopping one would touch the other. Expected directories and pid files of its own",
                "inv.yaml:11:60: 'data_dir' /home/c contains the server's home /home/c/ob; cleaning it would delete the installation. "
                        + "Expected a directory of its own, outside the home or below it",
                "inv.yaml:12:60: 'data_dir' /home/d/ob is the server's home; cleaning it would delete the installation. "
                        + "Expected a directory of its own, outside the home or below it",
                "inv.yaml:13:60: 'pid_file' /var/run/observer.pid lies outside the server's home /home/e/ob; expected a pid file under the "
                        + "home (obplay proves a process by its home; a pid file elsewhere could be another server's)"), p);
    }

    @Test
    void directoriesClashAcrossSpellingsOfOneHost() {
        List<String> p = problems("""
                cluster: c
                zones:
                  z1:
                    servers: [ { host: "::ffff:10.0.0.1", data_dir: /data/ob } ]
                  z2:
                    servers: [ { host: 10.0.0.1, agent_port: 3886, mysql_port: 3881, rpc_port: 3882, home_path: /home/b/ob, data_dir: /data/ob } ]
                """);
        assertEquals(List.of("inv.yaml:6:24: on host 10.0.0.1, 10.0.0.1:3886 data_dir /data/ob is also 10.0.0.1:2886 data_dir /data/ob; "
                + "cleaning or stopping one would touch the other. Expected directories and pid files of its own"), p);
    }
}
