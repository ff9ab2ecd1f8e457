package io.obplay.inventory;

import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads an OBD deployment config (what {@code obd cluster deploy} takes, and keeps as
 * {@code ~/.obd/cluster/NAME/config.yaml}) as an inventory.
 *
 * <p>The OBD file is translated into an obplay inventory made of the OBD file's own nodes (so every value keeps
 * its line and column), with OBD's defaults and derived directories filled in as OBD derives them; that
 * inventory is then checked and resolved by {@link InventoryLoader}, like any other. Each setting's origin
 * then names the OBD key it came from ({@code oceanbase-ce.server1.home_path (config.yaml:34:16)}) or says
 * {@code OBD default}.
 *
 * <p>What is read: {@code user} (username, key_file, port, timeout; a password is refused), the observer
 * component ({@code oceanbase-ce} / {@code oceanbase}: servers, {@code global} and per-server blocks with
 * home_path, data_dir, redo_dir, clog_dir, slog_dir, ilog_dir (3.x), mysql_port, rpc_port, obshell_port, zone,
 * appname) and the obproxy component ({@code obproxy-ce} / {@code obproxy}: home_path, listen_port,
 * prometheus_listen_port, rpc_listen_port, with OBD's pid file names). Every other key is listed once as
 * ignored; other components (obagent, ocp-express, ...) are noted as not managed.
 */
public final class ObdConfigLoader {
    static final List<String> OBSERVER_COMPONENTS = List.of("oceanbase-ce", "oceanbase");
    static final List<String> OBPROXY_COMPONENTS = List.of("obproxy-ce", "obproxy");
    /** OBD's own names for this machine: servers there, reached as the current user, run locally. */
    static final Set<String> LOCAL_HOSTS = Set.of("127.0.0.1", "localhost", "127.1", "127.0.1");
    static final String CURRENT_USER = System.getProperty("user.name", "root");
    public static final String OBD_DEFAULT = "OBD default";

    private static final List<String> OBSERVER_SETTINGS = List.of("home_path", "data_dir", "redo_dir", "clog_dir",
            "slog_dir", "ilog_dir", "mysql_port", "rpc_port", "obshell_port", "zone", "appname");
    private static final List<String> OBPROXY_SETTINGS = List.of("home_path", "listen_port", "prometheus_listen_port",
            "rpc_listen_port");

    private final YamlSource src;
    private final Set<String> ignored = new LinkedHashSet<>();
    private final List<String> notes = new ArrayList<>();
    private final List<String> componentOrder = new ArrayList<>();
    /** Per observer, in the order InventoryLoader will return them: setting name to its OBD origin. */
    private final List<Map<String, String>> observerOrigins = new ArrayList<>();
    private final List<Map<String, String>> proxyOrigins = new ArrayList<>();
    private final Map<String, String> sshOrigins = new LinkedHashMap<>();
    private String clusterOrigin = OBD_DEFAULT + " (appname)";

    private ObdConfigLoader(YamlSource src) {
        this.src = src;
    }

    /**
     * Whether a file's root is an OBD deployment config rather than an obplay inventory: no {@code cluster} or
     * {@code zones}, and an OBD component, {@code user}, or an {@code obproxy} with {@code servers}.
     */
    public static boolean isObdConfig(Node root) {
        if (!(root instanceof MappingNode m)) {
            return false;
        }
        boolean obd = false;
        for (NodeTuple t : m.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k)) {
                continue;
            }
            String key = k.getValue();
            if (key.equals("cluster") || key.equals("zones")) {
                return false;
            }
            if (OBSERVER_COMPONENTS.contains(key) || key.equals("obproxy-ce") || key.equals("obagent") || key.equals("user")) {
                obd = true;
            } else if (key.equals("obproxy") && t.getValueNode() instanceof MappingNode pm
                    && pm.getValue().stream().anyMatch(p -> p.getKeyNode() instanceof ScalarNode pk && pk.getValue().equals("servers"))) {
                obd = true;
            }
        }
        return obd;
    }

    public static LoadedInventory load(YamlSource src) throws InvalidInputException {
        ObdConfigLoader l = new ObdConfigLoader(src);
        Node translated = l.translate();
        if (translated == null) {
            if (src.problems().isEmpty()) {
                src.problem(src.root(), "the OBD deployment config has no servers obplay can use");
            }
            throw new InvalidInputException(src.problems());
        }
        Inventory inv = InventoryLoader.load(src.withRoot(translated));
        return new LoadedInventory(l.withOrigins(inv), "obd", l.ignoredKeys(), l.notes);
    }

    /** The ignored keys grouped by component, components in file order: {@code "oceanbase-ce: memory_limit, ..."}. */
    private List<String> ignoredKeys() {
        Map<String, List<String>> byComponent = new LinkedHashMap<>();
        for (String c : componentOrder) {
            byComponent.put(c, new ArrayList<>());
        }
        for (String k : ignored) {
            int dot = k.indexOf('.');
            String c = dot < 0 ? "top level" : k.substring(0, dot);
            byComponent.computeIfAbsent(c, x -> new ArrayList<>()).add(dot < 0 ? k : k.substring(dot + 1));
        }
        List<String> out = new ArrayList<>();
        byComponent.forEach((c, keys) -> {
            if (!keys.isEmpty()) {
                out.add(c + ": " + String.join(", ", keys));
            }
        });
        return out;
    }

    // ---------------------------------------------------------------- translation

    /** A value found in the OBD file, or a default, with where it came from. */
    private record Found(Node node, String value, String origin) {
    }

    /** One server of a component: its entry in {@code servers}, its name, and its own block (or null). */
    private record ObdServer(Node entry, String name, ScalarNode ip, YamlMap block, String blockName) {
    }

    private Node translate() {
        YamlMap top = src.rootMap("the OBD deployment config");
        if (top == null) {
            return null;
        }
        List<NodeTuple> out = new ArrayList<>();
        Mark topMark = top.node().getStartMark();
        String observerComponent = null;
        String proxyComponent = null;
        componentOrder.addAll(top.keys());
        for (String key : top.keys()) {
            if (OBSERVER_COMPONENTS.contains(key)) {
                if (observerComponent != null) {
                    src.problem(top.keyNode(key), "both '" + observerComponent + "' and '" + key
                            + "' are here; expected one observer component");
                    continue;
                }
                observerComponent = key;
            } else if (OBPROXY_COMPONENTS.contains(key)) {
                if (proxyComponent != null) {
                    src.problem(top.keyNode(key), "both '" + proxyComponent + "' and '" + key
                            + "' are here; expected one obproxy component");
                    continue;
                }
                proxyComponent = key;
            } else if (key.equals("user")) {
                continue;
            } else if (top.value(key) instanceof MappingNode) {
                notes.add("OBD component '" + key + "' is not managed by obplay: ignored");
            } else {
                ignored.add(key);
            }
        }
        List<NodeTuple> ssh = user(top);
        boolean userIsCurrent = userName(top) == null || CURRENT_USER.equals(userName(top));

        List<ObdServer> observers = new ArrayList<>();
        List<ObdServer> proxies = new ArrayList<>();
        YamlMap obComp = observerComponent == null ? null : component(top, observerComponent);
        YamlMap proxyComp = proxyComponent == null ? null : component(top, proxyComponent);
        if (obComp != null) {
            observers = servers(obComp, observerComponent);
        }
        if (proxyComp != null) {
            proxies = servers(proxyComp, proxyComponent);
        }
        if (observerComponent == null && proxyComponent == null) {
            src.problem(top.node(), "the OBD deployment config has no oceanbase-ce (or oceanbase) and no obproxy-ce"
                    + " (or obproxy) component; expected at least one of them with 'servers'");
            return null;
        }

        // cluster: the observers' appname, else OBD's default
        String cluster = "obcluster";
        Node clusterNode = scalar("obcluster", topMark, Tag.STR);
        if (obComp != null) {
            Found app = lookup(observerComponent, "global",
                    obComp.value("global") instanceof MappingNode ? obComp.map("global") : null, "appname");
            if (app != null && app.value() != null) {
                cluster = app.value();
                clusterNode = app.node();
                clusterOrigin = app.origin();
            }
        }
        out.add(tuple("cluster", clusterNode));

        List<ObdServer> all = new ArrayList<>(observers);
        all.addAll(proxies);
        boolean allLocal = !all.isEmpty() && all.stream().allMatch(s -> LOCAL_HOSTS.contains(s.ip().getValue()));
        boolean someLocal = all.stream().anyMatch(s -> LOCAL_HOSTS.contains(s.ip().getValue()));
        if (allLocal && userIsCurrent) {
            out.add(tuple("transport", scalar("local", topMark, Tag.STR)));
            notes.add("every server is on this machine (" + all.get(0).ip().getValue() + ") and reached as the current user:"
                    + " run locally, as OBD runs them");
        } else if (someLocal) {
            notes.add("servers at 127.0.0.1 are reached over SSH (obplay uses one transport per inventory; OBD would run"
                    + " them locally)");
        }
        if (!ssh.isEmpty()) {
            out.add(tuple("ssh", map(ssh, topMark)));
        }
        if (obComp != null) {
            Node zones = zones(obComp, observerComponent, observers);
            if (zones != null) {
                out.add(tuple("zones", zones));
            }
        }
        if (proxyComp != null) {
            Node proxy = obproxy(proxyComp, proxyComponent, proxies);
            if (proxy != null) {
                out.add(tuple("obproxy", proxy));
            }
        }
        if (out.stream().noneMatch(t -> t.getKeyNode() instanceof ScalarNode k && (k.getValue().equals("zones") || k.getValue().equals("obproxy")))) {
            return null;  // no server came through: the problems above say why
        }
        return map(out, topMark);
    }

    private static String userName(YamlMap top) {
        YamlMap u = top.map("user");
        Node n = u == null ? null : u.value("username");
        return n instanceof ScalarNode s ? s.getValue() : null;
    }

    /** The {@code user} block as obplay's top-level {@code ssh}: only what the file sets. */
    private List<NodeTuple> user(YamlMap top) {
        List<NodeTuple> ssh = new ArrayList<>();
        sshOrigins.put("ssh.user", OBD_DEFAULT + " (the current user)");
        sshOrigins.put("ssh.port", OBD_DEFAULT);
        sshOrigins.put("ssh.key", OBD_DEFAULT + " (no key_file: ssh-agent and ~/.ssh keys)");
        sshOrigins.put("ssh.connect_timeout", "obplay default (OBD's default user.timeout is 300s)");
        sshOrigins.put("ssh.known_hosts", "obplay default (OBD accepts any host key)");
        sshOrigins.put("ssh.host_key_checking", "obplay default (OBD accepts any host key)");
        sshOrigins.put("ssh.jump", "obplay default (OBD has no jump host)");
        sshOrigins.put("ssh.config", "obplay default (OBD does not read an ssh config file)");
        YamlMap u = top.map("user");
        if (u == null) {
            return ssh;
        }
        for (String k : u.keys()) {
            Node v = u.value(k);
            if (YamlMap.isNull(v)) {
                continue;
            }
            String to = switch (k) {
                case "username" -> "user";
                case "key_file" -> "key";
                case "port" -> "port";
                case "timeout" -> "connect_timeout";
                default -> null;
            };
            if (k.equals("password")) {
                src.problem(v, "'user.password': obplay signs in with SSH keys only; expected 'key_file' (or no password"
                        + " and a key in ssh-agent or ~/.ssh); remove the password from the file obplay reads");
                continue;
            }
            if (to == null) {
                ignored.add("user." + k);
                continue;
            }
            ssh.add(new NodeTuple(scalar(to, u.keyNode(k).getStartMark(), Tag.STR), v));
            sshOrigins.put("ssh." + to, "user." + k + " (" + src.where(v) + ")");
        }
        return ssh;
    }

    private YamlMap component(YamlMap top, String name) {
        YamlMap c = top.map(name);
        if (c == null) {
            src.problem(top.value(name), "'" + name + "' must be a mapping with 'servers'; found " + YamlMap.describe(top.value(name)));
            return null;
        }
        if (c.has("style") && "cluster".equals(c.string("style"))) {
            src.problem(c.value("style"), "'" + name + "' uses OBD's 'style: cluster' layout (zones:), which obplay does not"
                    + " read yet; expected the default layout ('servers:', 'global:' and per-server blocks)");
            return null;
        }
        if (c.has("include")) {
            src.problem(c.value("include"), "'" + name + ".include' (settings in another file) is not read by obplay;"
                    + " expected the settings in this file");
        }
        return c;
    }

    private List<ObdServer> servers(YamlMap comp, String component) {
        List<ObdServer> out = new ArrayList<>();
        List<Node> items = comp.list("servers");
        if (items == null || items.isEmpty()) {
            src.problem(comp.has("servers") ? comp.value("servers") : comp.node(), "'" + component
                    + "' has no servers; expected 'servers:' with IP addresses or '- { name: ..., ip: ... }'");
            return out;
        }
        for (Node item : items) {
            ScalarNode ip;
            String name;
            if (item instanceof ScalarNode s && !YamlMap.isNull(s)) {
                ip = s;
                name = s.getValue();
            } else {
                YamlMap m = YamlMap.of(src, item, "a server of " + component);
                if (m == null) {
                    continue;
                }
                m.allow(List.of("name", "ip"));
                if (!(m.value("ip") instanceof ScalarNode s) || YamlMap.isNull(s) || s.getValue().isBlank()) {
                    src.problem(m.has("ip") ? m.value("ip") : item, "a server of " + component + " needs 'ip', an IP address");
                    continue;
                }
                ip = s;
                String n = m.string("name");
                name = n == null ? s.getValue() : n;
            }
            String blockName = name;
            YamlMap block = comp.has(blockName) ? comp.map(blockName) : null;
            out.add(new ObdServer(item, name, ip, block, blockName));
        }
        Set<String> blocks = new LinkedHashSet<>();
        out.forEach(s -> blocks.add(s.blockName()));
        Set<String> known = Set.of("servers", "global", "depends", "version", "tag", "release", "package_hash", "type",
                "image_name", "include", "style", "rsync", "environments");
        for (String k : comp.keys()) {
            if (known.contains(k) || blocks.contains(k)) {
                continue;
            }
            if (comp.value(k) instanceof MappingNode) {
                notes.add(component + "." + k + " names no server of " + component + " (OBD ignores it too)");
            } else {
                ignored.add(component + "." + k);
            }
        }
        for (String meta : List.of("depends", "tag", "release", "package_hash", "type", "image_name", "rsync", "environments")) {
            if (comp.has(meta)) {
                ignored.add(component + "." + meta);
            }
        }
        return out;
    }

    /** The key from the server's block, else from {@code global}; null when neither sets it. */
    private Found lookup(ObdServer s, YamlMap global, String component, String key) {
        Found f = lookup(component, s.blockName(), s.block(), key);
        return f != null ? f : lookup(component, "global", global, key);
    }

    private Found lookup(String component, String blockName, YamlMap block, String key) {
        if (block == null || !block.has(key) || YamlMap.isNull(block.value(key))) {
            return null;
        }
        Node v = block.value(key);
        String value = v instanceof ScalarNode sc ? sc.getValue() : null;
        return new Found(v, value, component + "." + blockName + "." + key + " (" + src.where(v) + ")");
    }

    private void noteIgnored(String component, YamlMap block, List<String> used) {
        if (block == null) {
            return;
        }
        for (String k : block.keys()) {
            if (!used.contains(k)) {
                ignored.add(component + "." + k);
            }
        }
    }

    /** The observers grouped by zone (in the order zones first appear), as obplay's {@code zones}. */
    private Node zones(YamlMap comp, String component, List<ObdServer> servers) {
        YamlMap global = comp.has("global") ? comp.map("global") : null;
        noteIgnored(component, global, OBSERVER_SETTINGS);
        String version = comp.has("version") ? comp.string("version") : null;
        Node versionNode = version == null ? null : comp.value("version");
        boolean v3 = version != null && version.trim().matches("[123]\\..*");
        if (version == null) {
            notes.add(component + " has no 'version': OceanBase 4.x directories assumed (slog under data_dir, no ilog),"
                    + " as for the newest release OBD installs");
        }
        Map<String, List<Node>> byZone = new LinkedHashMap<>();
        Map<String, Node> zoneKeys = new LinkedHashMap<>();
        Map<String, List<Map<String, String>>> originsByZone = new LinkedHashMap<>();
        for (ObdServer s : servers) {
            noteIgnored(component, s.block(), OBSERVER_SETTINGS);
            Mark at = s.entry().getStartMark();
            Map<String, String> origins = new LinkedHashMap<>();
            origins.put("cluster", clusterOrigin);
            List<NodeTuple> t = new ArrayList<>();
            t.add(tuple("host", s.ip()));
            origins.put("host", component + ".servers (" + src.where(s.ip()) + ")");

            Found zone = lookup(s, global, component, "zone");
            String zoneName = "zone1";
            Node zoneKey = scalar("zone1", at, Tag.STR);
            if (zone == null) {
                origins.put("zone", OBD_DEFAULT);
            } else if (zone.value() == null || zone.value().isBlank()) {
                src.problem(zone.node(), "'zone' must be a zone name; found " + YamlMap.describe(zone.node()));
                continue;
            } else {
                zoneName = zone.value();
                zoneKey = zone.node();
                origins.put("zone", zone.origin());
            }

            Found home = lookup(s, global, component, "home_path");
            if (home == null) {
                src.problem(s.entry(), "server " + s.name() + " of " + component + " has no home_path; OBD requires it"
                        + " (under 'global:' or '" + s.blockName() + ":')");
                continue;
            }
            put(t, origins, "home_path", home);
            String homeV = usable(home);
            Found data = orDefault(lookup(s, global, component, "data_dir"), homeV, "/store", "home_path + /store", at);
            put(t, origins, "data_dir", data);
            Found redo = orDefault(lookup(s, global, component, "redo_dir"), usable(data), "", "data_dir", at);
            put(t, origins, "redo_dir", redo);
            String redoV = usable(redo);
            put(t, origins, "clog_dir", orDefault(lookup(s, global, component, "clog_dir"), redoV, "/clog", "redo_dir + /clog", at));
            put(t, origins, "slog_dir", v3
                    ? orDefault(lookup(s, global, component, "slog_dir"), redoV, "/slog", "redo_dir + /slog, OceanBase 3.x", at)
                    : orDefault(lookup(s, global, component, "slog_dir"), usable(data), "/slog", "data_dir + /slog, OceanBase 4.x", at));
            if (v3) {
                put(t, origins, "ilog_dir", orDefault(lookup(s, global, component, "ilog_dir"), redoV, "/ilog", "redo_dir + /ilog, OceanBase 3.x", at));
            } else if (lookup(s, global, component, "ilog_dir") != null) {
                ignored.add(component + ".ilog_dir (OceanBase 4.x has no ilog)");
            }
            if (versionNode != null) {
                t.add(tuple("version", versionNode));
                origins.put("version", component + ".version (" + src.where(versionNode) + ")");
            } else {
                origins.put("version", OBD_DEFAULT + " (no version: the newest, OceanBase 4.x)");
            }
            put(t, origins, "mysql_port", orNumber(lookup(s, global, component, "mysql_port"), 2881, at));
            put(t, origins, "rpc_port", orNumber(lookup(s, global, component, "rpc_port"), 2882, at));
            Found obshell = orNumber(lookup(s, global, component, "obshell_port"), 2886, at);
            t.add(tuple("agent_port", obshell.node()));
            origins.put("agent_port", obshell.origin().replace(OBD_DEFAULT, OBD_DEFAULT + " (obshell_port)"));
            t.add(tuple("pid_file", scalar("run/observer.pid", at, Tag.STR)));
            origins.put("pid_file", OBD_DEFAULT + " (home_path + /run/observer.pid)");
            if (!s.name().equals(s.ip().getValue())) {
                List<NodeTuple> vars = new ArrayList<>();
                vars.add(tuple("obd_name", scalar(s.name(), at, Tag.STR)));
                t.add(tuple("vars", map(vars, at)));
                origins.put("obd_name", component + ".servers (" + src.where(s.entry()) + ")");
            }
            byZone.computeIfAbsent(zoneName, z -> new ArrayList<>()).add(map(t, at));
            zoneKeys.putIfAbsent(zoneName, zoneKey);
            originsByZone.computeIfAbsent(zoneName, z -> new ArrayList<>()).add(origins);
        }
        if (byZone.isEmpty()) {
            return null;
        }
        List<NodeTuple> zones = new ArrayList<>();
        for (Map.Entry<String, List<Node>> e : byZone.entrySet()) {
            Node key = zoneKeys.get(e.getKey());
            List<NodeTuple> zone = new ArrayList<>();
            zone.add(tuple("servers", new SequenceNode(Tag.SEQ, true, e.getValue(), key.getStartMark(), key.getEndMark(),
                    DumperOptions.FlowStyle.BLOCK)));
            zones.add(new NodeTuple(scalar(e.getKey(), key.getStartMark(), Tag.STR), map(zone, key.getStartMark())));
            observerOrigins.addAll(originsByZone.get(e.getKey()));
        }
        return map(zones, comp.node().getStartMark());
    }

    /** The obproxy servers as one obplay obproxy cluster (id 1), numbered 1, 2, ... in file order. */
    private Node obproxy(YamlMap comp, String component, List<ObdServer> servers) {
        YamlMap global = comp.has("global") ? comp.map("global") : null;
        noteIgnored(component, global, OBPROXY_SETTINGS);
        List<Node> items = new ArrayList<>();
        int n = 0;
        for (ObdServer s : servers) {
            n++;
            noteIgnored(component, s.block(), OBPROXY_SETTINGS);
            Mark at = s.entry().getStartMark();
            Map<String, String> origins = new LinkedHashMap<>();
            origins.put("cluster", clusterOrigin);
            origins.put("obproxy_cluster", component + " (OBD has one obproxy cluster per deployment)");
            origins.put("obproxy_cluster_id", "numbered by obplay (OBD has no ids)");
            origins.put("obproxy_id", "numbered by obplay in file order: server " + n + " of " + component + ".servers (OBD has no ids)");
            List<NodeTuple> t = new ArrayList<>();
            t.add(tuple("id", scalar(Integer.toString(n), at, Tag.INT)));
            t.add(tuple("host", s.ip()));
            origins.put("host", component + ".servers (" + src.where(s.ip()) + ")");
            Found home = lookup(s, global, component, "home_path");
            if (home == null) {
                src.problem(s.entry(), "server " + s.name() + " of " + component + " has no home_path; OBD requires it"
                        + " (under 'global:' or '" + s.blockName() + ":')");
                continue;
            }
            put(t, origins, "home_path", home);
            Found listen = orNumber(lookup(s, global, component, "listen_port"), 2883, at);
            put(t, origins, "listen_port", listen);
            put(t, origins, "prometheus_listen_port", orNumber(lookup(s, global, component, "prometheus_listen_port"), 2884, at));
            Found rpc = lookup(s, global, component, "rpc_listen_port");
            if (rpc != null) {
                put(t, origins, "rpc_listen_port", rpc);
            }
            if (listen.value() != null && listen.value().trim().matches("\\d+")) {
                String suffix = s.ip().getValue() + "-" + listen.value().trim() + ".pid";
                t.add(tuple("pid_file", scalar("run/obproxy-" + suffix, at, Tag.STR)));
                t.add(tuple("daemon_pid_file", scalar("run/obproxyd-" + suffix, at, Tag.STR)));
                origins.put("pid_file", OBD_DEFAULT + " (home_path + /run/obproxy-<ip>-<listen_port>.pid)");
                origins.put("daemon_pid_file", OBD_DEFAULT + " (home_path + /run/obproxyd-<ip>-<listen_port>.pid)");
            }
            if (!s.name().equals(s.ip().getValue())) {
                List<NodeTuple> vars = new ArrayList<>();
                vars.add(tuple("obd_name", scalar(s.name(), at, Tag.STR)));
                t.add(tuple("vars", map(vars, at)));
                origins.put("obd_name", component + ".servers (" + src.where(s.entry()) + ")");
            }
            items.add(map(t, at));
            proxyOrigins.add(origins);
        }
        if (items.isEmpty()) {
            return null;
        }
        Mark at = comp.node().getStartMark();
        List<NodeTuple> cluster = new ArrayList<>();
        cluster.add(tuple("id", scalar("1", at, Tag.INT)));
        cluster.add(tuple("name", scalar(component, at, Tag.STR)));
        cluster.add(tuple("servers", new SequenceNode(Tag.SEQ, true, items, at, at, DumperOptions.FlowStyle.BLOCK)));
        List<Node> clusters = new ArrayList<>();
        clusters.add(map(cluster, at));
        List<NodeTuple> obproxy = new ArrayList<>();
        obproxy.add(tuple("clusters", new SequenceNode(Tag.SEQ, true, clusters, at, at, DumperOptions.FlowStyle.BLOCK)));
        return map(obproxy, at);
    }

    /** The path's value when it can be derived from (a plain absolute path), else null. */
    private static String usable(Found f) {
        if (f == null || f.value() == null || InventoryLoader.absolutePathProblem(f.value()) != null) {
            return null;
        }
        return InventoryLoader.stripSlash(f.value());
    }

    private static Found orDefault(Found f, String base, String suffix, String derivation, Mark at) {
        if (f != null) {
            return f;
        }
        if (base == null) {
            return null;
        }
        String v = base + suffix;
        return new Found(scalar(v, at, Tag.STR), v, OBD_DEFAULT + " (" + derivation + ")");
    }

    private static Found orNumber(Found f, int def, Mark at) {
        if (f != null) {
            return f;
        }
        return new Found(scalar(Integer.toString(def), at, Tag.INT), Integer.toString(def), OBD_DEFAULT);
    }

    private static void put(List<NodeTuple> t, Map<String, String> origins, String key, Found f) {
        if (f == null) {
            return;
        }
        t.add(tuple(key, f.node()));
        origins.put(key, f.origin());
    }

    private static NodeTuple tuple(String key, Node value) {
        return new NodeTuple(scalar(key, value.getStartMark(), Tag.STR), value);
    }

    private static ScalarNode scalar(String value, Mark at, Tag tag) {
        return new ScalarNode(tag, value, at, at, DumperOptions.ScalarStyle.PLAIN);
    }

    private static MappingNode map(List<NodeTuple> tuples, Mark at) {
        return new MappingNode(Tag.MAP, true, tuples, at, at, DumperOptions.FlowStyle.BLOCK);
    }

    // ---------------------------------------------------------------- origins

    /** The inventory with each setting's origin in OBD's terms. */
    private Inventory withOrigins(Inventory inv) {
        List<Zone> zones = new ArrayList<>();
        int i = 0;
        for (Zone z : inv.zones()) {
            List<Server> servers = new ArrayList<>();
            for (Server s : z.servers()) {
                servers.add(relabel(s, observerOrigins.get(i)));
                i++;
            }
            zones.add(new Zone(z.name(), servers));
        }
        List<ObproxyCluster> clusters = new ArrayList<>();
        int j = 0;
        for (ObproxyCluster c : inv.obproxyClusters()) {
            List<Server> servers = new ArrayList<>();
            for (Server s : c.servers()) {
                servers.add(relabel(s, proxyOrigins.get(j++)));
            }
            clusters.add(new ObproxyCluster(c.id(), c.name(), servers));
        }
        return new Inventory(inv.source(), inv.sha256(), inv.cluster(), inv.transport(), zones, clusters);
    }

    private Server relabel(Server s, Map<String, String> origins) {
        Map<String, Setting> settings = new LinkedHashMap<>();
        for (Map.Entry<String, Setting> e : s.settings().entrySet()) {
            String key = e.getKey();
            String origin = origins.get(key);
            if (origin == null) {
                origin = sshOrigins.get(key);
            }
            if (origin == null) {
                origin = e.getValue().origin().startsWith("built-in default") ? "obplay default (OBD has no such setting)" : e.getValue().origin();
            }
            settings.put(key, new Setting(e.getValue().value(), origin));
        }
        return new Server(s.role(), s.name(), s.group(), s.clusterId(), s.serverId(), s.host(), s.agentPort(), s.ssh(),
                s.home(), s.dirs(), s.ports(), s.pidFiles(), settings);
    }
}
