package io.obplay.plan;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/**
 * obshell's TaskDetailDTO: the work of one node on one host. {@code additionalData} holds exactly what it
 * runs: the server, the step, the script, every signal and every path (see {@link TaskData}).
 */
public record SubTask(
        String id,
        long taskId,
        String name,
        State state,
        Operator operator,
        OffsetDateTime startTime,
        OffsetDateTime endTime,
        Map<String, Object> additionalData,
        int executeTimes,
        ExecuteAgent executeAgent,
        List<String> taskLogs) {

    public SubTask {
        additionalData = additionalData == null ? null : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(additionalData));
        taskLogs = taskLogs == null ? List.of() : List.copyOf(taskLogs);
    }

    public TaskData data() {
        return TaskData.of(additionalData);
    }

    public SubTask withState(State s, Operator op, OffsetDateTime start, OffsetDateTime end, int times, List<String> logs) {
        return new SubTask(id, taskId, name, s, op, start, end, additionalData, times, executeAgent, logs);
    }

    public SubTask withIds(String genericId, long localId) {
        return new SubTask(genericId, localId, name, state, operator, startTime, endTime, additionalData, executeTimes, executeAgent, taskLogs);
    }
}
