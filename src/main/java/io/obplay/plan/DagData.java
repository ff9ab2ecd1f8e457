package io.obplay.plan;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The typed view of a plan's (a DAG's) {@code additional_data}: what it was made from and how it runs. The planner
 * writes it ({@link #toMap()}), everything else reads it through {@link #of}; the keys are named here only.
 *
 * @param libraries the script libraries the sub-tasks call, by name (their text, as reviewed)
 * @param hosts     the number of hosts the sub-tasks run on
 * @param extra     keys this record does not know (the shim's {@code shim}, ...), kept in their order after the others
 */
public record DagData(
        String playbookName,
        String playbook,
        String playbookSha256,
        String inventory,
        String inventorySha256,
        String cluster,
        String transport,
        String strategy,
        Integer forks,
        Integer maxFailPercentage,
        List<String> limit,
        List<String> tags,
        List<String> skipTags,
        Map<String, Object> libraries,
        Long hosts,
        Map<String, Object> extra) {

    private static final List<String> KEYS = List.of("playbook_name", "playbook", "playbook_sha256", "inventory",
            "inventory_sha256", "cluster", "transport", "strategy", "forks", "max_fail_percentage", "limit", "tags",
            "skip_tags", "libraries", "hosts");

    /** The shim's key in {@link #extra}: what the HTTP request asked for. */
    public static final String SHIM = "shim";

    public DagData {
        limit = limit == null ? List.of() : List.copyOf(limit);
        tags = tags == null ? List.of() : List.copyOf(tags);
        skipTags = skipTags == null ? List.of() : List.copyOf(skipTags);
        extra = extra == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    /** The same with {@code libraries} and {@code hosts}. */
    public DagData with(Map<String, Object> libraries, long hosts) {
        return new DagData(playbookName, playbook, playbookSha256, inventory, inventorySha256, cluster, transport,
                strategy, forks, maxFailPercentage, limit, tags, skipTags, libraries, hosts, extra);
    }

    /** The same with {@code key} set to {@code value} among {@link #extra}. */
    public DagData withExtra(String key, Object value) {
        if (KEYS.contains(key)) {
            throw new IllegalArgumentException(key + " is not an extra key");
        }
        Map<String, Object> e = new LinkedHashMap<>(extra);
        e.put(key, value);
        return new DagData(playbookName, playbook, playbookSha256, inventory, inventorySha256, cluster, transport,
                strategy, forks, maxFailPercentage, limit, tags, skipTags, libraries, hosts, e);
    }

    /** The value of an extra key, or null. */
    public Object extra(String key) {
        return extra.get(key);
    }

    /** The file (inventory or playbook) the plan was made from, and its sha256, by {@code what}. */
    public String source(String what) {
        return switch (what) {
            case "inventory" -> inventory;
            case "playbook" -> playbook;
            default -> throw new IllegalArgumentException(what);
        };
    }

    public String sourceSha256(String what) {
        return switch (what) {
            case "inventory" -> inventorySha256;
            case "playbook" -> playbookSha256;
            default -> throw new IllegalArgumentException(what);
        };
    }

    /** The additional_data map: every key of the planner's, in its order ({@code libraries} and {@code hosts} when set). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("playbook_name", playbookName);
        m.put("playbook", playbook);
        m.put("playbook_sha256", playbookSha256);
        m.put("inventory", inventory);
        m.put("inventory_sha256", inventorySha256);
        m.put("cluster", cluster);
        m.put("transport", transport);
        m.put("strategy", strategy);
        m.put("forks", forks);
        m.put("max_fail_percentage", maxFailPercentage);
        m.put("limit", limit);
        m.put("tags", tags);
        m.put("skip_tags", skipTags);
        if (libraries != null) {
            m.put("libraries", libraries);
        }
        if (hosts != null) {
            m.put("hosts", hosts);
        }
        m.putAll(extra);
        return m;
    }

    /** Reads a DAG's additional_data (null or partial too: what is missing is null, lists empty). */
    @SuppressWarnings("unchecked")
    public static DagData of(Map<String, Object> m) {
        if (m == null) {
            m = Map.of();
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            if (!KEYS.contains(k)) {
                extra.put(k, v);
            }
        });
        Object libs = m.get("libraries");
        return new DagData(string(m, "playbook_name"), string(m, "playbook"), string(m, "playbook_sha256"),
                string(m, "inventory"), string(m, "inventory_sha256"), string(m, "cluster"), string(m, "transport"),
                string(m, "strategy"), integer(m, "forks"), integer(m, "max_fail_percentage"), strings(m, "limit"),
                strings(m, "tags"), strings(m, "skip_tags"), libs instanceof Map<?, ?> l ? (Map<String, Object>) l : null,
                m.get("hosts") instanceof Number n ? n.longValue() : null, extra);
    }

    static String string(Map<String, Object> m, String key) {
        Object v = m.get(key);
        return v == null ? null : v.toString();
    }

    static Integer integer(Map<String, Object> m, String key) {
        return m.get(key) instanceof Number n ? n.intValue() : null;
    }

    static List<String> strings(Map<String, Object> m, String key) {
        return m.get(key) instanceof List<?> l ? l.stream().map(String::valueOf).toList() : List.of();
    }
}
