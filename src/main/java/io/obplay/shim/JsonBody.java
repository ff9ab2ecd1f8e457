package io.obplay.shim;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads request bodies the way obshell's {@code c.BindJSON} does, but stricter where Go is lax: every problem is a
 * 400 {@code Common.BindJsonFailed} naming the field, never a 500.
 *
 * <ul>
 *   <li>as in Go, field names match case-insensitively ({@code "Force"} sets {@code force}), an empty body is
 *       {@code {}}, and {@code null} leaves a field at its zero value;</li>
 *   <li>as in Go, a value of the wrong JSON type is refused ({@code "force": "true"}, {@code "target": "zone1"},
 *       {@code 1.5} for an integer);</li>
 *   <li>stricter than Go: an unknown field is refused (a misspelt {@code "forse": true} must not silently mean
 *       "no force"), and so are duplicate fields and anything after the JSON value.</li>
 * </ul>
 */
final class JsonBody {
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private JsonBody() {
    }

    /** The body as a JSON object; an empty (or all-blank) body is {@code {}}. */
    static ObjectNode object(byte[] body) throws ApiException {
        if (body == null || body.length == 0 || new String(body, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
            return MAPPER.createObjectNode();
        }
        JsonNode n;
        try {
            n = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw Errors.bindJsonFailed("the body is not valid JSON: " + e.getOriginalMessage()
                    + " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        } catch (IOException e) {
            throw Errors.bindJsonFailed("the body cannot be read: " + e.getMessage());
        }
        if (n == null || n.isMissingNode()) {
            return MAPPER.createObjectNode();
        }
        if (!n.isObject()) {
            throw Errors.bindJsonFailed("expected a JSON object, got " + kind(n));
        }
        return (ObjectNode) n;
    }

    /**
     * The fields of {@code o} by their canonical names (those in {@code known}), matched case-insensitively;
     * refuses unknown and repeated fields. Fields that are absent are absent from the map.
     */
    static Map<String, JsonNode> fields(JsonNode o, String where, List<String> known) throws ApiException {
        Map<String, String> canonical = new LinkedHashMap<>();
        known.forEach(k -> canonical.put(k.toLowerCase(Locale.ROOT), k));
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : o.properties()) {
            String name = canonical.get(e.getKey().toLowerCase(Locale.ROOT));
            if (name == null) {
                throw Errors.bindJsonFailed("unknown field '" + e.getKey() + "' in " + where + "; expected "
                        + (known.size() == 1 ? "'" + known.get(0) + "'" : "one of " + String.join(", ", known)));
            }
            if (out.containsKey(name)) {
                throw Errors.bindJsonFailed("field '" + name + "' of " + where + " is given twice");
            }
            out.put(name, e.getValue());
        }
        return out;
    }

    static boolean bool(Map<String, JsonNode> f, String name) throws ApiException {
        JsonNode n = f.get(name);
        if (n == null || n.isNull()) {
            return false;
        }
        if (!n.isBoolean()) {
            throw wrongType(name, "a boolean (true or false)", n);
        }
        return n.booleanValue();
    }

    /** A string field; null when absent or null. */
    static String string(Map<String, JsonNode> f, String name) throws ApiException {
        JsonNode n = f.get(name);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw wrongType(name, "a string", n);
        }
        return n.textValue();
    }

    /** A list of strings; empty when absent or null. */
    static List<String> strings(Map<String, JsonNode> f, String name) throws ApiException {
        JsonNode n = f.get(name);
        List<String> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isArray()) {
            throw wrongType(name, "a list of strings", n);
        }
        for (JsonNode item : n) {
            if (!item.isTextual()) {
                throw wrongType(name + "[" + out.size() + "]", "a string", item);
            }
            out.add(item.textValue());
        }
        return out;
    }

    /** A list of integers; empty when absent or null. */
    static List<Long> longs(Map<String, JsonNode> f, String name) throws ApiException {
        JsonNode n = f.get(name);
        List<Long> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isArray()) {
            throw wrongType(name, "a list of integers", n);
        }
        for (JsonNode item : n) {
            if (!item.isIntegralNumber() || !item.canConvertToLong()) {
                throw wrongType(name + "[" + out.size() + "]", "an integer", item);
            }
            out.add(item.longValue());
        }
        return out;
    }

    static ApiException wrongType(String field, String expected, JsonNode got) {
        return Errors.bindJsonFailed("field '" + field + "' must be " + expected + ", got " + kind(got));
    }

    static String kind(JsonNode n) {
        if (n.isTextual()) {
            return "a string";
        }
        if (n.isBoolean()) {
            return "a boolean";
        }
        if (n.isIntegralNumber()) {
            return "an integer";
        }
        if (n.isNumber()) {
            return "a number with a fraction";
        }
        if (n.isArray()) {
            return "a list";
        }
        if (n.isObject()) {
            return "an object";
        }
        return "null";
    }
}
