package io.obplay.plan;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;

/**
 * obshell's TaskDetailDTO: the work of one node on one host. {@code additionalData} holds exactly what it
 * runs: the server, the step, the script, every signal and every path (see {@link TaskData}). {@code ranBy} is the
 * obplay instance ({@code pid@host}) that claimed it and runs or ran it, as the store records it; null before any
 * did (and again once it is PENDING for anyone to claim).
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
        List<String> taskLogs,
        String ranBy) {

    /** A sub-task no instance has claimed or run yet ({@code ranBy} null). */
    public SubTask(String id, long taskId, String name, State state, Operator operator, OffsetDateTime startTime,
                   OffsetDateTime endTime, Map<String, Object> additionalData, int executeTimes, ExecuteAgent executeAgent,
                   List<String> taskLogs) {
        this(id, taskId, name, state, operator, startTime, endTime, additionalData, executeTimes, executeAgent, taskLogs, null);
    }

    public SubTask {
        additionalData = FrozenData.of(additionalData);
        taskLogs = taskLogs == null ? List.of() : List.copyOf(taskLogs);
    }

    public TaskData data() {
        return TaskData.of(additionalData);
    }

    public SubTask withState(State s, Operator op, OffsetDateTime start, OffsetDateTime end, int times, List<String> logs) {
        return new SubTask(id, taskId, name, s, op, start, end, additionalData, times, executeAgent, logs, ranBy);
    }

    public SubTask withIds(String genericId, long localId) {
        return new SubTask(genericId, localId, name, state, operator, startTime, endTime, additionalData, executeTimes, executeAgent, taskLogs, ranBy);
    }

    /** This sub-task as claimed by (or run by) {@code instance}. */
    public SubTask withRanBy(String instance) {
        return new SubTask(id, taskId, name, state, operator, startTime, endTime, additionalData, executeTimes, executeAgent, taskLogs, instance);
    }
}
