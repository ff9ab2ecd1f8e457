package io.obplay.plan;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The typed view of a node's {@code additional_data}: the step it runs, on which batch, with what limits. The
 * planner writes it ({@link #toMap()}), the renderers read it through {@link #of}; the keys are named here only.
 *
 * @param timeoutSeconds the step's timeout
 * @param where          file:line:column of the step
 * @param gate           a gate node's checks, else null (and absent from the map)
 */
public record NodeData(int stepIndex, String step, List<String> tags, String batch, Long timeoutSeconds, Integer forks,
                       Integer maxFailPercentage, String where, GatePlan gate) {

    public NodeData(int stepIndex, String step, List<String> tags, String batch, Long timeoutSeconds, Integer forks,
                    Integer maxFailPercentage, String where) {
        this(stepIndex, step, tags, batch, timeoutSeconds, forks, maxFailPercentage, where, null);
    }

    public NodeData {
        tags = tags == null ? List.of() : List.copyOf(tags);
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step_index", stepIndex);
        m.put("step", step);
        m.put("tags", tags);
        m.put("batch", batch);
        m.put("timeout", timeoutSeconds);
        m.put("forks", forks);
        m.put("max_fail_percentage", maxFailPercentage);
        m.put("where", where);
        if (gate != null) {
            m.put("gate", gate.toMap());
        }
        return m;
    }

    /** Only a node's gate, or null: one map lookup for a node that is not a gate (the executor asks per sub-task). */
    public static GatePlan gateOf(Map<String, Object> m) {
        return m == null ? null : GatePlan.of(m.get("gate"));
    }

    /** Reads a node's additional_data (null or partial too). */
    public static NodeData of(Map<String, Object> m) {
        if (m == null) {
            m = Map.of();
        }
        return new NodeData(m.get("step_index") instanceof Number n ? n.intValue() : 0, DagData.string(m, "step"),
                DagData.strings(m, "tags"), DagData.string(m, "batch"),
                m.get("timeout") instanceof Number n ? n.longValue() : null, DagData.integer(m, "forks"),
                DagData.integer(m, "max_fail_percentage"), DagData.string(m, "where"), gateOf(m));
    }
}
