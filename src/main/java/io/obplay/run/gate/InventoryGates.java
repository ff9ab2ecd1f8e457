package io.obplay.run.gate;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.inventory.Zone;

/** Gates built from an inventory's servers, for the zone a rolling restart has just restarted. */
public final class InventoryGates {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private InventoryGates() {
    }

    /** Level 2 for one observer: its host and {@code agent_port}. */
    public static ObshellStatusGate obshellStatus(Server observer, GateTiming timing) {
        if (observer.role() != Role.OBSERVER) {
            throw new IllegalArgumentException(observer.name() + " is not an observer: obshell's status gate is for"
                    + " observers");
        }
        return ObshellStatusGate.of(observer.host(), observer.agentPort(), timing);
    }

    /**
     * Level 3 for {@code zone}: connect to the observers of the other zones first (they keep serving while this
     * one restarts), then to this zone's own, each on its {@code mysql_port}; every server of the zone, as
     * {@code host:rpc_port}, must be among the zone's rows. A server whose host is a name, not an IP address, is
     * not listed as expected ({@code DBA_OB_SERVERS} holds addresses): then the zone's rows count as they are.
     */
    public static SqlGate sql(Inventory inventory, String zone, GateTiming timing) {
        Zone z = inventory.zone(zone).orElseThrow(() -> new IllegalArgumentException("no zone '" + zone
                + "' in " + inventory.source() + " (zones: " + String.join(", ", inventory.zoneNames()) + ")"));
        List<SqlGate.Endpoint> endpoints = new ArrayList<>();
        for (Zone other : inventory.zones()) {
            if (!other.name().equals(zone)) {
                other.servers().forEach(s -> endpoints.add(mysql(s)));
            }
        }
        z.servers().forEach(s -> endpoints.add(mysql(s)));
        List<String> expected = new ArrayList<>();
        boolean allAddresses = true;
        for (Server s : z.servers()) {
            if (isAddress(s.host())) {
                expected.add(s.host() + ":" + s.ports().get("rpc_port"));
            } else {
                allAddresses = false;
            }
        }
        return SqlGate.of(endpoints.stream().distinct().toList(), zone, allAddresses ? expected : List.of(),
                timing);
    }

    private static SqlGate.Endpoint mysql(Server s) {
        Integer port = s.ports().get("mysql_port");
        if (port == null) {
            throw new IllegalArgumentException(s.name() + " has no mysql_port");
        }
        return new SqlGate.Endpoint(s.host(), port);
    }

    private static boolean isAddress(String host) {
        return IPV4.matcher(host).matches() || host.indexOf(':') >= 0;
    }
}
