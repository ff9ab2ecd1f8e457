package io.obplay.playbook;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.Server;
import io.obplay.inventory.YamlSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static io.obplay.playbook.PlaybookLoaderTest.load;
import static io.obplay.playbook.PlaybookLoaderTest.problems;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Issue 9 §6 and issue 16 §4: bad playbooks are refused at FILE:LINE:COLUMN, with what was expected. */
class PlaybookLoaderRefusalsTest {
    @BeforeAll
    static void inventory() throws Exception {
        PlaybookLoaderTest.inventory();
    }

    static String one(List<String> p) {
        assertEquals(1, p.size(), String.join("\n", p));
        return p.get(0);
    }

    @Test
    void documentShapes() {
        assertEquals("pb.yaml:1:1: the playbook must be a mapping (key: value lines); found a list", one(problems("- stop: {}\n")));
        assertEquals("pb.yaml:1:1: the playbook must be a mapping (key: value lines); found 'stop'", one(problems("stop\n")));
        assertEquals("pb.yaml:3:8: the playbook has no steps; expected 'steps:' with at least one of: stop, kill, cleanup, shell, start, restart",
                one(problems("name: x\ntargets: { all: true }\nsteps: null\n")));
        assertEquals("pb.yaml:4:5: step 1 has 2 actions (stop, kill); expected exactly one of: stop, kill, cleanup, shell, start, restart",
                one(problems("name: x\ntargets: { all: true }\nsteps:\n  - stop: {}\n    kill: {}\n")));
        assertEquals("pb.yaml:3:1: duplicate key 'targets' in the playbook; expected each key once",
                one(problems("name: x\ntargets: { all: true }\ntargets: { zones: [zone1] }\nsteps: [ { stop: {} } ]\n")));
    }

    @Test
    void inventoryGivenAsThePlaybook() throws Exception {
        String text = java.nio.file.Files.readString(Path.of("inventories/demo.yaml"));
        List<String> p = problems(text);
        assertEquals(1, p.size(), String.join("\n", p));
        assertEquals("pb.yaml:4:1: this is an inventory (it has 'zones'), given as the playbook; expected a playbook "
                + "(name:, targets:, steps:) as the argument and the inventory after -i", p.get(0));
    }

    @Test
    void durationsOutOfRange() {
        List<String> p = problems("""
                name: x
                targets: { all: true }
                steps:
                  - stop: { grace: 9999999999999999999s }
                  - stop: { grace: 9223372036854775807ms, kill_wait: 0s }
                  - stop: { grace: 25h, kill_wait: 2h }
                  - shell: "true"
                    timeout: 0
                  - kill: {}
                    timeout: 8000h
                """);
        assertEquals(List.of(
                "pb.yaml:4:20: 'grace' is '9999999999999999999s', far more than 24h; expected a duration from 1ms to 24h",
                "pb.yaml:5:20: 'grace' is '9223372036854775807ms', far more than 24h; expected a duration from 1ms to 24h",
                "pb.yaml:5:54: 'kill_wait' is '0s', zero; expected a duration from 1ms to 1h",
                "pb.yaml:6:20: 'grace' is '25h', more than 24h; expected a duration from 1ms to 24h",
                "pb.yaml:6:36: 'kill_wait' is '2h', more than 1h; expected a duration from 1ms to 1h",
                "pb.yaml:8:14: 'timeout' is '0', zero; expected a duration from 1ms to 168h",
                "pb.yaml:10:14: 'timeout' is '8000h', more than 168h; expected a duration from 1ms to 168h"), p);
    }

    @Test
    void batchSizesAndPercentagesOutOfRange() {
        List<String> p = problems("""
                name: x
                targets: { all: true }
                serial: 0
                forks: 99999999999999999999
                max_fail_percentage: 101
                steps: [ { stop: {} } ]
                """);
        assertEquals(List.of(
                "pb.yaml:3:9: 'serial' is 0; expected a number of hosts per batch, at least 1",
                "pb.yaml:4:8: 'forks' is '99999999999999999999'; expected a number of hosts acted on at once, from 1 to 10000",
                "pb.yaml:5:22: 'max_fail_percentage' is 101; expected a percentage from 0 to 100"), p);
        assertEquals("pb.yaml:3:8: 'forks' is -1; expected a number of hosts acted on at once, from 1 to 10000",
                one(problems("name: x\ntargets: { all: true }\nforks: -1\nsteps: [ { stop: {} } ]\n")));
    }

