package io.obplay.run.gate;

import java.time.Duration;
import java.util.List;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.inventory.Zone;
import io.obplay.plan.GatePlan;
import io.obplay.playbook.ZoneGate;

/** Gates built from an inventory's servers, for the zone a rolling restart has just restarted. */
public final class InventoryGates {
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
        // the planner's choice of endpoints and expected servers (GatePlan), so that both cannot drift
        ZoneGate sql = new ZoneGate(Duration.ZERO, timing.interval(), timing.timeout(), false, true, List.of(), null);
        return PlannedGate.sqlGate(GatePlan.of(inventory, sql, zone, z.servers()), timing);
    }
}
