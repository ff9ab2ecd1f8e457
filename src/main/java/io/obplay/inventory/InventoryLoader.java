package io.obplay.inventory;

import org.yaml.snakeyaml.nodes.Node;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads an inventory file into a resolved {@link Inventory}, or reports every mistake at once.
 *
 * <p>Precedence, highest first: the server's own keys, its zone's (or obproxy cluster's) keys, the top-level
 * defaults ({@code ssh:}, {@code observer:}, {@code obproxy.defaults:}), the built-in defaults. Each resolved
 * value remembers where it came from.
 */
public final class InventoryLoader {
    static final List<String> TOP_KEYS = List.of("cluster", "transport", "ssh", "observer", "zones", "obproxy", "vars");
    static final List<String> SSH_KEYS = List.of("user", "port", "key", "known_hosts", "host_key_checking", "connect_timeout", "handshake_timeout", "jump",
            "config");
    static final List<String> OBSERVER_KEYS = List.of("home_path", "mysql_port", "rpc_port", "agent_port",
            "version", "data_dir", "redo_dir", "clog_dir", "slog_dir", "ilog_dir", "pid_file", "start_command");
    static final List<String> OBPROXY_KEYS = List.of("home_path", "listen_port", "prometheus_listen_port",
            "rpc_listen_port", "agent_port", "pid_file", "daemon_pid_file", "start_command", "obproxyd_script");
    static final List<String> OBPROXY_TOP_KEYS = List.of("defaults", "ssh", "vars", "clusters");

    private static final List<String> SERVER_KEYS = concat(List.of("host", "ssh", "vars"), OBSERVER_KEYS);

    private static final Set<String> PORT_KEYS = Set.of("mysql_port", "rpc_port", "agent_port", "listen_port",
            "prometheus_listen_port", "rpc_listen_port");

    private final YamlSource src;
    /** Where each server was declared, for messages about servers that clash. */
    private final Map<Server, Node> declared = new java.util.IdentityHashMap<>();
    /** Where each server's directory and pid file settings were written (absent: built-in or derived). */
    private final Map<Server, Map<String, Node>> written = new java.util.IdentityHashMap<>();
    /** The same, for the server being read. */
    private Map<String, Node> writing = new HashMap<>();

    private InventoryLoader(YamlSource src) {
        this.src = src;
    }

    public static Inventory load(Path file) throws InvalidInputException {
        return load(YamlSource.read(file));
    }

    public static Inventory load(YamlSource src) throws InvalidInputException {
        Inventory inv = new InventoryLoader(src).read();
        if (!src.problems().isEmpty()) {
            throw new InvalidInputException(src.problems());
        }
        return inv;
    }

    /** One level of settings: where it stands (for origins) and its mapping (null when absent). */
    private record Layer(String name, YamlMap map) {
    }

    private Inventory read() {
        YamlMap top = src.rootMap("the inventory");
        if (top == null) {
            return null;
        }
        if (!top.has("zones") && !top.has("obproxy") && !top.has("cluster") && (top.has("steps") || top.has("targets"))) {
            src.problem(top.node(), "this is a playbook (it has " + (top.has("steps") ? "'steps'" : "'targets'")
                    + "), given as the inventory; expected an inventory (cluster:, zones:) after -i and the playbook as the argument");
            return null;
        }
        top.allow(TOP_KEYS);
        String cluster = top.requiredString("cluster");
        InputChecks.shownName(src, top.value("cluster"), "the cluster name", cluster);
        TransportKind transport = top.enumValue("transport", TransportKind.class);
        if (transport == null) {
            transport = TransportKind.SSH;
        }
        Layer topSsh = layer("top-level ssh", top.map("ssh"), SSH_KEYS);
        Layer topObserver = layer("observer defaults", top.map("observer"), OBSERVER_KEYS);
        Layer topVars = new Layer("top-level vars", top.map("vars"));

        List<Zone> zones = new ArrayList<>();
        YamlMap zonesMap = top.map("zones");
        if (zonesMap == null) {
            if (!top.has("obproxy")) {
                src.problem(top.node(), "the inventory has no 'zones' and no 'obproxy'; expected at least one zone with servers");
            }
        } else {
            for (String zoneName : zonesMap.keys()) {
                zones.add(readZone(zoneName, zonesMap, topSsh, topObserver, topVars, cluster));
            }
        }
        List<ObproxyCluster> proxies = readObproxy(top.map("obproxy"), topSsh, topVars, cluster);
        Inventory inv = new Inventory(src.file(), src.sha256(), cluster, transport, zones, proxies);
        checkUnique(inv);
        return inv;
    }

    private Layer layer(String name, YamlMap map, List<String> allowed) {
        if (map != null) {
            map.allow(allowed);
        }
        return new Layer(name, map);
    }

    private Zone readZone(String zoneName, YamlMap zonesMap, Layer topSsh, Layer topObserver, Layer topVars, String cluster) {
        InputChecks.shownName(src, zonesMap.keyNode(zoneName), "the zone name", zoneName);
        YamlMap zone = zonesMap.map(zoneName);
        List<Server> servers = new ArrayList<>();
        if (zone == null) {
            src.problem(zonesMap.value(zoneName), "zone '" + zoneName + "' needs 'servers', a list of hosts");
            return new Zone(zoneName, servers);
        }
        zone.allow(concat(List.of("servers", "ssh", "vars"), OBSERVER_KEYS));
        Layer zoneLayer = new Layer("zone " + zoneName, zone);
        Layer zoneSsh = layer("zone " + zoneName + " ssh", zone.map("ssh"), SSH_KEYS);
        Layer zoneVars = new Layer("zone " + zoneName + " vars", zone.map("vars"));
        List<Node> items = zone.list("servers");
        if (items == null || items.isEmpty()) {
            src.problem(zone.has("servers") ? zone.value("servers") : zone.node(),
                    "zone '" + zoneName + "' has no servers; expected 'servers:' with at least one '- host: ...'");
            return new Zone(zoneName, servers);
        }
        String what = "a server of zone " + zoneName;
        // A server that says nothing but its host gets all its settings from the zone and the defaults: the same
        // for every such server of the zone. The first one is resolved in full; when that reported no problem,
        // the others take its settings (see fromTemplate) instead of resolving the same layers again.
        Server template = null;
        boolean templateUsable = true;
        for (Node item : items) {
            YamlMap s = YamlMap.of(src, item, what);
            if (s == null) {
                continue;
            }
            s.allow(SERVER_KEYS);
            String host = host(s);
            if (host == null) {
                continue;
            }
            boolean hostOnly = s.keys().size() == 1;
            Server server;
            if (hostOnly && template != null) {
                server = fromTemplate(template, host);
            } else {
                int problems = src.problems().size();
                Layer serverLayer = new Layer("server " + host, s);
                Layer serverSsh = layer("server " + host + " ssh", s.map("ssh"), SSH_KEYS);
                server = observer(zoneName, host, List.of(serverLayer, zoneLayer, topObserver),
                        List.of(serverSsh, zoneSsh, topSsh),
                        List.of(new Layer("server " + host + " vars", s.map("vars")), zoneVars, topVars), cluster);
                if (hostOnly && templateUsable) {
                    if (server != null && src.problems().size() == problems) {
                        template = server;
                    } else {
                        templateUsable = false;  // its problems are reported again for each server, as always
                    }
                }
            }
            if (server != null) {
                declared.put(server, s.value("host"));
                written.put(server, hostOnly && template != null && server != template ? written.get(template) : writing);
                servers.add(server);
            }
        }
        return new Zone(zoneName, servers);
    }

    /** The canonical form of a server's {@code host} (see {@link HostName}), or null after a problem. */
    private String host(YamlMap s) {
        String raw = s.requiredString("host");
        if (raw == null) {
            return null;
        }
        HostName.Parsed p = HostName.parse(raw);
        if (!p.ok()) {
            src.problem(s.value("host"), "'host' is '" + Show.escaped(raw) + "': " + p.error());
            return null;
        }
        return p.host();
    }

    /**
     * What {@link #observer} gives for another server of the template's zone that, like the template, sets
     * nothing but its host: every setting but {@code host} comes from the same layers, so it is the template's.
     */
    private static Server fromTemplate(Server t, String host) {
        Map<String, Setting> settings = OrderedMaps.withOne(t.settings(), "host", new Setting(host, "inventory"));
        return new Server(Role.OBSERVER, HostName.withPort(host, t.agentPort()), t.group(), 0, 0, host, t.agentPort(), t.ssh(), t.home(),
                t.dirs(), t.ports(), t.pidFiles(), settings);
    }

    private Server observer(String zone, String host, List<Layer> layers, List<Layer> sshLayers, List<Layer> vars, String cluster) {
        Map<String, Setting> settings = new LinkedHashMap<>();
        settings.put("cluster", new Setting(cluster, "inventory"));
        settings.put("zone", new Setting(zone, "inventory"));
        settings.put("host", new Setting(host, "inventory"));
        writing = new HashMap<>();
        String home = path(settings, "home_path", layers, "/home/admin/oceanbase", null);
        int mysql = port(settings, "mysql_port", layers, 2881);
        int rpc = port(settings, "rpc_port", layers, 2882);
        int agent = port(settings, "agent_port", layers, 2886);
        int major = version(settings, layers);
        String data = path(settings, "data_dir", layers, home + "/store", "home_path + /store");
        String redo = path(settings, "redo_dir", layers, data, "data_dir");
        String clog = path(settings, "clog_dir", layers, redo + "/clog", "redo_dir + /clog");
        // OceanBase 4.x keeps the slog with the data (OBD's 4.0.0.0 init_pre, obshell's enter.go); 3.x with the
        // redo logs, beside its ilog
        String slog = major == 3 ? path(settings, "slog_dir", layers, redo + "/slog", "redo_dir + /slog (OceanBase 3.x layout)")
                : path(settings, "slog_dir", layers, data + "/slog", "data_dir + /slog (OceanBase 4.x layout)");
        String ilog = null;
        if (major == 3) {
            ilog = path(settings, "ilog_dir", layers, redo + "/ilog", "redo_dir + /ilog (OceanBase 3.x layout)");
        } else {
            Layer l = find("ilog_dir", layers);
            if (l != null) {
                l.map().source().problem(l.map().keyNode("ilog_dir"), "'ilog_dir' is OceanBase 3.x's (4.x has no ilog); this server is "
                        + "version " + major + " (" + settings.get("version").origin() + "). Expected 'version: 3' for a 3.x cluster, "
                        + "or no ilog_dir");
            }
        }
        String pid = homeRelative(settings, "pid_file", layers, home, "run/observer.pid");
        startCommand(settings, layers);
        SshSettings ssh = ssh(settings, sshLayers);
        readVars(settings, vars);
        if (home == null || data == null || redo == null || clog == null || slog == null || (major == 3 && ilog == null)
                || pid == null || ssh == null) {
            return null;
        }
        Map<String, String> dirs = new LinkedHashMap<>();
        dirs.put("home", home);
        for (String sub : List.of("log", "run", "etc", "bin", "lib", "store")) {
            dirs.put(sub, home + "/" + sub);
        }
        dirs.put("data_dir", data);
        dirs.put("redo_dir", redo);
        dirs.put("clog_dir", clog);
        dirs.put("slog_dir", slog);
        if (ilog != null) {
            dirs.put("ilog_dir", ilog);
        }
        Map<String, Integer> ports = new LinkedHashMap<>();
        ports.put("mysql_port", mysql);
        ports.put("rpc_port", rpc);
        return new Server(Role.OBSERVER, HostName.withPort(host, agent), zone, 0, 0, host, agent, ssh, home, dirs, ports,
                Map.of("server", pid), settings);
    }

    private List<ObproxyCluster> readObproxy(YamlMap obproxy, Layer topSsh, Layer topVars, String cluster) {
        List<ObproxyCluster> out = new ArrayList<>();
        if (obproxy == null) {
            return out;
        }
        obproxy.allow(OBPROXY_TOP_KEYS);
        Layer defaults = layer("obproxy defaults", obproxy.map("defaults"), OBPROXY_KEYS);
        Layer proxySsh = layer("obproxy ssh", obproxy.map("ssh"), SSH_KEYS);
        Layer proxyVars = new Layer("obproxy vars", obproxy.map("vars"));
        List<Node> clusters = obproxy.list("clusters");
        if (clusters == null || clusters.isEmpty()) {
            src.problem(obproxy.node(), "'obproxy' has no clusters; expected 'clusters:' with at least one '- id: N'");
            return out;
        }
        Set<Integer> ids = new LinkedHashSet<>();
        for (Node item : clusters) {
            YamlMap c = YamlMap.of(src, item, "an obproxy cluster");
            if (c == null) {
                continue;
            }
            c.allow(concat(List.of("id", "name", "servers", "ssh", "vars"), OBPROXY_KEYS));
            Integer id = c.integer("id", 1, Integer.MAX_VALUE, "a positive whole number (OCP's cluster id)");
            if (id == null) {
                if (!c.has("id")) {
                    src.problem(c.node(), "an obproxy cluster needs 'id', a positive whole number");
                }
                continue;
            }
            if (!ids.add(id)) {
                src.problem(c.value("id"), "obproxy cluster id " + id + " is used twice; expected unique ids");
                continue;
            }
            String name = c.string("name");
            InputChecks.shownName(src, c.value("name"), "the obproxy cluster name", name);
            if (name == null) {
                name = "obproxy-" + id;
            }
            Layer clusterLayer = new Layer("obproxy cluster " + id, c);
            Layer clusterSsh = layer("obproxy cluster " + id + " ssh", c.map("ssh"), SSH_KEYS);
            Layer clusterVars = new Layer("obproxy cluster " + id + " vars", c.map("vars"));
            List<Server> servers = new ArrayList<>();
            List<Node> items = c.list("servers");
            if (items == null || items.isEmpty()) {
                src.problem(c.node(), "obproxy cluster " + id + " has no servers; expected 'servers:' with '- { id: N, host: ... }'");
            } else {
                Map<Integer, Node> serverIds = new HashMap<>();
                for (Node sn : items) {
                    YamlMap s = YamlMap.of(src, sn, "a server of obproxy cluster " + id);
                    if (s == null) {
                        continue;
                    }
                    s.allow(concat(List.of("id", "host", "ssh", "vars"), OBPROXY_KEYS));
                    Integer sid = s.integer("id", 1, Integer.MAX_VALUE, "a positive whole number (OCP's obproxy server id)");
                    String host = host(s);
                    if (sid == null && !s.has("id")) {
                        src.problem(s.node(), "an obproxy server needs 'id', a positive whole number");
                    }
                    if (sid == null || host == null) {
                        continue;
                    }
                    if (serverIds.containsKey(sid)) {
                        src.problem(s.value("id"), "obproxy server id " + sid + " is used twice in obproxy cluster " + id
                                + " (first at " + src.where(serverIds.get(sid)) + "); expected unique ids");
                        continue;
                    }
                    serverIds.put(sid, s.value("id"));
                    Server server = obproxyServer(id, name, sid, host,
                            List.of(new Layer("obproxy server " + sid, s), clusterLayer, defaults),
                            List.of(layer("obproxy server " + sid + " ssh", s.map("ssh"), SSH_KEYS), clusterSsh, proxySsh, topSsh),
                            List.of(new Layer("obproxy server " + sid + " vars", s.map("vars")), clusterVars, proxyVars, topVars),
                            cluster);
                    if (server != null) {
                        declared.put(server, s.value("host"));
                        written.put(server, writing);
                        servers.add(server);
                    }
                }
            }
            out.add(new ObproxyCluster(id, name, servers));
        }
        return out;
    }

    private Server obproxyServer(int clusterId, String clusterName, int id, String host, List<Layer> layers,
                                 List<Layer> sshLayers, List<Layer> vars, String cluster) {
        Map<String, Setting> settings = new LinkedHashMap<>();
        settings.put("cluster", new Setting(cluster, "inventory"));
        settings.put("obproxy_cluster", new Setting(clusterName, "inventory"));
        settings.put("obproxy_cluster_id", new Setting(clusterId, "inventory"));
        settings.put("obproxy_id", new Setting(id, "inventory"));
        settings.put("host", new Setting(host, "inventory"));
        writing = new HashMap<>();
        String home = path(settings, "home_path", layers, "/home/admin/obproxy", null);
        int listen = port(settings, "listen_port", layers, 2883);
        int prometheus = port(settings, "prometheus_listen_port", layers, 2884);
        int rpc = port(settings, "rpc_listen_port", layers, 2885);
        int agent = port(settings, "agent_port", layers, 2886);
        // obshell's names (lib/path/obproxy.go) and OBD's: both are looked for unless the inventory names one
        boolean ownPid = find("pid_file", layers) != null;
        boolean ownDaemon = find("daemon_pid_file", layers) != null;
        String pid = homeRelative(settings, "pid_file", layers, home, "run/obproxy.pid");
        String daemon = homeRelative(settings, "daemon_pid_file", layers, home, "run/obproxyd.pid");
        startCommand(settings, layers);
        obproxydScript(settings, layers);
        SshSettings ssh = ssh(settings, sshLayers);
        readVars(settings, vars);
        if (home == null || pid == null || daemon == null || ssh == null) {
            return null;
        }
        Map<String, String> dirs = new LinkedHashMap<>();
        dirs.put("home", home);
        for (String sub : List.of("log", "run", "etc", "bin", "lib")) {
            dirs.put(sub, home + "/" + sub);
        }
        Map<String, Integer> ports = new LinkedHashMap<>();
        ports.put("listen_port", listen);
        ports.put("prometheus_listen_port", prometheus);
        if (layers.stream().anyMatch(l -> l.map() != null && l.map().has("rpc_listen_port"))) {
            ports.put("rpc_listen_port", rpc);
        }
        Map<String, String> pidFiles = new LinkedHashMap<>();
        pidFiles.put("server", pid);
        if (!ownPid) {
            pidFiles.put("server_obd", home + "/run/obproxy-" + host + "-" + listen + ".pid");
        }
        pidFiles.put("daemon", daemon);
        if (!ownDaemon) {
            pidFiles.put("daemon_obd", home + "/run/obproxyd-" + host + "-" + listen + ".pid");
        }
        return new Server(Role.OBPROXY, "obproxy:" + clusterId + "/" + id, clusterName, clusterId, id, host, agent,
                ssh, home, dirs, ports, pidFiles, settings);
    }

    /** Finds a key in the first layer that has it. */
    private Layer find(String key, List<Layer> layers) {
        for (Layer l : layers) {
            if (l.map() != null && l.map().has(key) && !YamlMap.isNull(l.map().value(key))) {
                return l;
            }
        }
        return null;
    }

    private int port(Map<String, Setting> settings, String key, List<Layer> layers, int def) {
        Layer l = find(key, layers);
        if (l == null) {
            settings.put(key, new Setting(def, "built-in default"));
            return def;
        }
        Integer p = l.map().port(key);
        settings.put(key, new Setting(p == null ? def : p, l.name() + " (" + l.map().where(key) + ")"));
        return p == null ? def : p;
    }

    /**
     * The OceanBase major version that decides the directory layout: {@code version} (3 or 4, or a full version
     * such as 3.1.4 or 4.2.1.0), 4 by default. A bad value is reported and the default is used.
     */
    private int version(Map<String, Setting> settings, List<Layer> layers) {
        Layer l = find("version", layers);
        if (l == null) {
            settings.put("version", new Setting("4", "built-in default (OceanBase 4.x layout)"));
            return 4;
        }
        String v = l.map().string("version");
        if (v == null) {
            return 4;
        }
        String t = v.trim();
        if (!t.matches("[34](\\.[0-9]+)*")) {
            l.map().source().problem(l.map().value("version"), "'version' is '" + v + "'; expected OceanBase's version, 3 or 4 "
                    + "(or a full version such as 3.1.4 or 4.2.1.0): it decides where slog_dir and ilog_dir are");
            return 4;
        }
        settings.put("version", new Setting(t, l.name() + " (" + l.map().where("version") + ")"));
        return t.charAt(0) - '0';
    }

    private String path(Map<String, Setting> settings, String key, List<Layer> layers, String def, String derivedFrom) {
        Layer l = find(key, layers);
        if (l == null) {
            if (def == null) {
                return null;
            }
            settings.put(key, new Setting(def, derivedFrom == null ? "built-in default" : "derived from " + derivedFrom));
            return def;
        }
        String p = l.map().string(key);
        if (p == null) {
            return null;
        }
        String problem = absolutePathProblem(p);
        if (problem != null) {
            l.map().source().problem(l.map().value(key), "'" + key + "' is '" + Show.escaped(p) + "': " + problem);
            return null;
        }
        String norm = stripSlash(p);
        writing.put(key, l.map().value(key));
        settings.put(key, new Setting(norm, l.name() + " (" + l.map().where(key) + ")"));
        return norm;
    }

    private String homeRelative(Map<String, Setting> settings, String key, List<Layer> layers, String home, String def) {
        if (home == null) {
            return null;
        }
        Layer l = find(key, layers);
        String value = l == null ? def : l.map().string(key);
        if (value == null) {
            return null;
        }
        String full = value.startsWith("/") ? value : home + "/" + value;
        if (full.contains("/../") || full.endsWith("/..")) {
            l.map().source().problem(l.map().value(key), "'" + key + "' is '" + value + "': must not contain '..'");
            return null;
        }
        String problem = value.isBlank() ? "it is empty; expected a file path" : absolutePathProblem(full);
        if (problem != null && l != null) {
            l.map().source().problem(l.map().value(key), "'" + key + "' is '" + Show.escaped(value) + "': " + problem);
            return null;
        }
        if (l != null) {
            writing.put(key, l.map().value(key));
        }
        settings.put(key, new Setting(full, l == null ? "built-in default (home_path + /" + def + ")" : l.name() + " (" + l.map().where(key) + ")"));
        return full;
    }

    private SshSettings ssh(Map<String, Setting> settings, List<Layer> layers) {
        SshSettings d = SshSettings.DEFAULTS;
        String user = sshValue(settings, "user", layers, d.user(), (m, k) -> checked(m, k, InputChecks::userProblem));
        Integer port = sshValue(settings, "port", layers, d.port(), YamlMap::port);
        String key = sshValue(settings, "key", layers, d.key(), (m, k) -> checked(m, k, InventoryLoader::localFileProblem));
        String known = sshValue(settings, "known_hosts", layers, d.knownHosts(), (m, k) -> checked(m, k, InventoryLoader::localFileProblem));
        HostKeyChecking checking = sshValue(settings, "host_key_checking", layers, d.hostKeyChecking(),
                (m, k) -> m.enumValue(k, HostKeyChecking.class));
        Duration timeout = sshValue(settings, "connect_timeout", layers, d.connectTimeout(),
                (m, k) -> m.duration(k, Duration.ofMillis(1), Duration.ofMinutes(10)));
        Duration handshake = sshValue(settings, "handshake_timeout", layers, d.handshakeTimeout(),
                (m, k) -> m.duration(k, Duration.ofMillis(1), Duration.ofHours(1)));
        String jump = sshValue(settings, "jump", layers, d.jump(), (m, k) -> {
            String j = m.string(k);
            if (j == null || j.isBlank()) {
                return null;
            }
            // a chain of jump hosts, the first connected to first (as OpenSSH's ProxyJump a,b)
            List<String> hops = new ArrayList<>();
            for (String hop : j.split(",", -1)) {
                InputChecks.Jump parsed = InputChecks.jump(hop);
                if (parsed.error() != null) {
                    m.source().problem(m.value(k), "'jump' is '" + Show.escaped(j) + "': " + (j.contains(",") ? "jump host '"
                            + Show.escaped(hop.strip()) + "': " : "") + parsed.error());
                    return null;
                }
                hops.add(parsed.canonical());
            }
            return String.join(",", hops);
        });
        String config = sshValue(settings, "config", layers, d.config(), (m, k) -> checked(m, k, v -> v.equalsIgnoreCase("none") ? null
                : localFileProblem(v)));
        return new SshSettings(user, port, key, known, checking, timeout, jump, handshake, config);
    }

    /** A string value, or null after a problem when {@code check} finds one. */
    private static String checked(YamlMap m, String key, java.util.function.Function<String, String> check) {
        String v = m.string(key);
        if (v == null) {
            return null;
        }
        String problem = check.apply(v);
        if (problem != null) {
            m.source().problem(m.value(key), "'" + key + "' is '" + Show.escaped(v) + "': " + problem);
            return null;
        }
        return v;
    }

    /** A file on this machine (a key, a known_hosts file): any name, but no control characters. */
    private static String localFileProblem(String v) {
        if (v.isBlank()) {
            return "it is empty; expected a file";
        }
        String c = InputChecks.controlProblem(v);
        return c == null ? null : c + "; expected a file name";
    }

    private <T> T sshValue(Map<String, Setting> settings, String key, List<Layer> layers, T def,
                           java.util.function.BiFunction<YamlMap, String, T> read) {
        Layer l = find(key, layers);
        T value = l == null ? null : read.apply(l.map(), key);
        if (value == null) {
            value = def;
        }
        Object shown = value instanceof HostKeyChecking h ? h.yamlName() : value instanceof Duration dur ? dur.toMillis() + "ms" : value;
        settings.put("ssh." + key, new Setting(shown, l == null ? "built-in default" : l.name() + " (" + l.map().where(key) + ")"));
        return value;
    }

    /**
     * {@code obproxyd_script}: the server has OBD's obproxyd watchdog, run from this script in its home (e.g.
     * {@code obproxyd.sh}); a start launches it after obproxy is ready, as OBD does ({@code bash <script> <home>
     * <ip> <listen_port> daemon}). A path relative to the home, without {@code ..}.
     */
    private void obproxydScript(Map<String, Setting> settings, List<Layer> layers) {
        Layer l = find("obproxyd_script", layers);
        if (l == null) {
            return;
        }
        String v = l.map().string("obproxyd_script");
        String problem = v == null || v.isBlank() ? "it is empty"
                : v.startsWith("/") ? "'" + Show.escaped(v) + "' is absolute"
                : java.util.Arrays.asList(v.split("/")).contains("..") ? "'" + Show.escaped(v) + "' has '..'"
                : InputChecks.nulProblem(v);
        if (problem != null) {
            l.map().source().problem(l.map().value("obproxyd_script"), "'obproxyd_script': " + problem
                    + "; expected the watchdog's script relative to the home, e.g. 'obproxyd_script: obproxyd.sh'");
            return;
        }
        settings.put("obproxyd_script", new Setting(v, l.name() + " (" + l.map().where("obproxyd_script") + ")"));
    }

    /**
     * {@code start_command}: how a start step launches the server instead of obshell's way, a shell template
     * rendered per server as a {@code shell} step's command is; the nearest layer's (server, zone, defaults).
     */
    private void startCommand(Map<String, Setting> settings, List<Layer> layers) {
        Layer l = find("start_command", layers);
        if (l == null) {
            return;
        }
        String v = l.map().string("start_command");
        String problem = v == null || v.isBlank() ? "it is empty; expected a command, e.g. 'start_command: \"./bin/observer\"'"
                : InputChecks.nulProblem(v);
        if (problem != null) {
            l.map().source().problem(l.map().value("start_command"), "'start_command': " + problem);
            return;
        }
        settings.put("start_command", new Setting(v, l.name() + " (" + l.map().where("start_command") + ")"));
    }

    private void readVars(Map<String, Setting> settings, List<Layer> vars) {
        for (int i = vars.size() - 1; i >= 0; i--) {
            Layer l = vars.get(i);
            if (l.map() == null) {
                continue;
            }
            for (String k : l.map().keys()) {
                if (settings.containsKey(k) && !settings.get(k).origin().contains("vars")) {
                    l.map().source().problem(l.map().keyNode(k), "var '" + k + "' would hide the setting of the same name; choose another name");
                    continue;
                }
                String v = l.map().string(k);
                String nul = v == null ? null : InputChecks.nulProblem(v);
                if (nul != null) {
                    l.map().source().problem(l.map().value(k), "var '" + k + "': " + nul + "; expected text without it");
                    continue;
                }
                if (v != null) {
                    settings.put(k, new Setting(v, l.name() + " (" + l.map().where(k) + ")"));
                }
            }
        }
    }

    /** Null when the path is a usable absolute directory path, else what is wrong with it. */
    public static String absolutePathProblem(String p) {
        if (p.isBlank()) {
            return "it is empty; expected an absolute path";
        }
        String control = InputChecks.controlProblem(p, true);
        if (control != null) {
            return control + "; expected a path without control or invisible characters";
        }
        for (char g : new char[]{'*', '?', '['}) {
            if (p.indexOf(g) >= 0) {
                return "it holds '" + g + "', which a shell reads as a pattern, while obplay takes every path literally; "
                        + "expected a path without '*', '?' or '['";
            }
        }
        if (!p.startsWith("/")) {
            return "it is relative; expected an absolute path such as /home/admin/oceanbase";
        }
        if (stripSlash(p).equals("") || stripSlash(p).equals("/")) {
            return "it is the root directory; expected a directory below /";
        }
        for (String seg : p.split("/")) {
            if (seg.equals("..") || seg.equals(".")) {
                return "it contains '" + seg + "'; expected a plain absolute path";
            }
        }
        if (p.contains("//")) {
            return "it contains '//'; expected a plain absolute path";
        }
        return null;
    }

    static String stripSlash(String p) {
        String s = p;
        while (s.length() > 1 && s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    /** Where a server's setting was written, or where the server was declared when it was built in or derived. */
    private Node at(Server s, String key) {
        Map<String, Node> w = written.get(s);
        Node n = w == null ? null : w.get(key);
        if (n == null && w != null && !key.equals("data_dir") && key.endsWith("_dir")) {
            // redo_dir derives from data_dir, clog_dir and slog_dir from redo_dir
            n = w.get(key.equals("redo_dir") ? "data_dir" : w.containsKey("redo_dir") ? "redo_dir" : "data_dir");
        }
        return n != null ? n : declared.get(s);
    }

    private void checkUnique(Inventory inv) {
        for (Server s : inv.servers()) {
            java.util.Set<String> reported = new java.util.HashSet<>();
            for (String[] p : InputChecks.ownProblems(s)) {
                if (reported.add(s.settings().containsKey(p[0]) ? String.valueOf(s.settings().get(p[0]).value()) : p[0])) {
                    src.problem(at(s, p[0]), p[1]);
                }
            }
        }
        Map<String, Server> byAgent = new HashMap<>();
        for (Server s : inv.observers()) {
            Server other = byAgent.putIfAbsent(s.name(), s);  // an observer's name is its agentAddress()
            if (other != null) {
                src.problem(declared.get(s), "two servers are both " + s.agentAddress() + " (zones " + other.group() + " and " + s.group()
                        + ", first at " + src.where(declared.get(other)) + "); expected each ip:agent_port once");
            }
        }
        List<Server> servers = inv.servers();
        // the hosts with more than one server, in the order of their first server, with their servers
        Map<String, Object> firstOnHost = new HashMap<>();
        Map<String, List<Server>> byHost = new LinkedHashMap<>();
        for (Server s : servers) {
            Object first = firstOnHost.putIfAbsent(s.host(), s);
            if (first != null) {
                byHost.computeIfAbsent(s.host(), h -> new ArrayList<>(List.of((Server) first))).add(s);
            }
        }
        for (Map.Entry<String, List<Server>> e : byHost.entrySet()) {
            List<Server> list = e.getValue();
            for (int i = 0; i < list.size(); i++) {
                for (int j = i + 1; j < list.size(); j++) {
                    Server a = list.get(i);
                    Server b = list.get(j);
                    Node at = declared.get(b);
                    if (a.home().equals(b.home())) {
                        src.problem(at, a.name() + " and " + b.name() + " on host " + e.getKey() + " share home_path " + a.home()
                                + "; expected a home of their own");
                    } else if (b.home().startsWith(a.home() + "/") || a.home().startsWith(b.home() + "/")) {
                        src.problem(at, a.name() + " (" + a.home() + ") and " + b.name() + " (" + b.home() + ") on host " + e.getKey()
                                + " have nested home paths; cleaning one would delete the other. Expected separate homes");
                    } else {
                        String clash = InputChecks.clash(a, b);
                        if (clash != null) {
                            src.problem(at, "on host " + e.getKey() + ", " + clash);
                        }
                    }
                    for (Map.Entry<String, Integer> pa : allPorts(a).entrySet()) {
                        for (Map.Entry<String, Integer> pb : allPorts(b).entrySet()) {
                            if (pa.getValue().equals(pb.getValue()) && !(pa.getKey().equals("agent_port") && pb.getKey().equals("agent_port")
                                    && a.role() != b.role())) {
                                src.problem(at, a.name() + " " + pa.getKey() + " and " + b.name() + " " + pb.getKey() + " on host "
                                        + e.getKey() + " are both port " + pa.getValue() + "; expected distinct ports");
                            }
                        }
                    }
                }
            }
        }
        for (Server s : servers) {
            // each port against the ones before it (allPorts(s) order), without a map per server
            List<Map.Entry<String, Integer>> ports = new ArrayList<>(s.ports().size() + 1);
            boolean agent = false;
            for (Map.Entry<String, Integer> p : s.ports().entrySet()) {
                if (p.getKey().equals("agent_port")) {
                    ports.add(Map.entry("agent_port", s.agentPort()));
                    agent = true;
                } else {
                    ports.add(p);
                }
            }
            if (!agent) {
                ports.add(Map.entry("agent_port", s.agentPort()));
            }
            for (int j = 1; j < ports.size(); j++) {
                Map.Entry<String, Integer> p = ports.get(j);
                for (int i = 0; i < j; i++) {
                    if (ports.get(i).getValue().equals(p.getValue())) {
                        src.problem(declared.get(s), s.name() + " uses port " + p.getValue() + " for both " + ports.get(i).getKey()
                                + " and " + p.getKey() + "; expected distinct ports");
                        break;
                    }
                }
            }
        }
    }

    private static Map<String, Integer> allPorts(Server s) {
        Map<String, Integer> m = new LinkedHashMap<>(s.ports());
        m.put("agent_port", s.agentPort());
        return m;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
