package io.obplay.inventory;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A YAML mapping read with positions. Typed getters record a problem (and return null) when a value has the
 * wrong type; {@link #allow} reports unknown keys with the nearest valid key.
 */
public final class YamlMap {
    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");

    private final YamlSource src;
    private final Node node;
    private final String what;
    private final Map<String, NodeTuple> entries = new LinkedHashMap<>();

    private YamlMap(YamlSource src, Node node, String what) {
        this.src = src;
        this.node = node;
        this.what = what;
    }

    /** The node as a mapping; records a problem and returns null when it is not one. */
    public static YamlMap of(YamlSource src, Node node, String what) {
        if (!(node instanceof MappingNode m)) {
            src.problem(node, what + " must be a mapping (key: value lines); found " + describe(node));
            return null;
        }
        YamlMap map = new YamlMap(src, node, what);
        for (NodeTuple t : m.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k)) {
                src.problem(t.getKeyNode(), "keys in " + what + " must be plain names");
                continue;
            }
            if (map.entries.containsKey(k.getValue())) {
                src.problem(k, "duplicate key '" + k.getValue() + "' in " + what + "; expected each key once");
                continue;
            }
            map.entries.put(k.getValue(), t);
        }
        return map;
    }

    public YamlSource source() {
        return src;
    }

    public Node node() {
        return node;
    }

    public String what() {
        return what;
    }

    public Collection<String> keys() {
        return entries.keySet();
    }

    public boolean has(String key) {
        return entries.containsKey(key);
    }

    /** Reports every key not in {@code allowed}, suggesting the nearest one. */
    public YamlMap allow(Collection<String> allowed) {
        for (Map.Entry<String, NodeTuple> e : entries.entrySet()) {
            if (!allowed.contains(e.getKey())) {
                String near = Suggest.nearest(e.getKey(), allowed);
                src.problem(e.getValue().getKeyNode(), "unknown key '" + e.getKey() + "' in " + what
                        + (near != null ? "; did you mean '" + near + "'? Expected" : "; expected")
                        + " one of: " + String.join(", ", allowed));
            }
        }
        return this;
    }

    public Node keyNode(String key) {
        NodeTuple t = entries.get(key);
        return t == null ? null : t.getKeyNode();
    }

    public Node value(String key) {
        NodeTuple t = entries.get(key);
        return t == null ? null : t.getValueNode();
    }

    /** Where a key's value stands, as file:line:column. */
    public String where(String key) {
        Node v = value(key);
        return v == null ? src.where(node) : src.where(v);
    }

    public YamlMap map(String key) {
        Node v = value(key);
        if (v == null || isNull(v)) {
            return null;
        }
        return of(src, v, "'" + key + "' in " + what);
    }

    public String string(String key) {
        Node v = value(key);
        if (v == null || isNull(v)) {
            return null;
        }
        if (!(v instanceof ScalarNode s)) {
            src.problem(v, "'" + key + "' must be a single value; found " + describe(v));
            return null;
        }
        return s.getValue();
    }

    public String requiredString(String key) {
        String s = string(key);
        if (s == null && value(key) == null) {
            src.problem(node, what + " needs '" + key + "'");
        } else if (s != null && s.isBlank()) {
            src.problem(value(key), "'" + key + "' must not be empty");
            return null;
        }
        return s;
    }

    public Integer integer(String key, long min, long max, String expected) {
        String s = string(key);
        if (s == null) {
            return null;
        }
        Node v = value(key);
        if (((ScalarNode) v).getTag().equals(Tag.STR) && ((ScalarNode) v).getScalarStyle().getChar() != null) {
            src.problem(v, "'" + key + "' is a quoted string \"" + s + "\"; expected " + expected);
            return null;
        }
        try {
            long n = Long.parseLong(s.trim());
            if (n < min || n > max) {
                src.problem(v, "'" + key + "' is " + n + "; expected " + expected);
                return null;
            }
            return (int) n;
        } catch (NumberFormatException e) {
            src.problem(v, "'" + key + "' is '" + s + "'; expected " + expected);
            return null;
        }
    }

    public Integer port(String key) {
        return integer(key, 1, 65535, "a port number from 1 to 65535");
    }

    public Boolean bool(String key) {
        String s = string(key);
        if (s == null) {
            return null;
        }
        return switch (s.trim().toLowerCase()) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> {
                src.problem(value(key), "'" + key + "' is '" + s + "'; expected true or false");
                yield null;
            }
        };
    }

    /** The longest duration obplay reads anywhere (a week); more is a mistake, never a real wait. */
    public static final Duration MAX_DURATION = Duration.ofDays(7);

    /** A duration from zero to {@link #MAX_DURATION}. */
    public Duration duration(String key) {
        return duration(key, Duration.ZERO, MAX_DURATION);
    }

    /**
     * A duration from {@code min} to {@code max}; out of range (or too large to count) is a problem, not a
     * wrapped or clamped value.
     */
    public Duration duration(String key, Duration min, Duration max) {
        String s = string(key);
        if (s == null) {
            return null;
        }
        String range = "from " + show(min) + " to " + show(max);
        Duration d = parseDuration(s);
        if (d == null) {
            if (s.trim().matches("-.*")) {
                src.problem(value(key), "'" + key + "' is '" + s + "', a negative duration; expected a duration " + range);
            } else if (SYNTAX.matcher(s.trim()).matches()) {
                src.problem(value(key), "'" + key + "' is '" + s + "', far more than " + show(max) + "; expected a duration " + range);
            } else {
                src.problem(value(key), "'" + key + "' is '" + s + "'; expected a duration such as 500ms, 30s, 5m, 1h or 1m30s");
            }
            return null;
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            src.problem(value(key), "'" + key + "' is '" + s.trim() + "'" + (d.compareTo(max) > 0 ? ", more than " + show(max)
                    : d.isZero() ? ", zero" : ", less than " + show(min)) + "; expected a duration " + range);
            return null;
        }
        return d;
    }

    private static final Pattern SYNTAX = Pattern.compile("\\d+|(\\d+(ms|s|m|h))+");

    /** A duration as written in inventories: 500ms, 30s, 5m, 168h. */
    public static String show(Duration d) {
        long ms = d.toMillis();
        if (ms == 0) {
            return "0s";
        }
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }

    /**
     * Parses 500ms, 30s, 5m, 1h, 1m30s, or a plain number of seconds; null when it is none of these or longer than
     * a million hours (so that no sum or conversion can overflow).
     */
    public static Duration parseDuration(String s) {
        String t = s.trim();
        long limitMs = 1_000_000L * 3_600_000L;
        if (t.matches("\\d+")) {
            return t.length() > 13 || Long.parseLong(t) > limitMs / 1000 ? null : Duration.ofSeconds(Long.parseLong(t));
        }
        Matcher m = DURATION.matcher(t);
        long total = 0;
        int at = 0;
        while (m.find()) {
            if (m.start() != at) {
                return null;
            }
            if (m.group(1).length() > 13) {
                return null;
            }
            long n = Long.parseLong(m.group(1));
            long unit = switch (m.group(2)) {
                case "ms" -> 1;
                case "s" -> 1000;
                case "m" -> 60_000;
                default -> 3_600_000;
            };
            if (n > limitMs / unit) {
                return null;
            }
            total += n * unit;
            if (total > limitMs) {
                return null;
            }
            at = m.end();
        }
        return at == t.length() && at > 0 ? Duration.ofMillis(total) : null;
    }

    public <E extends Enum<E>> E enumValue(String key, Class<E> type) {
        String s = string(key);
        if (s == null) {
            return null;
        }
        String norm = s.trim().toUpperCase().replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(norm)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name().toLowerCase().replace('_', '-'));
        }
        src.problem(value(key), "'" + key + "' is '" + s + "'; expected one of: " + String.join(", ", names));
        return null;
    }

    /** A sequence's items, or null (after a problem) when the value is not a sequence. */
    public List<Node> list(String key) {
        Node v = value(key);
        if (v == null || isNull(v)) {
            return null;
        }
        if (!(v instanceof SequenceNode s)) {
            src.problem(v, "'" + key + "' must be a list; found " + describe(v));
            return null;
        }
        return s.getValue();
    }

    /** A list of plain values (a single value counts as a list of one). */
    public List<String> strings(String key) {
        Node v = value(key);
        if (v == null || isNull(v)) {
            return null;
        }
        if (v instanceof ScalarNode s) {
            return List.of(s.getValue());
        }
        List<Node> items = list(key);
        if (items == null) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (Node n : items) {
            if (n instanceof ScalarNode s) {
                out.add(s.getValue());
            } else {
                src.problem(n, "items of '" + key + "' must be single values; found " + describe(n));
            }
        }
        return out;
    }

    public static boolean isNull(Node n) {
        return n instanceof ScalarNode s && s.getTag().equals(Tag.NULL);
    }

    public static String describe(Node n) {
        if (n == null) {
            return "nothing";
        }
        if (n instanceof MappingNode) {
            return "a mapping";
        }
        if (n instanceof SequenceNode) {
            return "a list";
        }
        if (isNull(n)) {
            return "an empty value";
        }
        return "'" + ((ScalarNode) n).getValue() + "'";
    }
}
