package io.obplay.inventory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Frozen, ordered copies of a server's small maps (ports, pid files, directories), shared between servers whose
 * maps are equal in order. A fleet's servers mostly share their ports and pid-file names, so 100,000 servers hold a
 * few maps instead of 100,000 each, and the planner's "same script input as the previous server" test
 * ({@code ScriptInput}) is one identity comparison instead of a walk through three maps.
 *
 * <p>The cache only ever holds immutable maps and is cleared when it grows past {@link #LIMIT} entries, so it never
 * holds more than a bounded amount, whatever the process loads over its life (the shim reloads inventories).
 */
final class OrderedMaps {

    static final int LIMIT = 4096;

    private static final Map<List<Object>, Map<?, ?>> SHARED = new ConcurrentHashMap<>();

    private OrderedMaps() {
    }

    /** How many maps the cache holds now (for tests). */
    static int size() {
        return SHARED.size();
    }

    /** An unmodifiable copy of {@code m} in its order, the same instance for every map equal to it in order. */
    @SuppressWarnings("unchecked")
    static <V> Map<String, V> frozen(Map<String, V> m) {
        List<Object> key = new ArrayList<>(m.size() * 2);
        for (Map.Entry<String, V> e : m.entrySet()) {
            key.add(e.getKey());
            key.add(e.getValue());
        }
        Map<?, ?> known = SHARED.get(key);
        if (known != null) {
            return (Map<String, V>) known;
        }
        Map<String, V> copy = Collections.unmodifiableMap(new LinkedHashMap<>(m));
        if (SHARED.size() >= LIMIT) {
            SHARED.clear();
        }
        Map<?, ?> raced = SHARED.putIfAbsent(key, copy);
        return raced == null ? copy : (Map<String, V>) raced;
    }
}
