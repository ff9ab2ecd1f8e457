package io.obplay.plan;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.inventory.Zone;
import io.obplay.playbook.ZoneGate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The exact checks of one gate, as the plan shows them and the executor runs them (a node's {@code gate} in its
 * additional_data): the playbook's {@link ZoneGate} resolved against the inventory for one zone.
 *
 * @param zone          the zone (or {@code obproxy <cluster>}) the gate waits for
 * @param obshell       level 2: {@code host:agent_port} of each observer of the zone; empty when not asked
 * @param sql           level 3: the MySQL endpoints ({@code host:mysql_port}) to ask, the other zones' first (they
 *                      serve while this one restarts); empty when not asked
 * @param sqlZone       the zone whose rows level 3 reads (null when not asked)
 * @param expected      level 3: the zone's servers as {@code DBA_OB_SERVERS} lists them ({@code ip:rpc_port}); empty
 *                      when a host is a name (then the zone's rows count as they are)
 * @param command       level 4: the argv run on the controller; empty when not asked
 */
public record GatePlan(String zone, long pauseMillis, long intervalMillis, long timeoutMillis, List<String> obshell,
                       List<String> sql, String sqlZone, List<String> expected, List<String> command, String where) {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    public GatePlan {
        obshell = List.copyOf(obshell);
        sql = List.copyOf(sql);
        expected = List.copyOf(expected);
        command = List.copyOf(command);
    }

    /** The gate for {@code servers}, the batch a rolling play has just finished ({@code zone} is its label). */
    public static GatePlan of(Inventory inv, ZoneGate g, String zone, List<Server> servers) {
        boolean observers = servers.stream().allMatch(s -> s.role() == Role.OBSERVER);
        List<String> obshell = new ArrayList<>();
        List<String> sql = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        String sqlZone = null;
        if (observers && g.obshell()) {
            servers.forEach(s -> obshell.add(hostPort(s.host(), s.agentPort())));
        }
        if (observers && g.sql()) {
            sqlZone = zone;
            for (Zone other : inv.zones()) {
                if (!other.name().equals(zone)) {
                    other.servers().forEach(s -> add(sql, mysql(s)));
                }
            }
            servers.forEach(s -> add(sql, mysql(s)));
            boolean addresses = true;
            for (Server s : servers) {
                Integer rpc = s.ports().get("rpc_port");
                addresses &= isAddress(s.host()) && rpc != null;
                if (rpc != null) {
                    expected.add(s.host() + ":" + rpc);  // as DBA_OB_SERVERS lists svr_ip and svr_port
                }
            }
            if (!addresses) {
                expected.clear();
            }
        }
        return new GatePlan(zone, g.pause().toMillis(), g.interval().toMillis(), g.timeout().toMillis(), obshell, sql,
                sqlZone, expected, g.command(), g.where());
    }

    /** Whether the gate waits for anything at all (a pause, or a level this batch has). */
    public boolean waits() {
        return pauseMillis > 0 || !obshell.isEmpty() || !sql.isEmpty() || !command.isEmpty();
    }

    /** The levels it checks, one line each, for the plan: what is checked where (no password: that is not here). */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        out.add("level 1: every server of " + zone + " ready (the start's own check, on its host)");
        if (!obshell.isEmpty()) {
            out.add("level 2: obshell's GET /api/v1/status says obState 3 (AVAILABLE) on " + String.join(", ", obshell));
        }
        if (!sql.isEmpty()) {
            out.add("level 3: SQL (the first of " + String.join(", ", sql) + " that answers): every server of zone "
                    + sqlZone + (expected.isEmpty() ? "" : " (" + String.join(", ", expected) + ")") + " in DBA_OB_SERVERS"
                    + " with status 'ACTIVE', start_service_time > 0, stop_time = 0, and no GV$OB_LOG_STAT row with"
                    + " in_sync = 'NO'; user and password from OBPLAY_GATE_SQL_USER / OBPLAY_GATE_SQL_PASSWORD(_FILE)");
        }
        if (!command.isEmpty()) {
            out.add("level 4: exit 0 from " + String.join(" ", command.stream().map(StepScripts::quote).toList())
                    + " (run on the controller)");
        }
        out.add("pause " + StepScripts.words(java.time.Duration.ofMillis(pauseMillis)) + ", a check every "
                + StepScripts.words(java.time.Duration.ofMillis(intervalMillis)) + ", timeout "
                + StepScripts.words(java.time.Duration.ofMillis(timeoutMillis)) + " in all; a gate that does not pass"
                + " fails the DAG before the next zone");
        return out;
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("zone", zone);
        m.put("pause_ms", pauseMillis);
        m.put("interval_ms", intervalMillis);
        m.put("timeout_ms", timeoutMillis);
        m.put("obshell", obshell);
        m.put("sql", sql);
        m.put("sql_zone", sqlZone);
        m.put("expected", expected);
        m.put("command", command);
        m.put("where", where);
        return m;
    }

    /** Reads a node's {@code gate}, or null. */
    public static GatePlan of(Object o) {
        if (!(o instanceof Map<?, ?> raw)) {
            return null;
        }
        @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) raw;
        return new GatePlan(DagData.string(m, "zone"), number(m, "pause_ms"), number(m, "interval_ms"),
                number(m, "timeout_ms"), strings(m, "obshell"), strings(m, "sql"), DagData.string(m, "sql_zone"),
                strings(m, "expected"), strings(m, "command"), DagData.string(m, "where"));
    }

    private static long number(Map<String, Object> m, String key) {
        return m.get(key) instanceof Number n ? n.longValue() : 0;
    }

    private static List<String> strings(Map<String, Object> m, String key) {
        List<String> l = DagData.strings(m, key);
        return l == null ? List.of() : l;
    }

    private static String mysql(Server s) {
        Integer port = s.ports().get("mysql_port");
        return port == null ? null : hostPort(s.host(), port);
    }

    private static void add(List<String> to, String endpoint) {
        if (endpoint != null && !to.contains(endpoint)) {
            to.add(endpoint);
        }
    }

    /** {@code host:port}, {@code [v6]:port}. */
    static String hostPort(String host, int port) {
        return io.obplay.inventory.HostName.withPort(host, port);
    }

    /** {@code host:port} or {@code [v6]:port} split: the host (without brackets) and the port. */
    public static Map.Entry<String, Integer> split(String endpoint) {
        int colon = endpoint.lastIndexOf(':');
        String host = endpoint.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return Map.entry(host, Integer.parseInt(endpoint.substring(colon + 1)));
    }

    private static boolean isAddress(String host) {
        return IPV4.matcher(host).matches() || host.indexOf(':') >= 0;
    }
}
