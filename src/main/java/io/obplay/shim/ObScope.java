package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.inventory.Zone;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * obshell's {@code param.Scope} of the observer endpoints ({@code POST /api/v1/ob/stop}, {@code /ob/start}):
 * {@code {"type": "GLOBAL|ZONE|SERVER", "target": [...]}}, formatted and checked as obshell's
 * {@code Scope.Format()} and {@code ob.IsValidScope} ({@code ob/agent/executor/ob/info.go}) do, against the
 * inventory: {@code type} upper-cased and the targets de-duplicated; GLOBAL is every observer; ZONE and SERVER need
 * a target (400 {@code Common.IllegalArgument} "target is empty"); each zone must exist (400
 * {@code OB.Zone.NotExist}); each server must be a valid address (400 {@code Common.InvalidAddress},
 * {@code Common.InvalidPort}, {@code Common.InvalidIp}) and exist (400 {@code Agent.NotExist}); any other type is
 * 400 {@code OB.Cluster.Scope.Invalid}. SERVER targets are {@code ip} or {@code ip:port} where the port is the
 * obshell <em>agent</em> port (2886 when left out), matched against each observer's {@code host} and
 * {@code agent_port}.
 *
 * @param type    GLOBAL, ZONE or SERVER
 * @param targets the targets as given, de-duplicated, in order
 * @param servers the observers the scope names, in inventory order
 */
record ObScope(String type, List<String> targets, List<Server> servers) {

    static final String GLOBAL = "GLOBAL";
    static final String ZONE = "ZONE";
    static final String SERVER = "SERVER";
    static final int DEFAULT_AGENT_PORT = 2886;

    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    /** obshell's (unanchored) IPv6 address pattern, {@code meta.convertIPv6ToAgentInfo}. */
    private static final Pattern IPV6 = Pattern.compile("(?:\\[([0-9a-fA-F:]+)]|([0-9a-fA-F:]+))(?::(\\d+))?");

    /** The scope as the body gives it, bound (its types checked) but not yet checked against the inventory. */
    record Given(String type, List<String> targets) {
        /** IsValidScope, after {@code Scope.Format()}: upper-case type, unique targets (in the client's order). */
        ObScope check(Inventory inv) throws ApiException {
            String t = type.toUpperCase(Locale.ROOT);
            List<String> unique = List.copyOf(new LinkedHashSet<>(targets));
            return new ObScope(t, unique, servers(t, unique, inv));
        }
    }

    /** Binds the body's {@code scope} (null or absent: type "", which {@link Given#check} refuses as invalid). */
    static Given bind(JsonNode scope) throws ApiException {
        if (scope == null || scope.isNull()) {
            return new Given("", List.of());
        }
        if (!scope.isObject()) {
            throw JsonBody.wrongType("scope", "an object {\"type\": ..., \"target\": [...]}", scope);
        }
        Map<String, JsonNode> s = JsonBody.fields(scope, "'scope'", List.of("type", "target"));
        String t = JsonBody.string(s, "type");
        return new Given(t == null ? "" : t, JsonBody.strings(s, "target"));
    }

    boolean global() {
        return type.equals(GLOBAL);
    }

    /** IsValidScope: the observers the scope names, or the first reason it names none. */
    private static List<Server> servers(String type, List<String> targets, Inventory inv) throws ApiException {
        switch (type) {
            case GLOBAL:
                return inv.observers();
            case ZONE: {
                if (targets.isEmpty()) {
                    throw Errors.illegalArgument("target", "target is empty");
                }
                for (String zone : targets) {
                    if (inv.zone(zone).isEmpty()) {
                        throw Errors.zoneNotExist(zone);
                    }
                }
                List<Server> out = new ArrayList<>();
                for (Zone z : inv.zones()) {
                    if (targets.contains(z.name())) {
                        out.addAll(z.servers());
                    }
                }
                return out;
            }
            case SERVER: {
                if (targets.isEmpty()) {
                    throw Errors.illegalArgument("target", "target is empty");
                }
                LinkedHashSet<Server> chosen = new LinkedHashSet<>();
                for (String target : targets) {
                    Agent a = agent(target);
                    Optional<Server> s = inv.observers().stream()
                            .filter(x -> x.role() == Role.OBSERVER && x.agentPort() == a.port() && sameHost(x.host(), a.ip()))
                            .findFirst();
                    if (s.isEmpty()) {
                        throw Errors.agentNotExist(target);
                    }
                    chosen.add(s.get());
                }
                List<Server> out = new ArrayList<>(inv.observers());
                out.retainAll(chosen);
                return out;
            }
            default:
                throw Errors.scopeInvalid(type);
        }
    }

    /** The inventory's host is canonical (see HostName); the request's ip is compared in its canonical form too. */
    private static boolean sameHost(String host, String ip) {
        if (host.equals(ip)) {
            return true;
        }
        io.obplay.inventory.HostName.Parsed p = io.obplay.inventory.HostName.parse(ip);
        return p.ok() && host.equals(p.host());
    }

    /** An obshell agent address. */
    record Agent(String ip, int port) {
    }

    /** obshell's {@code meta.ConvertAddressToAgentInfo}: {@code ip}, {@code ip:port}, {@code [v6]:port}. */
    static Agent agent(String host) throws ApiException {
        if (host.isEmpty()) {
            throw Errors.invalidAddress(host);
        }
        if (host.contains(".")) {
            String[] parts = host.split(":", -1);
            if (parts.length == 1) {
                return new Agent(parts[0], DEFAULT_AGENT_PORT); // obshell does not check the IP here either
            }
            if (parts.length != 2) {
                throw Errors.invalidAddress(host);
            }
            int port = port(parts[1]);
            if (!IPV4.matcher(parts[0]).matches()) {
                throw Errors.invalidIp(parts[0]);
            }
            return new Agent(parts[0], port);
        }
        Matcher m = IPV6.matcher(host);
        if (!m.find()) {
            throw Errors.invalidAddress(host);
        }
        String ip = m.group(1) != null ? m.group(1) : m.group(2);
        int port = m.group(3) != null ? port(m.group(3)) : DEFAULT_AGENT_PORT;
        if (!ip.contains(":")) {
            throw Errors.invalidIp(ip);
        }
        try {
            // a literal with ':' and only hex digits is parsed, never looked up
            if (!(InetAddress.getByName(ip) instanceof Inet6Address)) {
                throw Errors.invalidIp(ip);
            }
        } catch (UnknownHostException e) {
            throw Errors.invalidIp(ip);
        }
        return new Agent(ip, port);
    }

    /** obshell's {@code utils.IsValidPortValue}: 1024 &lt; port &lt; 65536. */
    private static int port(String text) throws ApiException {
        int p;
        try {
            p = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw Errors.invalidPort(text);
        }
        if (p <= 1024 || p > 65535) {
            throw Errors.invalidPort(text);
        }
        return p;
    }
}
