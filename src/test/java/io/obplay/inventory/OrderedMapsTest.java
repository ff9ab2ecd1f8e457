package io.obplay.inventory;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OrderedMapsTest {

    private static Map<String, Integer> ports(Object... kv) {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], (Integer) kv[i + 1]);
        }
        return m;
    }

    @Test
    void equalMapsInTheSameOrderAreOneInstanceAndKeepTheirOrder() {
        Map<String, Integer> a = OrderedMaps.frozen(ports("mysql_port", 2881, "rpc_port", 2882));
        Map<String, Integer> b = OrderedMaps.frozen(ports("mysql_port", 2881, "rpc_port", 2882));
        assertSame(a, b);
        assertEquals(List.of("mysql_port", "rpc_port"), List.copyOf(a.keySet()));
    }

    @Test
    void theSameEntriesInAnotherOrderOrAnotherValueAreAnotherMap() {
        Map<String, Integer> a = OrderedMaps.frozen(ports("mysql_port", 2881, "rpc_port", 2882));
        Map<String, Integer> reordered = OrderedMaps.frozen(ports("rpc_port", 2882, "mysql_port", 2881));
        Map<String, Integer> other = OrderedMaps.frozen(ports("mysql_port", 2881, "rpc_port", 2892));
        assertNotSame(a, reordered);
        assertEquals(List.of("rpc_port", "mysql_port"), List.copyOf(reordered.keySet()));
        assertNotSame(a, other);
        assertEquals(2892, other.get("rpc_port"));
    }

    @Test
    void aFrozenMapIsACopyNobodyCanChange() {
        Map<String, Integer> source = ports("mysql_port", 2881);
        Map<String, Integer> frozen = OrderedMaps.frozen(source);
        source.put("rpc_port", 2882);
        assertEquals(Map.of("mysql_port", 2881), frozen);
        assertThrows(UnsupportedOperationException.class, () -> frozen.put("x", 1));
    }

    @Test
    void theCacheStaysBoundedWhateverIsLoaded() {
        for (int i = 0; i < OrderedMaps.LIMIT * 3; i++) {
            Map<String, Integer> m = OrderedMaps.frozen(ports("mysql_port", i));
            assertEquals(i, m.get("mysql_port"));
            assertTrue(OrderedMaps.size() <= OrderedMaps.LIMIT, () -> OrderedMaps.size() + " maps cached");
        }
        assertSame(OrderedMaps.frozen(ports("mysql_port", 7)), OrderedMaps.frozen(ports("mysql_port", 7)));
    }

    @Test
    void serversOfOneLayoutShareTheirMaps() {
        Server a = server("10.0.0.1");
        Server b = server("10.0.0.2");
        assertSame(a.ports(), b.ports());
        assertSame(a.dirs(), b.dirs());
        assertSame(a.pidFiles(), b.pidFiles());
    }

    private static Server server(String host) {
        Map<String, String> dirs = new LinkedHashMap<>();
        dirs.put("home", "/home/admin/oceanbase");
        dirs.put("data_dir", "/data/1");
        return new Server(Role.OBSERVER, host + ":2886", "zone1", 0, 0, host, 2886, SshSettings.DEFAULTS,
                "/home/admin/oceanbase", dirs, ports("mysql_port", 2881, "rpc_port", 2882),
                Map.of("server", "run/observer.pid"), Map.of());
    }
}
