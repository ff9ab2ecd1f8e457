package io.obplay.playbook;

import io.obplay.inventory.InvalidInputException;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.Problem;
import io.obplay.inventory.YamlSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlaybookLoaderTest {
    static Inventory inv;

    @BeforeAll
    static void inventory() throws Exception {
        inv = InventoryLoader.load(Path.of("inventories/demo.yaml"));
    }

    static Playbook load(String yaml) throws InvalidInputException {
        return PlaybookLoader.load(YamlSource.of("pb.yaml", yaml), inv);
    }

    static List<String> problems(String yaml) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> load(yaml));
        return e.problems().stream().map(Problem::toString).toList();
    }

    @Test
    void everyShippedPlaybookLoads() throws Exception {
        for (String name : List.of("stop-cluster", "stop-zone", "kill-server", "stop-obproxy", "destroy-obproxy", "destroy-cluster")) {
            Playbook p = PlaybookLoader.load(Path.of("playbooks/" + name + ".yaml"), inv);
            assertTrue(!p.steps().isEmpty(), name);
        }
    }

    @Test
    void stepsWithDefaultsAndTemplates() throws Exception {
        Playbook p = load("""
                name: t
                targets: { zones: [zone1] }
                serial: 1
                steps:
                  - stop: { grace: 5s }
                  - kill: { settle: 500ms }
                  - cleanup: { paths: [log, data_dir, /data/1/ob/sstable] }
                    on: { servers: ["10.0.1.2:2886"] }
                  - shell: "echo {{home_path}} {{ssh.user}}"
                    tags: [check, x]
                    timeout: 1m
                """);
        assertEquals(Strategy.SERIAL, p.strategy());
        assertEquals(1, p.serial());
        assertEquals(4, p.steps().size());
        Step.Stop stop = (Step.Stop) p.steps().get(0);
        assertEquals(Duration.ofSeconds(5), stop.grace());
        assertEquals(Duration.ofSeconds(30), stop.killWait());
        assertEquals(Step.DEFAULT_SETTLE, stop.settle());
        assertEquals(Duration.ofSeconds(68), stop.timeout(), "grace + kill_wait + settle + 30s");
        Step.Kill kill = (Step.Kill) p.steps().get(1);
        assertEquals(Duration.ofMillis(500), kill.settle());
        assertEquals(Duration.ofMillis(60_500), kill.timeout(), "kill_wait + settle + 30s");
        Step.Cleanup cleanup = (Step.Cleanup) p.steps().get(2);
        assertEquals(List.of("/data/ob/log", "/data/1/ob", "/data/1/ob/sstable"), cleanup.paths().get("10.0.1.2:2886"));
        Step.Shell shell = (Step.Shell) p.steps().get(3);
        assertEquals("echo '/home/admin/oceanbase' 'admin'", shell.command().get("10.0.1.1:2886"));
        assertEquals(Duration.ofMinutes(1), shell.timeout());
    }

    @Test
    void templateValuesAreShellQuoted() throws Exception {
        assertEquals("'it'\\''s; rm -rf /'", ShellQuote.quote("it's; rm -rf /"));
    }

    @Test
    void unknownTargetsNameWhatExists() {
        List<String> p = problems("""
                name: t
                targets: { zones: [zone1, zone9], servers: ["10.0.1.1:2887"], obproxy: { cluster: 7 } }
                steps:
                  - stop: {}
                """);
        assertEquals(List.of(
                "pb.yaml:2:27: unknown zone 'zone9' (did you mean 'zone1'?); zones in inventories/demo.yaml: zone1, zone2, zone3",
                "pb.yaml:2:45: unknown server '10.0.1.1:2887' (did you mean '10.0.1.1:2886'?); servers are named ip:agent_port, and "
                        + "inventories/demo.yaml has: 10.0.1.1:2886, 10.0.1.2:2886, 10.0.2.1:2886, 10.0.2.2:2886, 10.0.3.1:2886, 10.0.3.2:2886",
                "pb.yaml:2:83: unknown obproxy cluster id 7; obproxy clusters in inventories/demo.yaml: 1 (proxy-a)"), p);
    }

    @Test
    void emptyTargetsAndUnknownKeys() {
        List<String> p = problems("""
                name: t
                targets: {}
                stategy: rolling
                steps:
                  - stop: { grace: soon, grase: 1s }
                  - reboot: {}
                """);
        assertTrue(p.contains("pb.yaml:2:10: 'targets' selects no server; expected all: true, zones: [...], servers: [...] or obproxy: {...}"), String.join("\n", p));
        assertTrue(p.stream().anyMatch(s -> s.startsWith("pb.yaml:3:1: unknown key 'stategy' in the playbook; did you mean 'strategy'?")), String.join("\n", p));
        assertTrue(p.contains("pb.yaml:5:20: 'grace' is 'soon'; expected a duration such as 500ms, 30s, 5m, 1h or 1m30s"), String.join("\n", p));
        assertTrue(p.stream().anyMatch(s -> s.startsWith("pb.yaml:5:26: unknown key 'grase' in 'stop' in step 1; did you mean 'grace'?")), String.join("\n", p));
        assertTrue(p.stream().anyMatch(s -> s.startsWith("pb.yaml:6:5: unknown key 'reboot' in step 2")), String.join("\n", p));
        assertTrue(p.contains("pb.yaml:6:5: step 2 has no action; expected exactly one of: stop, kill, cleanup, shell, start, restart"), String.join("\n", p));
    }

    @Test
    void ilogDirIsADeclaredDirectoryOf3xOnly() throws Exception {
        Inventory three = InventoryLoader.load(YamlSource.of("inv.yaml", """
                cluster: c
                observer: { version: 3, redo_dir: /redo/1 }
                zones: { z1: { servers: [ { host: 10.0.0.1 } ] } }
                """));
        Playbook p = PlaybookLoader.load(YamlSource.of("pb.yaml",
                "name: t\ntargets: { all: true }\nsteps:\n  - cleanup: { paths: [ilog_dir, slog_dir, clog_dir] }\n"), three);
        assertEquals(List.of("/redo/1/ilog", "/redo/1/slog", "/redo/1/clog"), ((Step.Cleanup) p.steps().get(0)).paths().get("10.0.0.1:2886"));

        List<String> four = problems("name: t\ntargets: { all: true }\nsteps:\n  - cleanup: { paths: [ilog_dir] }\n");
        assertEquals(1, four.size(), String.join("\n", four));
        assertTrue(four.get(0).startsWith("pb.yaml:4:24: 'ilog_dir' is a directory of OceanBase 3.x; 10.0.1.1:2886 is version 4 "
                + "(built-in default (OceanBase 4.x layout)), which has no ilog. Expected 'version: 3'"), four.get(0));
    }

    @Test
    void cleanupPathsMustBeSafe() {
        List<String> p = problems("""
                name: t
                targets: { zones: [zone1] }
                steps:
                  - cleanup:
                      paths:
                        - relative/dir
                        - /
                        - /home/admin/oceanbase/../../etc
                        - /etc/passwd
                        - logs
                """);
        assertEquals(5, p.size(), String.join("\n", p));
        assertTrue(p.get(0).startsWith("pb.yaml:6:11: cleanup path 'relative/dir': it is relative"), p.get(0));
        assertTrue(p.get(1).startsWith("pb.yaml:7:11: cleanup path '/': it is the root directory"), p.get(1));
        assertTrue(p.get(2).startsWith("pb.yaml:8:11: cleanup path '/home/admin/oceanbase/../../etc': it contains '..'"), p.get(2));
        assertTrue(p.get(3).startsWith("pb.yaml:9:11: cleanup path '/etc/passwd' lies outside the declared directories of 10.0.1.1:2886"
                + " (home /home/admin/oceanbase, data_dir /home/admin/oceanbase/store"), p.get(3));
        assertTrue(p.get(4).startsWith("pb.yaml:10:11: 'logs' is not a declared directory of 10.0.1.1:2886 (did you mean 'log'?)"), p.get(4));
    }

    @Test
    void pathInsideOneServerButNotAnother() {
        List<String> p = problems("""
                name: t
                targets: { zones: [zone1] }
                steps:
                  - cleanup: { paths: [/data/1/ob/x] }
                """);
        assertEquals(1, p.size(), String.join("\n", p));
        assertTrue(p.get(0).startsWith("pb.yaml:4:24: cleanup path '/data/1/ob/x' lies outside the declared directories of 10.0.1.1:2886"), p.get(0));
    }

    @Test
    void shellTemplateWithUnknownVariable() {
        List<String> p = problems("""
                name: t
                targets: { all: true }
                steps:
                  - shell: "ls {{home_dir}}"
                """);
        assertEquals(1, p.size());
        assertTrue(p.get(0).startsWith("pb.yaml:4:16: the shell command uses home_dir (in {{home_dir}}), which 10.0.1.1:2886 does not"
                + " have; expected one of its settings: cluster, zone, host, home_path, "), p.get(0));
    }

    @Test
    void everyMustacheFormNamesAKnownValue() {
        // sections, inverted sections, raw values: every name is checked, at its tag
        List<String> p = problems("""
                name: t
                targets: { zones: [zone1] }
                steps:
                  - shell: "{{^dry_rnu}}rm -rf {{home_path}}/log{{/dry_rnu}}"
                  - shell: "{{#verbose}}ls{{/verbose}} {{{mysql_prot}}} {{&rpc_prt}} {{ssh.usr}}"
                """);
        assertEquals(List.of("pb.yaml:4:13: the shell command uses dry_rnu (in {{^dry_rnu}}), which 10.0.1.1:2886 does not have",
                        "pb.yaml:5:13: the shell command uses verbose (in {{#verbose}}), which 10.0.1.1:2886 does not have",
                        "pb.yaml:5:40: the shell command uses mysql_prot (in {{{mysql_prot}}}), which 10.0.1.1:2886 does not have"
                                + " (did you mean 'mysql_port'?)",
                        "pb.yaml:5:57: the shell command uses rpc_prt (in {{&rpc_prt}}), which 10.0.1.1:2886 does not have"
                                + " (did you mean 'rpc_port'?)",
                        "pb.yaml:5:70: the shell command uses ssh.usr (in {{ssh.usr}}), which 10.0.1.1:2886 does not have"
                                + " (did you mean 'ssh.user'?)"),
                p.stream().map(s -> s.substring(0, s.indexOf("; expected"))).toList());
    }

    @Test
    void templateMistakesStandAtTheirLineAndColumnInEveryScalarStyle() {
        String quoteRule = "the shell command: {{msg}} stands inside a double-quoted string";
        for (String[] c : new String[][]{
                {"  - shell: echo \"msg {{msg}}\"\n", "4:22"},
                {"  - shell: \"echo \\\"msg: {{msg}}\\\"\"\n", "4:25"},
                {"  - shell: 'echo \"msg: {{msg}}\" it''s'\n", "4:24"},
                {"  - shell: |\n      ls\n      echo \"msg: {{msg}}\"\n", "6:18"},
                {"  - shell: >-\n      true &&\n      echo \"msg: {{msg}}\"\n", "6:18"},
                {"  - shell: &cmd\n      echo \"msg {{msg}}\"\n", "5:17"},
                {"  - { name: x, shell: \"echo \\\"{{msg}}\\\"\" }\n", "4:31"},
        }) {
            List<String> p = problems("name: t\ntargets: { zones: [zone1] }\nsteps:\n" + c[0]);
            assertEquals(1, p.size(), String.join("\n", p));
            assertTrue(p.get(0).startsWith("pb.yaml:" + c[1] + ": " + quoteRule), c[0] + " => " + p.get(0));
        }
        // partials and changed delimiters, at their tag; a partial never reads its file
        List<String> p = problems("""
                name: t
                targets: { zones: [zone1] }
                steps:
                  - shell: |
                      cat {{> pom.xml}}
                  - shell: "{{=<% %>=}} echo <%msg%>"
                """);
        assertEquals(2, p.size(), String.join("\n", p));
        assertTrue(p.get(0).startsWith("pb.yaml:5:11: the shell command: {{> pom.xml}} is a Mustache partial"), p.get(0));
        assertTrue(p.get(1).startsWith("pb.yaml:6:13: the shell command: {{=<% %>=}} changes Mustache's delimiters"), p.get(1));
    }

    @Test
    void positionsHoldFarIntoALargePlaybook() {
        // the command's source comes from SnakeYAML's read windows (about 1 KB): far into the file, and with a
        // window border at each place in the command in turn
        for (int pad = 0; pad <= 1088; pad += 64) {
            StringBuilder yaml = new StringBuilder("name: t\ntargets: { zones: [zone1] }\n# " + "p".repeat(pad) + "\nsteps:\n");
            for (int i = 0; i < 100; i++) {
                yaml.append("  - shell: \"echo step ").append(i).append(" {{home_path}}\"\n");
            }
            yaml.append("  - shell: |\n");
            for (int i = 0; i < 10; i++) {
                yaml.append("      echo line ").append(i).append(" {{home_path}} ").append("x".repeat(3 * i)).append('\n');
            }
            yaml.append("      echo 'bad {{home_path}}'\n");
            List<String> p = problems(yaml.toString());
            assertEquals(List.of("pb.yaml:" + (5 + 100 + 11) + ":17: the shell command: {{home_path}} stands inside a single-quoted string"),
                    p.stream().map(s -> s.substring(0, s.indexOf(" ('...')"))).toList(), "pad " + pad);
        }
        // a command longer than the windows around its two ends: its start
        String big = "name: t\ntargets: { zones: [zone1] }\nsteps:\n  - shell: |\n"
                + "      echo {{home_path}}\n".repeat(200) + "      echo 'bad {{home_path}}'\n";
        assertEquals(List.of("pb.yaml:4:12: the shell command: {{home_path}} stands inside a single-quoted string"),
                problems(big).stream().map(s -> s.substring(0, s.indexOf(" ('...')"))).toList());
    }

    @Test
    void rawValuesAreCheckedPerServer() throws Exception {
        Inventory spaced = InventoryLoader.load(YamlSource.of("inv.yaml", """
                cluster: c
                transport: local
                observer: { home_path: /data/ob }
                zones:
                  zone1:
                    servers:
                      - host: 10.0.1.1
                      - { host: 10.0.1.2, home_path: "/data/my ob" }
                """));
        String yaml = """
                name: t
                targets: { servers: ["10.0.1.1:2886", "10.0.1.2:2886"] }
                steps:
                  - shell: "ls {{{home_path}}}/run {{{name}}}"
                """;
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> PlaybookLoader.load(YamlSource.of("pb.yaml", yaml), spaced));
        assertEquals(List.of("pb.yaml:4:16: the shell command on 10.0.1.2:2886: {{{home_path}}} inserts 'home_path' unquoted, and its"
                + " value '/data/my ob' holds a space, which the shell could read as syntax (raw values may hold only letters, digits"
                + " and _ . / : @ , + -); use {{home_path}}, which quotes it (outside quotes)"),
                e.problems().stream().map(Problem::toString).toList());
        Playbook ok = PlaybookLoader.load(YamlSource.of("pb.yaml", yaml.replace("{{{home_path}}}", "{{home_path}}")), spaced);
        assertEquals("ls '/data/my ob'/run 10.0.1.2:2886", ((Step.Shell) ok.steps().get(0)).command().get("10.0.1.2:2886"));
    }

    @Test
    void aTimeoutMustLeaveRoomForTheKill() {
        List<String> p = problems("""
                name: t
                targets: { zones: [zone1] }
                steps:
                  - stop: { grace: 60s }
                    timeout: 1m
                  - stop: { grace: 10s, kill_wait: 30s }
                    timeout: 30s
                  - kill: { kill_wait: 20s }
                    timeout: 20s
                  - stop: { grace: 500ms, kill_wait: 1s }
                    timeout: 1500ms
                  - stop: { grace: 1s, kill_wait: 1s, settle: 10s }
                    timeout: 5s
                """);
        assertEquals(List.of(
                "pb.yaml:5:14: 'timeout' is 1m, not longer than grace + kill_wait + settle (1m33s): the KILL after the grace (1m)"
                        + " can never come before the step is timed out; expected a timeout longer than 1m33s, e.g. 2m3s (the default)",
                "pb.yaml:7:14: 'timeout' is 30s, not longer than grace + kill_wait + settle (43s): the wait after the KILL (kill_wait"
                        + " 30s) can never end before the step is timed out; expected a timeout longer than 43s, e.g. 1m13s (the default)",
                "pb.yaml:9:14: 'timeout' is 20s, not longer than kill_wait + settle (23s): the wait after the KILL (kill_wait 20s)"
                        + " can never end before the step is timed out; expected a timeout longer than 23s, e.g. 53s (the default)",
                "pb.yaml:11:14: 'timeout' is 1500ms, not longer than grace + kill_wait + settle (4500ms): the wait after the KILL"
                        + " (kill_wait 1s) can never end before the step is timed out; expected a timeout longer than 4500ms, e.g."
                        + " 34500ms (the default)",
                "pb.yaml:13:14: 'timeout' is 5s, not longer than grace + kill_wait + settle (12s): the settle period (10s) can never"
                        + " end before the step is timed out; expected a timeout longer than 12s, e.g. 42s (the default)"), p);
    }

    @Test
    void wrongTypes() {
        List<String> p = problems("""
                name: [a, b]
                targets: { all: maybe }
                forks: many
                max_fail_percentage: 150
                steps: { stop: {} }
                """);
        assertTrue(p.contains("pb.yaml:1:7: 'name' must be a single value; found a list"), String.join("\n", p));
        assertTrue(p.contains("pb.yaml:2:17: 'all' is 'maybe'; expected true or false"), String.join("\n", p));
        assertTrue(p.contains("pb.yaml:3:8: 'forks' is 'many'; expected a number of hosts acted on at once, from 1 to 10000"), String.join("\n", p));
        assertTrue(p.contains("pb.yaml:4:22: 'max_fail_percentage' is 150; expected a percentage from 0 to 100"), String.join("\n", p));
        assertTrue(p.contains("pb.yaml:5:8: 'steps' must be a list; found a mapping"), String.join("\n", p));
    }
}
