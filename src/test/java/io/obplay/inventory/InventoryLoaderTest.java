package io.obplay.inventory;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InventoryLoaderTest {

    static List<String> problems(String yaml) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> InventoryLoader.load(YamlSource.of("inv.yaml", yaml)));
        return e.problems().stream().map(Problem::toString).toList();
    }

    static Inventory load(String yaml) throws InvalidInputException {
        return InventoryLoader.load(YamlSource.of("inv.yaml", yaml));
    }

    @Test
    void demoInventoryResolvesWithPrecedenceAndOrigins() throws Exception {
        Inventory inv = InventoryLoader.load(Path.of("inventories/demo.yaml"));
        assertEquals("demo", inv.cluster());
        assertEquals(List.of("zone1", "zone2", "zone3"), inv.zoneNames());
        assertEquals(6, inv.observers().size());
        assertEquals(2, inv.obproxies().size());
        Server first = inv.observers().get(0);
        assertEquals("10.0.1.1:2886", first.name());
        assertEquals("/home/admin/oceanbase", first.home());
        assertEquals("/home/admin/oceanbase/store", first.dirs().get("data_dir"));
        assertEquals("/home/admin/oceanbase/run/observer.pid", first.pidFiles().get("server"));
        assertEquals("admin", first.ssh().user());
        assertEquals(HostKeyChecking.STRICT, first.ssh().hostKeyChecking());
        assertTrue(first.settings().get("home_path").origin().startsWith("observer defaults (inventories/demo.yaml:"),
                first.settings().get("home_path").origin());
        Server second = inv.observers().get(1);
        assertEquals("/data/ob", second.home());
        assertEquals("/data/1/ob", second.dirs().get("data_dir"));
        assertEquals("/data/log1/ob", second.dirs().get("redo_dir"));
        assertEquals("/data/log1/ob/clog", second.dirs().get("clog_dir"));
        assertEquals("derived from redo_dir + /clog", second.settings().get("clog_dir").origin());
        assertTrue(second.settings().get("home_path").origin().startsWith("server 10.0.1.2 (inventories/demo.yaml:23:20)"),
                second.settings().get("home_path").origin());
        Server proxy = inv.obproxies().get(0);
        assertEquals("obproxy:1/1", proxy.name());
        assertEquals(Role.OBPROXY, proxy.role());
        // both layouts by default: obshell's names and OBD's
        assertEquals(Map.of("server", "/home/admin/obproxy/run/obproxy.pid",
                "server_obd", "/home/admin/obproxy/run/obproxy-10.0.4.1-2883.pid",
                "daemon", "/home/admin/obproxy/run/obproxyd.pid",
                "daemon_obd", "/home/admin/obproxy/run/obproxyd-10.0.4.1-2883.pid"), proxy.pidFiles());
        assertEquals(List.of(2883, 2884), proxy.portList());
    }

    @Test
    void anObproxyPidFileNamedInTheInventoryReplacesBothLayouts() throws Exception {
        Inventory inv = load("""
                cluster: c
                zones: { z1: { servers: [ { host: 10.0.0.1 } ] } }
                obproxy:
                  defaults: { home_path: /px, daemon_pid_file: run/guard.pid }
                  clusters: [ { id: 1, servers: [ { id: 1, host: 10.0.0.9 } ] } ]
                """);
        assertEquals(Map.of("server", "/px/run/obproxy.pid", "server_obd", "/px/run/obproxy-10.0.0.9-2883.pid",
                "daemon", "/px/run/guard.pid"), inv.obproxies().get(0).pidFiles());
    }

    @Test
    void zoneOverridesTopAndServerOverridesZone() throws Exception {
        Inventory inv = load("""
                cluster: c
                ssh: { user: top, port: 22 }
                observer: { home_path: /top, mysql_port: 1000 }
                zones:
                  z1:
                    home_path: /zone
                    ssh: { user: zoneuser }
                    servers:
                      - host: 10.0.0.1
                      - host: 10.0.0.2
                        home_path: /server
                        ssh: { port: 2222 }
                """);
        Server a = inv.observers().get(0);
        Server b = inv.observers().get(1);
        assertEquals("/zone", a.home());
        assertEquals("/server", b.home());
        assertEquals("zoneuser", a.ssh().user());
        assertEquals("zoneuser", b.ssh().user());
        assertEquals(2222, b.ssh().port());
        assertEquals(22, a.ssh().port());
        assertEquals(1000, a.ports().get("mysql_port"));
        assertEquals("zone z1 (inv.yaml:6:16)", a.settings().get("home_path").origin());
        assertEquals("zone z1 ssh (inv.yaml:7:18)", a.settings().get("ssh.user").origin());
        assertEquals("built-in default", a.settings().get("rpc_port").origin());
    }

    @Test
    void handshakeTimeoutHasItsOwnSettingAndDefault() throws Exception {
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", """
                cluster: c
                ssh: { connect_timeout: 5s }
                zones:
                  z1:
                    servers:
                      - host: 10.0.0.1
                      - host: 10.0.0.2
                        ssh: { handshake_timeout: 3m }
                """));
        Server a = inv.observers().get(0);
        Server b = inv.observers().get(1);
        assertEquals(java.time.Duration.ofSeconds(5), a.ssh().connectTimeout());
        assertEquals(java.time.Duration.ofSeconds(120), a.ssh().handshakeTimeout(), "sshd's LoginGraceTime");
        assertEquals("built-in default", a.settings().get("ssh.handshake_timeout").origin());
        assertEquals(java.time.Duration.ofMinutes(3), b.ssh().handshakeTimeout());
        assertEquals(java.time.Duration.ofSeconds(5), b.ssh().connectTimeout());
        List<String> p = problems("cluster: c\nssh: { handshake_timeout: later }\nzones: { z1: { servers: [ { host: 10.0.0.1 } ] } }\n");
        assertEquals(1, p.size(), String.join("\n", p));
        assertTrue(p.get(0).startsWith("inv.yaml:2:27: 'handshake_timeout' is 'later'; expected a duration"), p.get(0));
    }

    @Test
    void yamlSyntaxErrorHasPosition() {
        List<String> p = problems("cluster: c\nzones:\n  z1: [\n");
        assertEquals(1, p.size());
        assertTrue(p.get(0).startsWith("inv.yaml:4:1: YAML syntax error"), p.get(0));
    }

    @Test
    void unknownKeySuggestsNearestAndAllMistakesAreReported() {
        List<String> p = problems("""
                cluster: c
                observer:
                  home_pth: /x
                  mysql_port: 99999
                ssh: { connect_timeout: soon, host_key_checking: maybe }
                zones:
                  z1:
                    servers:
                      - host: 10.0.0.1
                        rpc_port: "2882"
                """);
        assertEquals(5, p.size(), String.join("\n", p));
        assertTrue(p.get(0).startsWith("inv.yaml:3:3: unknown key 'home_pth' in 'observer' in the inventory; did you mean 'home_path'?"), p.get(0));
        assertEquals("inv.yaml:4:15: 'mysql_port' is 99999; expected a port number from 1 to 65535", p.get(1));
        assertTrue(p.get(2).startsWith("inv.yaml:5:25: 'connect_timeout' is 'soon'; expected a duration"), p.get(2));
        assertEquals("inv.yaml:5:50: 'host_key_checking' is 'maybe'; expected one of: strict, accept-new, off", p.get(3));
        assertEquals("inv.yaml:10:19: 'rpc_port' is a quoted string \"2882\"; expected a port number from 1 to 65535", p.get(4));
    }

    @Test
    void duplicateServersAndClashesOnOneHost() {
        List<String> p = problems("""
                cluster: c
                zones:
                  z1:
                    servers:
                      - host: 10.0.0.1
                  z2:
                    servers:
                      - host: 10.0.0.1
                      - host: 10.0.0.2
                        agent_port: 2887
                      - host: 10.0.0.2
                        home_path: /home/admin/oceanbase/sub
                        mysql_port: 3881
                        rpc_port: 3882
                """);
        assertTrue(p.stream().anyMatch(s -> s.startsWith("inv.yaml:8:15: two servers are both 10.0.0.1:2886 (zones z1 and z2, first at inv.yaml:5:15)")),
                String.join("\n", p));
        assertTrue(p.stream().anyMatch(s -> s.contains("share home_path /home/admin/oceanbase")), String.join("\n", p));
        assertTrue(p.stream().anyMatch(s -> s.startsWith("inv.yaml:11:15:") && s.contains("nested home paths")), String.join("\n", p));
        assertTrue(p.stream().anyMatch(s -> s.contains("are both port 2881")), String.join("\n", p));
    }

    @Test
    void obproxyIdsMustBeUnique() {
        List<String> p = problems("""
                cluster: c
                obproxy:
                  clusters:
                    - id: 1
                      servers:
                        - { id: 1, host: 10.0.0.1 }
                        - { id: 1, host: 10.0.0.2 }
                    - id: 1
                      servers:
                        - { id: 3, host: 10.0.0.3 }
                """);
        assertTrue(p.contains("inv.yaml:7:17: obproxy server id 1 is used twice in obproxy cluster 1 (first at inv.yaml:6:17); expected unique ids"),
                String.join("\n", p));
        assertTrue(p.contains("inv.yaml:8:11: obproxy cluster id 1 is used twice; expected unique ids"), String.join("\n", p));
    }

    @Test
    void pathsMustBeAbsoluteAndNotRoot() {
        List<String> p = problems("""
                cluster: c
                zones:
                  z1:
                    servers:
                      - { host: 10.0.0.1, home_path: relative/home }
                      - { host: 10.0.0.2, home_path: / }
                      - { host: 10.0.0.3, data_dir: /data/../etc }
                """);
        assertEquals(3, p.size(), String.join("\n", p));
        assertTrue(p.get(0).startsWith("inv.yaml:5:38: 'home_path' is 'relative/home': it is relative"), p.get(0));
        assertTrue(p.get(1).startsWith("inv.yaml:6:38: 'home_path' is '/': it is the root directory"), p.get(1));
        assertTrue(p.get(2).startsWith("inv.yaml:7:37: 'data_dir' is '/data/../etc': it contains '..'"), p.get(2));
    }

    @Test
    void oceanBase4LayoutByDefaultSlogWithTheData() throws Exception {
        Inventory inv = load("""
                cluster: c
                zones:
                  z1:
                    servers:
                      - host: 10.0.0.1
                      - { host: 10.0.0.2, data_dir: /data/1, redo_dir: /redo/1 }
                """);
        Server a = inv.observers().get(0);
        assertEquals("4", a.settings().get("version").value());
        assertEquals("built-in default (OceanBase 4.x layout)", a.settings().get("version").origin());
        assertEquals("/home/admin/oceanbase/store", a.dirs().get("data_dir"));
        assertEquals("/home/admin/oceanbase/store/clog", a.dirs().get("clog_dir"));
        assertEquals("/home/admin/oceanbase/store/slog", a.dirs().get("slog_dir"));
        assertEquals("derived from data_dir + /slog (OceanBase 4.x layout)", a.settings().get("slog_dir").origin());
        assertEquals("derived from home_path + /store", a.settings().get("data_dir").origin());
        assertEquals("derived from data_dir", a.settings().get("redo_dir").origin());
        assertFalse(a.dirs().containsKey("ilog_dir"), "4.x has no ilog");
        Server b = inv.observers().get(1);
        assertEquals("/redo/1/clog", b.dirs().get("clog_dir"));
        assertEquals("/data/1/slog", b.dirs().get("slog_dir"), "4.x keeps the slog with the data, not the redo logs");
        assertEquals(List.of("home", "log", "run", "etc", "bin", "lib", "store", "data_dir", "redo_dir", "clog_dir", "slog_dir"),
                List.copyOf(b.dirs().keySet()));
    }

    @Test
    void version3LaysSlogAndIlogUnderTheRedoDir() throws Exception {
        Inventory inv = load("""
                cluster: c
                observer: { data_dir: /data/1, redo_dir: /redo/1 }
                zones:
                  z1:
                    version: 3
                    servers:
                      - host: 10.0.0.1
                      - { host: 10.0.0.2, version: "3.1.4", slog_dir: /ssd/slog }
                  z2:
                    servers:
                      - host: 10.0.1.1
                """);
        Server a = inv.observers().get(0);
        assertEquals("3", a.settings().get("version").value());
        assertEquals("zone z1 (inv.yaml:5:14)", a.settings().get("version").origin());
        assertEquals("/redo/1/clog", a.dirs().get("clog_dir"));
        assertEquals("/redo/1/slog", a.dirs().get("slog_dir"));
        assertEquals("/redo/1/ilog", a.dirs().get("ilog_dir"));
        assertEquals("derived from redo_dir + /slog (OceanBase 3.x layout)", a.settings().get("slog_dir").origin());
        assertEquals("derived from redo_dir + /ilog (OceanBase 3.x layout)", a.settings().get("ilog_dir").origin());
        assertEquals("/redo/1/ilog", a.settings().get("ilog_dir").value());
        Server b = inv.observers().get(1);
        assertEquals("3.1.4", b.settings().get("version").value());
        assertEquals("/ssd/slog", b.dirs().get("slog_dir"));
        assertTrue(b.settings().get("slog_dir").origin().startsWith("server 10.0.0.2 (inv.yaml:8:"), b.settings().get("slog_dir").origin());
        assertEquals("/redo/1/ilog", b.dirs().get("ilog_dir"));
        Server c = inv.observers().get(2);
        assertEquals("/data/1/slog", c.dirs().get("slog_dir"), "zone z2 is not 3.x");
        assertFalse(c.dirs().containsKey("ilog_dir"));
    }

    @Test
    void badVersionsAndAnIlogDirOn4xAreRefused() {
        List<String> p = problems("""
                cluster: c
                zones:
                  z1:
                    servers:
                      - { host: 10.0.0.1, version: 5 }
                      - { host: 10.0.0.2, version: "4.x" }
                      - { host: 10.0.0.3, ilog_dir: /redo/ilog }
                      - { host: 10.0.0.4, version: 3, ilog_dir: /redo/ilog }
                """);
        assertEquals(3, p.size(), String.join("\n", p));
        assertTrue(p.get(0).startsWith("inv.yaml:5:36: 'version' is '5'; expected OceanBase's version, 3 or 4"), p.get(0));
        assertTrue(p.get(1).startsWith("inv.yaml:6:36: 'version' is '4.x'"), p.get(1));
        assertTrue(p.get(2).startsWith("inv.yaml:7:27: 'ilog_dir' is OceanBase 3.x's (4.x has no ilog); this server is version 4 "
                + "(built-in default (OceanBase 4.x layout)). Expected 'version: 3' for a 3.x cluster"), p.get(2));
    }

    @Test
    void emptyZoneAndMissingCluster() {
        List<String> p = problems("""
                zones:
                  z1:
                    servers: []
                """);
        assertTrue(p.contains("inv.yaml:1:1: the inventory needs 'cluster'"), String.join("\n", p));
        assertTrue(p.stream().anyMatch(s -> s.startsWith("inv.yaml:3:14: zone 'z1' has no servers")), String.join("\n", p));
    }

    @Test
    void durationsParse() {
        assertEquals(java.time.Duration.ofSeconds(90), YamlMap.parseDuration("1m30s"));
        assertEquals(java.time.Duration.ofMillis(500), YamlMap.parseDuration("500ms"));
        assertEquals(java.time.Duration.ofSeconds(7), YamlMap.parseDuration("7"));
        assertEquals(null, YamlMap.parseDuration("7x"));
        assertEquals(null, YamlMap.parseDuration("s"));
    }
}
