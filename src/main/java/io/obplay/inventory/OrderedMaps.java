package io.obplay.inventory;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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

    /**
     * {@code base} (unmodifiable, its entries too, and not changed after) with the value of its {@code key} replaced, in base's order,
     * without copying it: the settings of the servers of a zone that differ only in their host (100,000 servers
     * share one map of some 20 settings instead of holding a copy each). Unmodifiable.
     */
    static <V> Map<String, V> withOne(Map<String, V> base, String key, V value) {
        if (base instanceof WithOne<V> w && w.key.equals(key)) {
            base = w.base;
        }
        if (!base.containsKey(key)) {
            throw new IllegalArgumentException("no '" + key + "' to replace");
        }
        return new WithOne<>(base, key, value);
    }

    /** An unmodifiable copy of {@code m} in its order; {@code m} itself when it is one of {@link #withOne}'s. */
    static <V> Map<String, V> unmodifiable(Map<String, V> m) {
        return m instanceof WithOne<V> ? m : Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }

    private static final class WithOne<V> extends AbstractMap<String, V> {
        private final Map<String, V> base;
        private final String key;
        private final V value;

        WithOne(Map<String, V> base, String key, V value) {
            this.base = base;
            this.key = key;
            this.value = value;
        }

        @Override
        public V get(Object k) {
            return key.equals(k) ? value : base.get(k);
        }

        @Override
        public boolean containsKey(Object k) {
            return base.containsKey(k);
        }

        @Override
        public int size() {
            return base.size();
        }

        @Override
        public Set<Entry<String, V>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public Iterator<Entry<String, V>> iterator() {
                    Iterator<Entry<String, V>> i = base.entrySet().iterator();
                    return new Iterator<>() {
                        @Override
                        public boolean hasNext() {
                            return i.hasNext();
                        }

                        @Override
                        public Entry<String, V> next() {
                            Entry<String, V> e = i.next();
                            return key.equals(e.getKey()) ? new SimpleImmutableEntry<>(key, value) : e;  // base's entries are unmodifiable
                        }
                    };
                }

                @Override
                public int size() {
                    return base.size();
                }
            };
        }
    }
}
