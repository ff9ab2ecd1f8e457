package io.obplay.inventory;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ObdConfigLoaderTest {

    static LoadedInventory read(String yaml) throws InvalidInputException {
        return Inventories.read(YamlSource.of("obd.yaml", yaml));
    }

    static List<String> problems(String yaml) {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> read(yaml));
        return e.problems().stream().map(Problem::toString).toList();
    }

    static final String DEPLOYED = """
            user:
              username: admin
              key_file: /home/admin/.ssh/obd_key
              port: 2022
              timeout: 30
            oceanbase-ce:
              version: 4.2.1.0
              servers:
                - name: server1
                  ip: 10.0.0.1
                - name: server2
                  ip: 10.0.0.2
                - 10.0.0.3
              global:
                home_path: /home/admin/observer
                mysql_port: 2881
                appname: prod
                zone: zone1
                memory_limit: 64G
                root_password: "$(rm -rf /)"
              server2:
                home_path: /data/observer2
                data_dir: /data/1/ob
                redo_dir: /data/log1/ob
                obshell_port: 2996
                zone: zone2
                cpu_count: 16
            obproxy-ce:
              depends: [oceanbase-ce]
              servers:
                - 10.0.0.5
                - 10.0.0.6
              global:
                home_path: /home/admin/obproxy
                listen_port: 3883
                enable_cluster_checkout: false
              10.0.0.6:
                listen_port: 4883
            obagent:
              servers: [10.0.0.1]
              global: { home_path: /home/admin/obagent }
            """;

    @Test
    void mapsEveryFieldThatLocatesAServerWithOrigins() throws Exception {
        LoadedInventory l = read(DEPLOYED);
        assertEquals("obd", l.format());
        Inventory inv = l.inventory();
        assertEquals("prod", inv.cluster());
        assertEquals(TransportKind.SSH, inv.transport());
        // regrouped by zone, in the order zones first appear
        assertEquals(List.of("zone1", "zone2"), inv.zoneNames());
        assertEquals(List.of("10.0.0.1:2886", "10.0.0.3:2886"), inv.zone("zone1").orElseThrow().servers().stream().map(Server::name).toList());
        Server s1 = inv.observers().get(0);
        assertEquals("/home/admin/observer", s1.home());
        assertEquals("/home/admin/observer/store", s1.dirs().get("data_dir"));
        assertEquals("/home/admin/observer/store/slog", s1.dirs().get("slog_dir"));
        assertEquals("/home/admin/observer/run/observer.pid", s1.pidFiles().get("server"));
        assertEquals("oceanbase-ce.global.home_path (obd.yaml:15:16)", s1.settings().get("home_path").origin());
        assertEquals("OBD default (home_path + /store)", s1.settings().get("data_dir").origin());
        assertEquals("OBD default (data_dir + /slog, OceanBase 4.x)", s1.settings().get("slog_dir").origin());
        assertEquals("OBD default (obshell_port)", s1.settings().get("agent_port").origin());
        assertEquals("oceanbase-ce.global.appname (obd.yaml:17:14)", s1.settings().get("cluster").origin());
        assertEquals("server1", s1.settings().get("obd_name").value());
        // ssh from user:, each with its line
        assertEquals("admin", s1.ssh().user());
        assertEquals(2022, s1.ssh().port());
        assertEquals("/home/admin/.ssh/obd_key", s1.ssh().key());
        assertEquals(30, s1.ssh().connectTimeout().toSeconds());
        assertEquals("user.username (obd.yaml:2:13)", s1.settings().get("ssh.user").origin());
        assertEquals("user.timeout (obd.yaml:5:12)", s1.settings().get("ssh.connect_timeout").origin());

        // the server's own block wins over global
        Server s2 = inv.zone("zone2").orElseThrow().servers().get(0);
        assertEquals("10.0.0.2:2996", s2.name());
        assertEquals("/data/observer2", s2.home());
        assertEquals("/data/1/ob", s2.dirs().get("data_dir"));
        assertEquals("/data/log1/ob/clog", s2.dirs().get("clog_dir"));
        assertEquals("/data/1/ob/slog", s2.dirs().get("slog_dir"));
        assertEquals("oceanbase-ce.server2.home_path (obd.yaml:22:16)", s2.settings().get("home_path").origin());
        assertEquals("oceanbase-ce.server2.obshell_port (obd.yaml:25:19)", s2.settings().get("agent_port").origin());
        assertEquals("oceanbase-ce.global.mysql_port (obd.yaml:16:17)", s2.settings().get("mysql_port").origin());

        // obproxy servers numbered in file order, with OBD's pid file names
        List<Server> proxies = inv.obproxies();
        assertEquals(List.of("obproxy:1/1", "obproxy:1/2"), proxies.stream().map(Server::name).toList());
        assertEquals("obproxy-ce", proxies.get(0).group());
        assertEquals("/home/admin/obproxy/run/obproxy-10.0.0.5-3883.pid", proxies.get(0).pidFiles().get("server"));
        assertEquals("/home/admin/obproxy/run/obproxyd-10.0.0.5-3883.pid", proxies.get(0).pidFiles().get("daemon"));
        assertEquals("/home/admin/obproxy/run/obproxyd-10.0.0.6-4883.pid", proxies.get(1).pidFiles().get("daemon"));
        assertEquals("obproxy-ce.10.0.0.6.listen_port (obd.yaml:38:18)", proxies.get(1).settings().get("listen_port").origin());
        assertTrue(proxies.get(1).settings().get("obproxy_id").origin().contains("file order"));

        // what obplay has no use for: listed once each, never an error; obagent noted
        assertEquals(List.of("oceanbase-ce: memory_limit, root_password, cpu_count",
                "obproxy-ce: depends, enable_cluster_checkout"), l.ignoredKeys());
        assertTrue(l.notes().contains("OBD component 'obagent' is not managed by obplay: ignored"), l.notes().toString());
    }

    @Test
    void defaultsAreOBDsAndSayWhatTheyAre() throws Exception {
        Inventory inv = read("""
                oceanbase-ce:
                  servers: [10.0.0.1]
                  global: { home_path: /ob }
                """).inventory();
        Server s = inv.observers().get(0);
        assertEquals("obcluster", inv.cluster());
        assertEquals("zone1", s.zone());
        assertEquals(2881, s.ports().get("mysql_port"));
        assertEquals(2882, s.ports().get("rpc_port"));
        assertEquals(2886, s.agentPort());
        assertEquals("OBD default", s.settings().get("zone").origin());
        assertEquals("OBD default", s.settings().get("mysql_port").origin());
        assertEquals("OBD default (appname)", s.settings().get("cluster").origin());
        assertEquals(System.getProperty("user.name"), s.ssh().user());
        assertEquals("OBD default (the current user)", s.settings().get("ssh.user").origin());
        assertNull(s.settings().get("obd_name"), "a server without a name has no obd_name");
    }

    @Test
    void oceanBase3HasIlogAndSlogUnderRedo() throws Exception {
        Server s = read("""
                oceanbase-ce:
                  version: 3.1.4
                  servers: [10.0.0.1]
                  global: { home_path: /ob, redo_dir: /redo/ob }
                """).inventory().observers().get(0);
        assertEquals("/redo/ob/slog", s.dirs().get("slog_dir"));
        assertEquals("/redo/ob/ilog", s.dirs().get("ilog_dir"));
        assertEquals("/redo/ob/clog", s.dirs().get("clog_dir"));
        assertEquals("/ob/store", s.dirs().get("data_dir"));
        assertEquals("OBD default (redo_dir + /ilog, OceanBase 3.x)", s.settings().get("ilog_dir").origin());
    }

    @Test
    void localServersReachedAsTheCurrentUserRunLocally() throws Exception {
        LoadedInventory l = read("""
                oceanbase-ce:
                  servers: [127.0.0.1]
                  global: { home_path: /tmp/ob }
                """);
        assertEquals(TransportKind.LOCAL, l.inventory().transport());
        LoadedInventory other = read("""
                user: { username: somebody-else }
                oceanbase-ce:
                  servers: [127.0.0.1]
                  global: { home_path: /tmp/ob }
                """);
        assertEquals(TransportKind.SSH, other.inventory().transport());
        LoadedInventory mixed = read("""
                oceanbase-ce:
                  servers: [127.0.0.1, 10.0.0.2]
                  global: { home_path: /tmp/ob }
                """);
        assertEquals(TransportKind.SSH, mixed.inventory().transport());
        assertTrue(mixed.notes().stream().anyMatch(n -> n.contains("reached over SSH")), mixed.notes().toString());
    }

    @Test
    void mistakesNameFileLineColumnAndWhatWasExpected() {
        List<String> p = problems("""
                user:
                  username: admin
                  password: secret
                oceanbase-ce:
                  servers:
                    - name: server1
                      ip: 10.0.0.1
                    - name: server2
                  global:
                    home_path: relative/ob
                    mysql_port: "2881"
                  server1:
                    rpc_port: 99999
                obproxy-ce:
                  servers: [10.0.0.5]
                """);
        assertEquals(6, p.size(), p.toString());
        assertTrue(p.get(0).startsWith("obd.yaml:3:13: 'user.password': obplay signs in with SSH keys only"), p.toString());
        assertTrue(p.get(1).startsWith("obd.yaml:8:7: a server of oceanbase-ce needs 'ip'"), p.toString());
        assertTrue(p.get(2).startsWith("obd.yaml:10:16: 'home_path' is 'relative/ob': it is relative"), p.toString());
        assertTrue(p.get(3).startsWith("obd.yaml:11:17: 'mysql_port' is a quoted string \"2881\""), p.toString());
        assertTrue(p.get(4).startsWith("obd.yaml:13:15: 'rpc_port' is 99999; expected a port number"), p.toString());
        assertTrue(p.get(5).startsWith("obd.yaml:15:13: server 10.0.0.5 of obproxy-ce has no home_path; OBD requires it"), p.toString());
    }

    @Test
    void yamlSyntaxErrorsAndClashesKeepPositions() {
        List<String> syntax = problems("""
                oceanbase-ce:
                  servers: [10.0.0.1
                  global: { home_path: /ob }
                """);
        assertEquals(1, syntax.size());
        assertTrue(syntax.get(0).matches("obd\\.yaml:\\d+:\\d+: YAML syntax error: .*"), syntax.toString());
        // the same checks as obplay's own format: two servers sharing a home on one host
        List<String> clash = problems("""
                oceanbase-ce:
                  servers:
                    - { name: a, ip: 10.0.0.1 }
                    - { name: b, ip: 10.0.0.1 }
                  global: { home_path: /ob }
                  b: { obshell_port: 2996, mysql_port: 3881, rpc_port: 3882 }
                """);
        assertEquals(1, clash.size(), clash.toString());
        assertTrue(clash.get(0).startsWith("obd.yaml:4:22: 10.0.0.1:2886 and 10.0.0.1:2996 on host 10.0.0.1 share home_path /ob"), clash.toString());
    }

    @Test
    void unsupportedLayoutsAreRefusedClearly() {
        List<String> p = problems("""
                oceanbase-ce:
                  style: cluster
                  zones: { zone1: { servers: [10.0.0.1] } }
                """);
        assertTrue(p.get(0).startsWith("obd.yaml:2:10: 'oceanbase-ce' uses OBD's 'style: cluster' layout"), p.toString());
        List<String> none = problems("""
                user: { username: admin }
                grafana: { servers: [10.0.0.1] }
                """);
        assertTrue(none.get(0).contains("has no oceanbase-ce (or oceanbase) and no obproxy-ce"), none.toString());
    }

    @Test
    void obplayInventoriesAreNotMistakenForOBD() throws Exception {
        assertEquals("obplay", Inventories.read(Path.of("inventories/demo.yaml")).format());
        assertFalse(ObdConfigLoader.isObdConfig(YamlSource.of("x.yaml", "cluster: c\nobproxy: { clusters: [] }\n").root()));
        assertTrue(ObdConfigLoader.isObdConfig(YamlSource.of("x.yaml", "obproxy: { servers: [10.0.0.1] }\n").root()));
    }

    @Test
    void theWrittenObplayInventoryResolvesToTheSameServers() throws Exception {
        LoadedInventory l = read(DEPLOYED);
        String written = InventoryWriter.obplay(l);
        assertTrue(written.contains("home_path: /data/observer2  # oceanbase-ce.server2.home_path (obd.yaml:22:16)"), written);
        assertTrue(written.contains("data_dir: /home/admin/observer/store  # OBD default (home_path + /store)"), written);
        assertTrue(written.contains("# Not carried over (obplay has no use for them): oceanbase-ce: memory_limit, root_password, cpu_count; obproxy-ce: depends"), written);
        assertTrue(written.contains("ssh:\n  user: admin  # user.username (obd.yaml:2:13)"), written);
        Inventory again = InventoryLoader.load(YamlSource.of("written.yaml", written));
        assertEquals(l.inventory().cluster(), again.cluster());
        assertEquals(l.inventory().transport(), again.transport());
        assertEquals(l.inventory().zoneNames(), again.zoneNames());
        assertEquals(l.inventory().servers().size(), again.servers().size());
        for (int i = 0; i < again.servers().size(); i++) {
            Server a = l.inventory().servers().get(i);
            Server b = again.servers().get(i);
            assertEquals(a.name(), b.name());
            assertEquals(a.dirs(), b.dirs());
            assertEquals(a.ports(), b.ports());
            assertEquals(a.pidFiles(), b.pidFiles());
            assertEquals(a.ssh(), b.ssh());
            assertEquals(a.settings().get("obd_name") == null ? null : a.settings().get("obd_name").value(),
                    b.settings().get("obd_name") == null ? null : b.settings().get("obd_name").value());
        }
    }

    @Test
    void writtenValuesFullOfQuotesReadBackUnchanged() throws Exception {
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", """
                cluster: "it's $(x)"
                zones:
                  "zone: a":
                    servers:
                      - host: 10.0.0.1
                        home_path: "/data/o b/\\"q\\""
                        vars: { note: "yes", n: "007", shell: "a'b\\"c $(rm -rf /)" }
                """));
        String written = InventoryWriter.obplay(new LoadedInventory(inv, "obplay", List.of(), List.of()));
        Inventory again = InventoryLoader.load(YamlSource.of("written.yaml", written));
        assertEquals("it's $(x)", again.cluster());
        assertEquals(List.of("zone: a"), again.zoneNames());
        Server s = again.observers().get(0);
        assertEquals("/data/o b/\"q\"", s.home());
        assertEquals("yes", s.settings().get("note").value());
        assertEquals("007", s.settings().get("n").value());
        assertEquals("a'b\"c $(rm -rf /)", s.settings().get("shell").value());
    }

    @Test
    @SuppressWarnings("unchecked")
    void ansibleInventoryHasGroupsPerZoneAndObproxyClusterAndHostVars() throws Exception {
        String text = InventoryWriter.ansible(read(DEPLOYED));
        Map<String, Object> all = (Map<String, Object>) ((Map<String, Object>) new Yaml().load(text)).get("all");
        assertEquals("prod", ((Map<String, Object>) all.get("vars")).get("obplay_cluster"));
        Map<String, Object> children = (Map<String, Object>) all.get("children");
        Map<String, Object> zones = (Map<String, Object>) ((Map<String, Object>) children.get("oceanbase")).get("children");
        assertEquals(List.of("zone1", "zone2"), List.copyOf(zones.keySet()));
        Map<String, Object> zone2Hosts = (Map<String, Object>) ((Map<String, Object>) zones.get("zone2")).get("hosts");
        Map<String, Object> h = (Map<String, Object>) zone2Hosts.get("10.0.0.2");
        assertEquals("10.0.0.2", h.get("ansible_host"));
        assertEquals("admin", h.get("ansible_user"));
        assertEquals(2022, h.get("ansible_port"));
        assertEquals("/home/admin/.ssh/obd_key", h.get("ansible_ssh_private_key_file"));
        assertEquals(30, h.get("ansible_ssh_timeout"));
        assertEquals("/data/observer2", h.get("home_path"));
        assertEquals("/data/log1/ob/clog", h.get("clog_dir"));
        assertEquals(2996, h.get("agent_port"));
        assertEquals("10.0.0.2:2996", h.get("obplay_server"));
        assertEquals("server2", h.get("obd_name"));
        Map<String, Object> proxies = (Map<String, Object>) ((Map<String, Object>) children.get("obproxy")).get("children");
        Map<String, Object> group = (Map<String, Object>) proxies.get("obproxy_obproxy_ce");
        assertEquals(1, ((Map<String, Object>) group.get("vars")).get("obproxy_cluster_id"));
        Map<String, Object> p2 = (Map<String, Object>) ((Map<String, Object>) group.get("hosts")).get("10.0.0.6");
        assertEquals("/home/admin/obproxy/run/obproxyd-10.0.0.6-4883.pid", p2.get("daemon_pid_file"));
        assertEquals(4883, p2.get("listen_port"));
    }

    @Test
    void ansibleNamesServersApartWhenAHostRunsSeveral() throws Exception {
        String text = InventoryWriter.ansible(read("""
                oceanbase-ce:
                  servers: [127.0.0.1]
                  global: { home_path: /tmp/ob }
                obproxy-ce:
                  servers: [127.0.0.1]
                  global: { home_path: /tmp/obproxy }
                """));
        assertTrue(text.contains("127.0.0.1-observer-2886:"), text);
        assertTrue(text.contains("127.0.0.1-obproxy-1-1:"), text);
        assertTrue(text.contains("ansible_connection: local"), text);
    }

    @Test
    void ansibleCarriesJumpHostKeyOptionsAndQuotesWhatYamlWouldRetype() throws Exception {
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", """
                cluster: "1:20"
                ssh: { user: ops, jump: "admin@bastion:2222", host_key_checking: accept-new, known_hosts: /etc/obplay/known_hosts }
                zones:
                  "2024-01-01":
                    servers:
                      - host: 10.0.0.1
                        vars: { flag: "no", t: "1:30" }
                """));
        String text = InventoryWriter.ansible(new LoadedInventory(inv, "obplay", List.of(), List.of()));
        @SuppressWarnings("unchecked")
        Map<String, Object> all = (Map<String, Object>) ((Map<String, Object>) new Yaml().load(text)).get("all");
        assertEquals("1:20", ((Map<?, ?>) all.get("vars")).get("obplay_cluster"));
        assertTrue(text.contains("ansible_ssh_common_args: \"-o ProxyJump=admin@bastion:2222 -o StrictHostKeyChecking=accept-new"
                + " -o UserKnownHostsFile=/etc/obplay/known_hosts\""), text);
        assertTrue(text.contains("g_2024_01_01:"), text);
        assertTrue(text.contains("flag: \"no\""), text);
        assertTrue(text.contains("t: \"1:30\""), text);
        assertTrue(text.contains("ansible_user: ops"), text);
    }

    @Test
    void aJumpChainIsCheckedHopByHop() throws Exception {
        Inventory ok = InventoryLoader.load(YamlSource.of("inv.yaml",
                "cluster: c\nssh: { jump: \"ops@bastion-1:2222, inner\" }\nzones: { z: { servers: [ { host: 10.0.0.1 } ] } }\n"));
        assertEquals("ops@bastion-1:2222,inner", ok.observers().get(0).ssh().jump());
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> InventoryLoader.load(YamlSource.of("inv.yaml",
                "cluster: c\nssh: { jump: \"ops@bastion-1:2222,bad host\" }\nzones: { z: { servers: [ { host: 10.0.0.1 } ] } }\n")));
        assertTrue(e.getMessage().startsWith("inv.yaml:2:14: 'jump' is 'ops@bastion-1:2222,bad host': jump host 'bad host': "), e.getMessage());
    }
}
