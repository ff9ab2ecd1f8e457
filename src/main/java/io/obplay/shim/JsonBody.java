package io.obplay.shim;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
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
    /** The deepest nesting taken (obshell's bodies are 3 deep). */
    static final int MAX_DEPTH = 32;
    /** The most digits a number may have (a generic id has 20). */
    static final int MAX_NUMBER_LENGTH = 64;

    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(MAX_DEPTH)
                            .maxNumberLength(MAX_NUMBER_LENGTH)
                            .maxStringLength(ShimServer.MAX_BODY)
                            .maxNameLength(ShimServer.MAX_BODY)
                            .build())
                    .build())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private JsonBody() {
    }

    /**
     * The body as a JSON object; an empty (or all-blank) body is {@code {}}. Everything else that is not one JSON
     * object in strict UTF-8 (RFC 3629: no overlong forms, no surrogates), at most {@value #MAX_DEPTH} deep and
     * with numbers of at most {@value #MAX_NUMBER_LENGTH} digits, is 400 {@code Common.BindJsonFailed}, in words
     * that name the problem and its place, never the parser.
     */
    static ObjectNode object(byte[] body) throws ApiException {
        if (body == null || body.length == 0) {
            return MAPPER.createObjectNode();
        }
        String text = strictUtf8(body);
        if (text.isBlank()) {
            return MAPPER.createObjectNode();
        }
        JsonNode n;
        try {
            n = MAPPER.readTree(text);
        } catch (StreamConstraintsException e) {
            throw Errors.bindJsonFailed(constraint(e));
        } catch (JsonProcessingException e) {
            throw Errors.bindJsonFailed(syntax(e));
        } catch (IOException | RuntimeException e) {
            throw Errors.bindJsonFailed("the body is not valid JSON");
        }
        if (n == null || n.isMissingNode()) {
            return MAPPER.createObjectNode();
        }
        if (!n.isObject()) {
            throw Errors.bindJsonFailed("expected a JSON object, got " + kind(n));
        }
        return (ObjectNode) n;
    }

    /** The body decoded as UTF-8, refusing malformed and overlong sequences (the JDK's decoder does). */
    private static String strictUtf8(byte[] body) throws ApiException {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(body);
        try {
            return d.decode(in).toString();
        } catch (CharacterCodingException e) {
            throw Errors.bindJsonFailed("the body is not valid UTF-8 (an invalid or overlong byte sequence near byte "
                    + in.position() + ")");
        }
    }

    private static String constraint(StreamConstraintsException e) {
        String m = String.valueOf(e.getOriginalMessage());
        if (m.startsWith("Document nesting depth")) {
            return "the body is nested more than " + MAX_DEPTH + " levels deep";
        }
        if (m.startsWith("Number value length") || m.contains("Number length")) {
            return "a number in the body has more than " + MAX_NUMBER_LENGTH + " characters";
        }
        return "a string or field name in the body is too long";
    }

    /** The parser's complaint, with its place; a message naming the parser's own types is replaced by a plain one. */
    private static String syntax(JsonProcessingException e) {
        String m = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
        int nl = m.indexOf('\n');
        if (nl >= 0) {
            m = m.substring(0, nl);
        }
        if (m.startsWith("Trailing token")) {
            m = "more data after the JSON value";
        } else if (m.contains("`") || m.contains("com.fasterxml") || m.contains("jackson") || m.contains("java.")) {
            m = "not valid JSON";
        }
        JsonLocation at = e.getLocation();
        return "the body is not valid JSON: " + m
                + (at == null || at.getLineNr() < 1 ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")");
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
