package io.obplay.plan;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/** obshell's NodeDetailDTO: one stage of a DAG; its sub-tasks run in parallel, one per host. */
public record Node(
        String id,
        long nodeId,
        String name,
        State state,
        Operator operator,
        OffsetDateTime startTime,
        OffsetDateTime endTime,
        Map<String, Object> additionalData,
        List<SubTask> subTasks) {

    public Node {
        additionalData = FrozenData.of(additionalData);
        subTasks = subTasks == null ? List.of() : List.copyOf(subTasks);
    }

    public Node withSubTasks(List<SubTask> tasks) {
        return new Node(id, nodeId, name, state, operator, startTime, endTime, additionalData, tasks);
    }

    public Node withState(State s, Operator op, OffsetDateTime start, OffsetDateTime end) {
        return new Node(id, nodeId, name, s, op, start, end, additionalData, subTasks);
    }

    public Node withIds(String genericId, long localId) {
        return new Node(genericId, localId, name, state, operator, startTime, endTime, additionalData, subTasks);
    }
}
