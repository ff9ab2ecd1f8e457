package io.obplay.plan;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An additional_data map that cannot change: a {@link Dag}, {@link Node} or {@link SubTask} keeps it as it is
 * instead of copying it. The store's maps read back from a row are these (parsed only when something reads them), so
 * a DAG read only to be answered is never parsed: copying it would read every entry, and so parse it.
 */
public interface FrozenData extends Map<String, Object> {

    /** {@code m} itself when it is frozen, else an unmodifiable copy in its order; null stays null. */
    static Map<String, Object> of(Map<String, Object> m) {
        if (m == null || m instanceof FrozenData) {
            return m;
        }
        return Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }
}
