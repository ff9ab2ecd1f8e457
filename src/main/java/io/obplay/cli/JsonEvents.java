package io.obplay.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;
import io.obplay.run.Outcome;
import io.obplay.run.RunListener;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code --json}: one JSON object per line on stdout for each event; each line is whole, even on failure. */
final class JsonEvents implements RunListener {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final PrintWriter out;

    JsonEvents(PrintWriter out) {
        this.out = out;
    }

    synchronized void emit(Map<String, Object> event) {
        try {
            out.println(MAPPER.writeValueAsString(event));
            out.flush();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, Object> event(String name, Dag dag) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("event", name);
        m.put("time", Times.format(Times.now()));
        m.put("dag", dag.id());
        return m;
    }

    @Override
    public void dagStarted(Dag dag) {
        Map<String, Object> m = event("dag_started", dag);
        m.put("dag_id", dag.dagId());
        m.put("name", dag.name());
        m.put("max_stage", dag.maxStage());
        m.put("sub_tasks", dag.subTaskCount());
        emit(m);
    }

    @Override
    public void stageStarted(Dag dag, int stage, Node node) {
        Map<String, Object> m = event("stage_started", dag);
        m.put("stage", stage);
        m.put("node", node.id());
        m.put("name", node.name());
        m.put("sub_tasks", node.subTasks().size());
        emit(m);
    }

    @Override
    public void subTaskTimed(Node node, SubTask task, io.obplay.run.Timings times) {
        timed.put(task.taskId(), times);
    }

    /** The times of the sub-tasks told by {@link #subTaskTimed} and not yet finished. */
    private final java.util.concurrent.ConcurrentHashMap<Long, io.obplay.run.Timings> timed = new java.util.concurrent.ConcurrentHashMap<>();

    private static double ms(Duration d) {
        return Math.round(d.toNanos() / 1e5) / 10.0;
    }

    @Override
    public void subTaskFinished(Node node, SubTask task, Outcome outcome) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("event", "sub_task_finished");
        m.put("time", Times.format(Times.now()));
        m.put("node", node.id());
        m.put("sub_task", task.id());
        m.put("name", task.name());
        m.put("server", task.data() == null ? null : task.data().server());
        m.put("host", task.executeAgent().ip());
        m.put("state", task.state().name());
        m.put("outcome", outcome.name().toLowerCase());
        m.put("execute_times", task.executeTimes());
        if (!task.startTime().equals(Times.UNSET) && !task.endTime().equals(Times.UNSET)) {
            m.put("elapsed_ms", Duration.between(task.startTime(), task.endTime()).toMillis());
        }
        io.obplay.run.Timings times = timed.remove(task.taskId());
        if (times != null) {  // where that time went (see io.obplay.run.Timings)
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("record_ms", ms(times.record()));
            t.put("connect_ms", ms(times.connect()));
            t.put("channel_ms", ms(times.channel()));
            t.put("script_ms", ms(times.script()));
            m.put("times", t);
        }
        m.put("last_log", task.taskLogs().isEmpty() ? null : task.taskLogs().get(task.taskLogs().size() - 1));
        emit(m);
    }

    @Override
    public void stageFinished(Dag dag, int stage, Node node) {
        Map<String, Object> m = event("stage_finished", dag);
        m.put("stage", stage);
        m.put("node", node.id());
        m.put("state", node.state().name());
        emit(m);
    }

    void dagFinished(Dag dag, int exitCode) {
        Map<String, Object> m = event("dag_finished", dag);
        m.put("state", dag.state().name());
        m.put("operator", dag.operator().name());
        m.put("stage", dag.stage());
        m.put("exit_code", exitCode);
        emit(m);
    }
}
