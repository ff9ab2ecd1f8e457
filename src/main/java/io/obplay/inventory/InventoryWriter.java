package io.obplay.inventory;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Writes a resolved inventory back out: as an obplay inventory (every value explicit, a comment with its origin
 * on each line), for teams leaving OBD's format; or as an Ansible YAML inventory (groups per zone and obproxy
 * cluster, the resolved settings as host vars), so that both tools read one source of truth.
 */
public final class InventoryWriter {
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_/][A-Za-z0-9_./@:+-]*");
    private static final Pattern LOOKS_TYPED = Pattern.compile(
            "(?i)(true|false|yes|no|on|off|y|n|null|~|[-+]?[0-9][0-9_]*(\\.[0-9]*)?([eE][-+]?[0-9]+)?|0x[0-9a-f]+|0o?[0-7]+|\\.inf|\\.nan"
                    + "|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*)");
    private static final List<String> OBSERVER_KEYS = List.of("version", "home_path", "data_dir", "redo_dir", "clog_dir", "slog_dir",
            "ilog_dir", "mysql_port", "rpc_port", "agent_port", "pid_file");
    private static final List<String> OBPROXY_KEYS = List.of("home_path", "listen_port", "prometheus_listen_port",
            "rpc_listen_port", "agent_port", "pid_file", "daemon_pid_file");
    private static final List<String> SSH_KEYS = List.of("user", "port", "key", "known_hosts", "host_key_checking",
            "connect_timeout", "jump", "config");
    /** Settings that are not keys of a server entry (its place in the inventory, or derived). */
    private static final Set<String> PLACE = Set.of("cluster", "zone", "host", "obproxy_cluster", "obproxy_cluster_id",
            "obproxy_id");

    private InventoryWriter() {
    }

    /** Whether an origin is a default of obplay or OBD, which the written inventory leaves to its reader. */
    static boolean isDefault(String origin) {
        return origin.startsWith("built-in default") || origin.startsWith("obplay default") || origin.startsWith(ObdConfigLoader.OBD_DEFAULT)
                || origin.startsWith("derived from");
    }

    // ---------------------------------------------------------------- obplay

    public static String obplay(LoadedInventory loaded) {
        Inventory inv = loaded.inventory();
        StringBuilder b = new StringBuilder();
        b.append("# obplay inventory written by `obplay inventory --format obplay` from ").append(inv.source())
                .append(" (sha256 ").append(inv.sha256(), 0, Math.min(12, inv.sha256().length())).append(")\n");
        b.append("# Every value is explicit; the comment after it says where it came from.\n");
        if (!loaded.ignoredKeys().isEmpty()) {
            b.append("# Not carried over (obplay has no use for them): ").append(String.join("; ", loaded.ignoredKeys())).append('\n');
        }
        for (String note : loaded.notes()) {
            b.append("# Note: ").append(note).append('\n');
        }
        List<Server> all = inv.servers();
        String clusterOrigin = all.isEmpty() ? "inventory" : all.get(0).settings().get("cluster").origin();
        b.append("cluster: ").append(scalar(inv.cluster())).append(comment(clusterOrigin)).append('\n');
        if (inv.transport() != TransportKind.SSH) {
            b.append("transport: ").append(inv.transport().name().toLowerCase()).append('\n');
        }
        // ssh settings that are not defaults: at the top when every server has the same, else per server
        List<Map<String, Setting>> sshOf = all.stream().map(InventoryWriter::explicitSsh).toList();
        boolean shared = !sshOf.isEmpty() && sshOf.stream().allMatch(m -> m.equals(sshOf.get(0)));
        if (shared && !sshOf.get(0).isEmpty()) {
            b.append("ssh:\n");
            sshOf.get(0).forEach((k, v) -> line(b, "  ", k, v));
        }
        if (!inv.zones().isEmpty()) {
            b.append("zones:\n");
            for (Zone z : inv.zones()) {
                b.append("  ").append(scalar(z.name())).append(":").append(comment(z.servers().isEmpty() ? ""
                        : "zone from " + z.servers().get(0).settings().get("zone").origin())).append("\n    servers:\n");
                for (Server s : z.servers()) {
                    entry(b, "      ", s, OBSERVER_KEYS, shared);
                }
            }
        }
        if (!inv.obproxyClusters().isEmpty()) {
            b.append("obproxy:\n  clusters:\n");
            for (ObproxyCluster c : inv.obproxyClusters()) {
                Server first = c.servers().isEmpty() ? null : c.servers().get(0);
                b.append("    - id: ").append(c.id()).append(first == null ? "" : comment(first.settings().get("obproxy_cluster_id").origin())).append('\n');
                b.append("      name: ").append(scalar(c.name())).append(first == null ? "" : comment(first.settings().get("obproxy_cluster").origin())).append('\n');
                b.append("      servers:\n");
                for (Server s : c.servers()) {
                    entry(b, "        ", s, OBPROXY_KEYS, shared);
                }
            }
        }
        return b.toString();
    }

    private static void entry(StringBuilder b, String indent, Server s, List<String> keys, boolean sshShared) {
        String first = indent + "- ";
        String rest = indent + "  ";
        if (s.role() == Role.OBPROXY) {
            b.append(first).append("id: ").append(s.serverId()).append(comment(s.settings().get("obproxy_id").origin())).append('\n');
            line(b, rest, "host", s.settings().get("host"));
        } else {
            b.append(first).append("host: ").append(scalar(s.host())).append(comment(s.settings().get("host").origin())).append('\n');
        }
        for (String k : keys) {
            Setting v = s.settings().get(k);
            if (v == null || (k.equals("rpc_listen_port") && !s.ports().containsKey(k))) {
                continue;
            }
            line(b, rest, k, v);
        }
        Map<String, Setting> ssh = explicitSsh(s);
        if (!sshShared && !ssh.isEmpty()) {
            b.append(rest).append("ssh:\n");
            ssh.forEach((k, v) -> line(b, rest + "  ", k, v));
        }
        Map<String, Setting> vars = new LinkedHashMap<>();
        Set<String> known = new LinkedHashSet<>(keys);
        known.addAll(PLACE);
        s.settings().forEach((k, v) -> {
            if (!known.contains(k) && !k.startsWith("ssh.")) {
                vars.put(k, v);
            }
        });
        if (!vars.isEmpty()) {
            b.append(rest).append("vars:\n");
            vars.forEach((k, v) -> line(b, rest + "  ", k, v));
        }
    }

    private static Map<String, Setting> explicitSsh(Server s) {
        Map<String, Setting> m = new LinkedHashMap<>();
        for (String k : SSH_KEYS) {
            Setting v = s.settings().get("ssh." + k);
            if (v != null && v.value() != null && !isDefault(v.origin())) {
                m.put(k, v);
            }
        }
        return m;
    }

    private static void line(StringBuilder b, String indent, String key, Setting v) {
        Object value = v.value();
        String text = value instanceof Number ? value.toString() : scalar(String.valueOf(value));
        b.append(indent).append(key).append(": ").append(text).append(comment(v.origin())).append('\n');
    }

    private static String comment(String origin) {
        return origin == null || origin.isEmpty() ? "" : "  # " + origin.replace('\n', ' ');
    }

    /** A YAML scalar for a string: plain when YAML would read it back as the same string, else double-quoted. */
    static String scalar(String s) {
        if (PLAIN.matcher(s).matches() && !LOOKS_TYPED.matcher(s).matches() && !s.endsWith(":")) {
            return s;
        }
        return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
    }

    // ---------------------------------------------------------------- Ansible

    /**
     * An Ansible YAML inventory: group {@code oceanbase} with a child group per zone, group {@code obproxy} with a
     * child group per obproxy cluster; one Ansible host per server (named after its host, or
     * {@code host-observer-AGENTPORT} / {@code host-obproxy-CLUSTER-ID} when a host runs several), with
     * {@code ansible_host}, {@code ansible_user}, {@code ansible_port}, the key, jump host and host key options,
     * and every resolved setting as a host var.
     */
    public static String ansible(LoadedInventory loaded) {
        Inventory inv = loaded.inventory();
        Map<String, Integer> perHost = new LinkedHashMap<>();
        inv.servers().forEach(s -> perHost.merge(s.host(), 1, Integer::sum));
        StringBuilder b = new StringBuilder();
        b.append("# Ansible inventory written by `obplay inventory --format ansible` from ").append(inv.source()).append('\n');
        b.append("all:\n  vars:\n    obplay_cluster: ").append(scalar(inv.cluster())).append('\n');
        b.append("    obplay_inventory: ").append(scalar(inv.source())).append('\n');
        b.append("  children:\n");
        Set<String> groups = new LinkedHashSet<>();
        if (!inv.zones().isEmpty()) {
            b.append("    oceanbase:\n      children:\n");
            for (Zone z : inv.zones()) {
                String g = group(z.name(), groups);
                b.append("        ").append(g).append(":\n          vars:\n            zone: ").append(scalar(z.name()))
                        .append("\n          hosts:\n");
                for (Server s : z.servers()) {
                    host(b, "            ", s, perHost, inv.transport());
                }
            }
        }
        if (!inv.obproxyClusters().isEmpty()) {
            b.append("    obproxy:\n      children:\n");
            for (ObproxyCluster c : inv.obproxyClusters()) {
                String g = group("obproxy_" + c.name(), groups);
                b.append("        ").append(g).append(":\n          vars:\n            obproxy_cluster: ").append(scalar(c.name()))
                        .append("\n            obproxy_cluster_id: ").append(c.id()).append("\n          hosts:\n");
                for (Server s : c.servers()) {
                    host(b, "            ", s, perHost, inv.transport());
                }
            }
        }
        return b.toString();
    }

    /** An Ansible group name (letters, digits, underscores), made unique. */
    private static String group(String name, Set<String> taken) {
        String g = name.replaceAll("[^A-Za-z0-9_]", "_");
        if (g.isEmpty() || Character.isDigit(g.charAt(0))) {
            g = "g_" + g;
        }
        String unique = g;
        for (int i = 2; !taken.add(unique); i++) {
            unique = g + "_" + i;
        }
        return unique;
    }

    static String ansibleName(Server s, Map<String, Integer> perHost) {
        if (perHost.getOrDefault(s.host(), 0) <= 1) {
            return s.host();
        }
        return s.role() == Role.OBPROXY ? s.host() + "-obproxy-" + s.clusterId() + "-" + s.serverId()
                : s.host() + "-observer-" + s.agentPort();
    }

    private static void host(StringBuilder b, String indent, Server s, Map<String, Integer> perHost, TransportKind transport) {
        b.append(indent).append(scalar(ansibleName(s, perHost))).append(":\n");
        String in = indent + "  ";
        Map<String, Object> vars = new LinkedHashMap<>();
        vars.put("ansible_host", s.host());
        if (transport == TransportKind.LOCAL) {
            vars.put("ansible_connection", "local");
        } else {
            SshSettings ssh = s.ssh();
            vars.put("ansible_user", ssh.user());
            vars.put("ansible_port", ssh.port());
            if (ssh.key() != null) {
                vars.put("ansible_ssh_private_key_file", ssh.key());
            }
            List<String> args = new ArrayList<>();
            if (ssh.jump() != null) {
                args.add("-o ProxyJump=" + ssh.jump());
            }
            if (ssh.hostKeyChecking() == HostKeyChecking.ACCEPT_NEW) {
                args.add("-o StrictHostKeyChecking=accept-new");
            } else if (ssh.hostKeyChecking() == HostKeyChecking.OFF) {
                args.add("-o StrictHostKeyChecking=no");
            }
            if (ssh.knownHosts() != null && !Objects.equals(ssh.knownHosts(), SshSettings.DEFAULTS.knownHosts())) {
                args.add("-o UserKnownHostsFile=" + ssh.knownHosts());
            }
            if (!args.isEmpty()) {
                vars.put("ansible_ssh_common_args", String.join(" ", args));
            }
            if (ssh.connectTimeout() != null) {
                vars.put("ansible_ssh_timeout", Math.max(1, ssh.connectTimeout().toSeconds()));
            }
        }
        vars.put("obplay_server", s.name());
        vars.put("obplay_role", s.role().processName());
        for (Map.Entry<String, Setting> e : s.settings().entrySet()) {
            String k = e.getKey();
            if (k.startsWith("ssh.") || k.equals("cluster") || k.equals("host") || e.getValue().value() == null
                    || (k.equals("rpc_listen_port") && !s.ports().containsKey(k))) {
                continue;
            }
            vars.put(k, e.getValue().value());
        }
        s.pidFiles().forEach((role, path) -> vars.put(role.equals("server") ? "pid_file" : role + "_pid_file", path));
        for (Map.Entry<String, Object> e : vars.entrySet()) {
            Object v = e.getValue();
            b.append(in).append(e.getKey()).append(": ").append(v instanceof Number ? v.toString() : scalar(String.valueOf(v))).append('\n');
        }
    }
}
