package io.obplay.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stored additional_data read lazily must answer exactly what the parsed map would. */
class StoredJsonTest {
    private static final ObjectMapper COMPACT = new ObjectMapper();
    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private static Map<String, Object> sample() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("script", "set -eu\nkill -TERM \"$pid\" 2>/dev/null || echo 'gone: $(x)' \\\n\t\u00e9\u4e2d\ud83d\ude00\u0001");
        m.put("signals", List.of("TERM 1234", Map.of("k", 9)));
        m.put("n", 12345678901L);
        m.put("i", 3);
        m.put("f", 0.1);
        m.put("b", true);
        m.put("none", null);
        m.put("nested", new LinkedHashMap<>(Map.of("a", List.of())));
        return m;
    }

    @Test
    void untouchedWritesTheSameBytesAsTheParsedMapCompactAndPretty() throws Exception {
        Map<String, Object> original = sample();
        String stored = Rows.json(original);
        Map<String, Object> lazy = Rows.map(stored);
        Map<String, Object> wrapper = new LinkedHashMap<>();
        wrapper.put("additional_data", lazy);
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("additional_data", COMPACT.readValue(stored, LinkedHashMap.class));
        assertEquals(COMPACT.writeValueAsString(expected), COMPACT.writeValueAsString(wrapper));
        assertEquals(PRETTY.writeValueAsString(expected), PRETTY.writeValueAsString(wrapper));
        assertEquals(stored, Rows.json(lazy), "stored again as it was read");
    }

    @Test
    void readsBehaveAsAMapAndChangesAreRefused() throws Exception {
        Map<String, Object> lazy = Rows.map(Rows.json(sample()));
        assertEquals(sample(), lazy);
        assertEquals(sample().hashCode(), lazy.hashCode());
        assertEquals(3, lazy.get("i"));
        assertThrows(UnsupportedOperationException.class, () -> lazy.put("i", 4));
        assertThrows(UnsupportedOperationException.class, () -> lazy.remove("none"));
        assertThrows(UnsupportedOperationException.class, () -> lazy.entrySet().clear());
        assertThrows(UnsupportedOperationException.class, () -> lazy.keySet().remove("i"));
        assertEquals(sample(), lazy, "unchanged");
    }

    @Test
    void theRecordsKeepAStoredMapWithoutReadingIt() throws Exception {
        String stored = Rows.json(sample());
        StoredJson lazy = (StoredJson) Rows.map(stored);
        io.obplay.plan.SubTask t = new io.obplay.plan.SubTask("1", 1, "Stop", io.obplay.plan.State.READY,
                io.obplay.plan.Operator.RUN, null, null, lazy, 0, null, List.of());
        io.obplay.plan.Node n = new io.obplay.plan.Node("1", 1, "Stop", io.obplay.plan.State.READY,
                io.obplay.plan.Operator.RUN, null, null, lazy, List.of(t));
        assertTrue(t.additionalData() == lazy && n.additionalData() == lazy, "kept as it is, not copied");
        assertTrue(COMPACT.writeValueAsString(Map.of("a", t.additionalData())).contains(stored));
        assertTrue(!lazy.parsed(), "a copy would have read, so parsed, every entry");
        assertEquals(3, t.additionalData().get("i"));
        assertTrue(lazy.parsed());
    }

    @Test
    void emptyMapAndNull() throws Exception {
        assertTrue(Rows.map("{}").isEmpty());
        assertEquals("{}", COMPACT.writeValueAsString(Rows.map("{}")));
        assertEquals(null, Rows.map(null));
    }

    @Test
    void whatIsNotAnObjectFailsWhereItIsRead() {
        assertThrows(IllegalStateException.class, () -> Rows.map("[1]"));
        assertThrows(IllegalStateException.class, () -> Rows.map("null"));
        assertThrows(IllegalStateException.class, () -> Rows.map("{").size());
    }
}