    @Test
    void cleanupPathsAreLiteral() {
        List<String> p = problems("""
                name: x
                targets: { zones: [zone1] }
                steps:
                  - cleanup: { paths: ["/home/admin/oceanbase/log/*", "/home/admin/oceanbase/log/a?", "/home/admin/oceanbase/log/x\\ny"] }
                """);
        assertEquals(List.of(
                "pb.yaml:4:24: cleanup path '/home/admin/oceanbase/log/*': it holds '*', which a shell reads as a pattern, while obplay takes "
                        + "every path literally; expected a path without '*', '?' or '[' inside the server's declared directories, or a directory name",
                "pb.yaml:4:55: cleanup path '/home/admin/oceanbase/log/a?': it holds '?', which a shell reads as a pattern, while obplay takes "
                        + "every path literally; expected a path without '*', '?' or '[' inside the server's declared directories, or a directory name",
                "pb.yaml:4:87: cleanup path '/home/admin/oceanbase/log/x\\ny': it holds a line break (\\n) at character 28; expected a path "
                        + "without control or invisible characters inside the server's declared directories, or a directory name"), p);
    }

    @Test
    void targetServersAreCanonical() throws Exception {
        Inventory v6 = InventoryLoader.load(YamlSource.of("inv.yaml", """
                cluster: c
                zones:
                  z1: { servers: [ { host: "2001:db8::1" } ] }
                  z2: { servers: [ { host: DB2.example.com } ] }
                  z3: { servers: [ { host: 10.0.0.3 } ] }
                """));
        Playbook p = PlaybookLoader.load(YamlSource.of("pb.yaml", """
                name: x
                targets: { servers: ["[2001:DB8:0::1]:2886", "db2.EXAMPLE.com", "[::ffff:10.0.0.3]:2886"] }
                allow_majority_loss: true
                steps: [ { stop: {} } ]
                """), v6);
        assertEquals(List.of("[2001:db8::1]:2886", "db2.example.com:2886", "10.0.0.3:2886"), p.targets().servers().stream().map(Server::name).toList());
        List<String> bad = problems("""
                name: x
                targets: { servers: ["010.0.1.1:2886", "10.0.1.1:99999"] }
                steps: [ { stop: {} } ]
                """);
        assertEquals(List.of(
                "pb.yaml:2:22: server '010.0.1.1:2886': '010' has a leading zero (some tools read it as octal); expected an IPv4 address as "
                        + "four decimal numbers without leading zeros, such as 10.0.1.1; expected ip:agent_port, or a host for every observer on it",
                "pb.yaml:2:40: server '10.0.1.1:99999': the port '99999' is not a port number from 1 to 65535; expected ip:agent_port, "
                        + "or a host for every observer on it"), bad);
    }

    @Test
    void namesAndTagsHoldNoControlOrInvisibleCharacters() {
        assertEquals(List.of(
                "pb.yaml:1:7: the playbook name 'x\\u2066y': it holds the invisible character U+2066 at character 2; expected a name without control or invisible characters",
                "pb.yaml:5:11: the step name 'a\\nb': it holds a line break (\\n) at character 2; expected a name without control or invisible characters",
                "pb.yaml:6:11: the tag 'd\\x00': it holds a NUL character at character 2; expected a name without control or invisible characters"),
                problems("name: \"x\\u2066y\"\ntargets: { all: true }\nsteps:\n  - stop: {}\n    name: \"a\\nb\"\n    tags: [\"d\\0\"]\n"));
    }

    @Test
    void crlfBomAnchorsAndMergeKeysPlanAsTheirPlainEquivalents() throws Exception {
        Playbook plain = load("""
                name: x
                targets: { zones: [zone1] }
                steps:
                  - stop: { grace: 5s, kill_wait: 7s }
                  - stop: { grace: 5s, kill_wait: 9s }
                """);
        Playbook fancy = load("\uFEFF" + """
                name: x
                targets: { zones: [zone1] }
                steps:
                  - stop: &s { grace: 5s, kill_wait: 7s }
                  - stop: { <<: *s, kill_wait: 9s }
                """.replace("\n", "\r\n"));
        assertEquals(plain.steps().size(), fancy.steps().size());
        for (int i = 0; i < plain.steps().size(); i++) {
            Step.Stop a = (Step.Stop) plain.steps().get(i);
            Step.Stop b = (Step.Stop) fancy.steps().get(i);
            assertEquals(a.grace(), b.grace());
            assertEquals(a.killWait(), b.killWait());
            assertEquals(plain.steps().get(i).timeout(), fancy.steps().get(i).timeout());
        }
        assertEquals(Duration.ofSeconds(9), ((Step.Stop) fancy.steps().get(1)).killWait());
    }
}
