package io.obplay.run.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import io.obplay.inventory.Inventories;
import io.obplay.inventory.Inventory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Gates from a loaded inventory: which addresses a rolling restart of a zone waits on. */
class InventoryGatesTest {

    @TempDir
    Path tmp;

    private static final GateTiming TIMING = GateTiming.of(Duration.ofMinutes(5));

    @Test
    void theSqlGateOfAZoneAsksTheOtherZonesFirstAndExpectsEveryServerOfItsOwn() throws Exception {
        Path file = tmp.resolve("inv.yaml");
        Files.writeString(file, """
                cluster: c1
                zones:
                  zone1:
                    servers:
                      - { host: 10.0.1.1, home_path: /home/admin/ob, mysql_port: 2881, rpc_port: 2882 }
                      - { host: 10.0.1.2, home_path: /home/admin/ob, mysql_port: 3881, rpc_port: 3882, agent_port: 3886 }
                  zone2:
                    servers:
                      - { host: 10.0.2.1, home_path: /home/admin/ob }
                  zone3:
                    servers:
                      - { host: ob-3.example.com, home_path: /home/admin/ob }
                """);
        Inventory inv = Inventories.load(file);
        SqlGate z1 = InventoryGates.sql(inv, "zone1", TIMING);
        assertEquals(List.of("10.0.2.1:2881", "ob-3.example.com:2881", "10.0.1.1:2881", "10.0.1.2:3881"),
                z1.endpoints().stream().map(SqlGate.Endpoint::toString).toList());
        assertEquals(List.of("10.0.1.1:2882", "10.0.1.2:3882"), z1.expectedServers());
        assertEquals("zone1", z1.zone());
        assertEquals(List.of(), InventoryGates.sql(inv, "zone3", TIMING).expectedServers(),
                "a host name is not what DBA_OB_SERVERS holds");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InventoryGates.sql(inv, "zone9", TIMING));
        assertEquals("no zone 'zone9' in " + file + " (zones: zone1, zone2, zone3)", e.getMessage());

        ObshellStatusGate s = InventoryGates.obshellStatus(inv.zone("zone1").orElseThrow().servers().get(1), TIMING);
        assertEquals("http://10.0.1.2:3886/api/v1/status?ob_query_timeout=2000000", s.url());
    }
}
