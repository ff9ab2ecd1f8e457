package io.obplay.plan;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/**
 * obshell's DagDetailDTO: nodes run stage after stage; {@code stage} is the 1-based index of the node now
 * running, {@code maxStage} the number of nodes.
 */
public record Dag(
        String id,
        long dagId,
        String name,
        int stage,
        int maxStage,
        int maintenanceType,
        String maintenanceKey,
        State state,
        Operator operator,
        OffsetDateTime startTime,
        OffsetDateTime endTime,
        Map<String, Object> additionalData,
        List<Node> nodes) {

    /** obshell's maintenance types. */
    public static final int MAINTENANCE_NONE = 1;
    public static final int MAINTENANCE_GLOBAL = 2;
    public static final int MAINTENANCE_OBPROXY = 4;

    public Dag {
        additionalData = FrozenData.of(additionalData);
        nodes = nodes == null ? List.of() : List.copyOf(nodes);
    }

    public Dag withNodes(List<Node> ns) {
        return new Dag(id, dagId, name, stage, maxStage, maintenanceType, maintenanceKey, state, operator, startTime, endTime, additionalData, ns);
    }

    public Dag withState(int stg, State s, Operator op, OffsetDateTime start, OffsetDateTime end) {
        return new Dag(id, dagId, name, stg, maxStage, maintenanceType, maintenanceKey, s, op, start, end, additionalData, nodes);
    }

    public Dag withIds(String genericId, long localId) {
        return new Dag(genericId, localId, name, stage, maxStage, maintenanceType, maintenanceKey, state, operator, startTime, endTime, additionalData, nodes);
    }

    public int subTaskCount() {
        return nodes.stream().mapToInt(n -> n.subTasks().size()).sum();
    }

    public boolean finished() {
        return state.finished();
    }
}
