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

    @Test
    void oneValueReplacedKeepsTheOrderSharesTheRestAndCannotBeChanged() {
        Map<String, Integer> base = java.util.Collections.unmodifiableMap(ports("cluster", 1, "host", 2, "zone", 3));
        Map<String, Integer> m = OrderedMaps.withOne(base, "host", 20);
        assertEquals(ports("cluster", 1, "host", 20, "zone", 3), m);
        assertEquals(ports("cluster", 1, "host", 20, "zone", 3).hashCode(), m.hashCode());
        assertEquals(List.of("cluster", "host", "zone"), List.copyOf(m.keySet()));
        assertEquals(List.of(1, 20, 3), List.copyOf(m.values()));
        assertEquals(20, m.get("host"));
        assertEquals(1, m.get("cluster"));
        assertEquals(null, m.get("nothing"));
        assertTrue(m.containsKey("zone"));
        assertEquals(3, m.size());
        assertEquals(2, base.get("host"));  // the base is untouched
        assertThrows(UnsupportedOperationException.class, () -> m.put("zone", 4));
        assertThrows(UnsupportedOperationException.class, () -> m.remove("zone"));
        for (Map.Entry<String, Integer> e : m.entrySet()) {
            assertThrows(UnsupportedOperationException.class, () -> e.setValue(9));
        }
        assertThrows(UnsupportedOperationException.class, () -> m.entrySet().iterator().remove());
        // replacing again starts from the same base, not from a chain of views
        assertEquals(ports("cluster", 1, "host", 30, "zone", 3), OrderedMaps.withOne(m, "host", 30));
        assertSame(m, OrderedMaps.unmodifiable(m));  // Server keeps it as it is
        Map<String, Integer> plain = ports("a", 1);
        Map<String, Integer> copy = OrderedMaps.unmodifiable(plain);
        plain.put("b", 2);
        assertEquals(ports("a", 1), copy);  // any other map is copied
        assertThrows(IllegalArgumentException.class, () -> OrderedMaps.withOne(base, "port", 1));
    }
}
