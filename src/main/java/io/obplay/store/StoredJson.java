package io.obplay.store;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

import java.io.IOException;
import io.obplay.plan.FrozenData;

import java.util.AbstractMap;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A stored JSON object (additional_data) as a map that is parsed only when it is read. Most reads of a stored DAG
 * only pass its additional_data on to an answer (the shim's DAG GET, whose answer is mostly the sub-tasks'
 * scripts): then the stored text, which {@link Rows#json} wrote with Jackson's defaults, is written as it is,
 * the same bytes a parse and a compact re-serialization would give, without either cost.
 *
 * <p>Any other use (get, iteration) parses it once and from then on reads the parsed {@link LinkedHashMap}; an
 * indenting writer always gets the parsed map, so pretty output is unchanged. It cannot be changed (it is a
 * {@link FrozenData}, which the plan's records keep without a copy: a copy would read, so parse, every entry).
 */
@JsonSerialize(using = StoredJson.Writer.class)
final class StoredJson extends AbstractMap<String, Object> implements FrozenData {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {
    };

    private final String text;
    private LinkedHashMap<String, Object> parsed;

    /** @throws IllegalStateException when {@code text} is not one JSON object */
    StoredJson(String text) {
        this.text = text;
        if (text.isEmpty() || text.charAt(0) != '{' || text.charAt(text.length() - 1) != '}') {
            map(); // not written by Rows.json: parse now, so that a bad row fails where it is read
        }
    }

    private synchronized LinkedHashMap<String, Object> map() {
        if (parsed == null) {
            try {
                parsed = JSON.readValue(text, MAP);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("stored additional_data is not a JSON object: " + e.getOriginalMessage(), e);
            }
            if (parsed == null) {
                throw new IllegalStateException("stored additional_data is not a JSON object: null");
            }
        }
        return parsed;
    }

    /** Whether something has read it (for tests). */
    synchronized boolean parsed() {
        return parsed != null;
    }

    /** The stored text while nothing has read the map; else null. */
    private synchronized String untouched() {
        return parsed == null ? text : null;
    }

    @Override
    public Set<Entry<String, Object>> entrySet() {
        return Collections.unmodifiableMap(map()).entrySet();
    }

    @Override
    public int size() {
        return map().size();
    }

    /** Without a parse while untouched: Jackson writes an empty object as {@code {}}. */
    @Override
    public boolean isEmpty() {
        String t = untouched();
        return t != null ? t.equals("{}") : map().isEmpty();
    }

    @Override
    public boolean containsKey(Object key) {
        return map().containsKey(key);
    }

    @Override
    public boolean containsValue(Object value) {
        return map().containsValue(value);
    }

    @Override
    public Object get(Object key) {
        return map().get(key);
    }

    @Override
    public Set<String> keySet() {
        return Collections.unmodifiableSet(map().keySet());
    }

    @Override
    public Collection<Object> values() {
        return Collections.unmodifiableCollection(map().values());
    }

    @Override
    public boolean equals(Object o) {
        return o == this || (o instanceof Map<?, ?> m && map().equals(m));
    }

    @Override
    public int hashCode() {
        return map().hashCode();
    }

    /** The text to store: the stored text itself while untouched. */
    String json() {
        String t = untouched();
        return t != null ? t : Rows.json(map());
    }

    /** Writes the stored text as it is into compact output; the parsed map otherwise. */
    static final class Writer extends JsonSerializer<StoredJson> {
        @Override
        public void serialize(StoredJson value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            String raw = gen.getPrettyPrinter() == null ? value.untouched() : null;
            if (raw != null) {
                gen.writeRawValue(raw);
            } else {
                provider.defaultSerializeValue(value.map(), gen);
            }
        }

        @Override
        public boolean isEmpty(SerializerProvider provider, StoredJson value) {
            return value.isEmpty();
        }
    }
}
