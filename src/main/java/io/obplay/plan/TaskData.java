package io.obplay.plan;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The typed view of a sub-task's {@code additional_data}: what the sub-task runs and on what. The planner
 * writes it, the renderers show it, the executor runs exactly {@link #script()}.
 *
 * @param server        the server's name ({@code ip:agent_port}, or {@code obproxy:<cluster>/<id>})
 * @param role          observer | obproxy
 * @param host          the host the script runs on
 * @param step          stop | kill | cleanup | shell
 * @param stepIndex     1-based index of the step in the playbook
 * @param script        the POSIX sh script run in one channel on that host
 * @param timeoutSeconds the step's timeout; the script is ended after it
 * @param signals       every signal the script may send, in order, in words
 * @param paths         every path the script may delete
 * @param command       the rendered command of a shell step, the exact launch command of a start step; else null
 * @param ready         a start step: what "ready" is checked against, in words; else null
 * @param library       the script library the script calls (its text is in the DAG's {@code libraries}), or null
 */
public record TaskData(
        String server,
        String role,
        String host,
        String step,
        int stepIndex,
        String script,
        long timeoutSeconds,
        List<String> signals,
        List<String> paths,
        String command,
        String ready,
        String library) {

    public TaskData {
        signals = signals == null ? List.of() : List.copyOf(signals);
        paths = paths == null ? List.of() : List.copyOf(paths);
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("server", server);
        m.put("role", role);
        m.put("host", host);
        m.put("step", step);
        m.put("step_index", stepIndex);
        m.put("timeout", timeoutSeconds);
        m.put("signals", signals);
        m.put("paths", paths);
        if (command != null) {
            m.put("command", command);
        }
        if (ready != null) {
            m.put("ready", ready);
        }
        if (library != null) {
            m.put("library", library);
        }
        m.put("script", script);
        return m;
    }

    /**
     * The whole script as it runs on the host: {@link #script()} with its library, as recorded in the DAG's
     * {@code libraries} (the text that was reviewed, not this build's), put in at the marker line.
     */
    @SuppressWarnings("unchecked")
    public String runnable(Map<String, Object> dagData) {
        if (library == null) {
            return script;
        }
        Object libs = dagData == null ? null : dagData.get("libraries");
        Object text = libs instanceof Map<?, ?> m ? ((Map<String, Object>) m).get(library) : null;
        return Script.withLibrary(script, library, text == null ? null : text.toString());
    }

    @SuppressWarnings("unchecked")
    public static TaskData of(Map<String, Object> m) {
        if (m == null) {
            return null;
        }
        return new TaskData(
                (String) m.get("server"),
                (String) m.get("role"),
                (String) m.get("host"),
                (String) m.get("step"),
                ((Number) m.getOrDefault("step_index", 0)).intValue(),
                (String) m.get("script"),
                ((Number) m.getOrDefault("timeout", 0)).longValue(),
                (List<String>) m.get("signals"),
                (List<String>) m.get("paths"),
                (String) m.get("command"),
                (String) m.get("ready"),
                (String) m.get("library"));
    }
}
