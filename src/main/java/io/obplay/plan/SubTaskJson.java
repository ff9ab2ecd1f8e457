package io.obplay.plan;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.core.io.SerializedString;
import io.obplay.inventory.Server;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The obshell JSON of a stage's sub-tasks for every server that shares one {@link ScriptTemplate}: written once by
 * {@link ObshellStream}'s own calls, with marker values where a server's id, task id, name, host and agent port go
 * (and the script's quoted name and host), at the depth sub-tasks are written at, then cut at the markers. A
 * server's sub-task is the pieces with its values, JSON-escaped, in between: the same text the calls write for it
 * (the indentation and separators inside a sub-task do not depend on the server), at a fraction of the cost.
 *
 * <p>{@link #of} gives null when a marker is not found exactly where it was put (a home or path that holds the
 * marker characters itself): {@link LazyPlan} then writes that template's sub-tasks call by call.
 */
final class SubTaskJson {
    /** What goes between two pieces. */
    private enum Value { ID, TASK_ID, NAME, HOST, SCRIPT_NAME, SCRIPT_HOST, PORT }

    // Markers: private-use characters JSON writes as they are (strings), or numbers no plan has (numbers).
    private static final String ID = "\uE000id\uE001";
    private static final String NAME = "\uE000name\uE001";
    private static final String HOST = "\uE000host\uE001";
    private static final String SCRIPT_NAME = "\uE000sname\uE001";
    private static final String SCRIPT_HOST = "\uE000shost\uE001";
    private static final long TASK_ID = 918_273_645_546_372_819L;
    private static final int PORT = 1_928_374_655;

    private final SerializableString first;
    private final List<Value> values;
    private final List<SerializableString> pieces;  // pieces.get(i) follows values.get(i)

    private SubTaskJson(SerializableString first, List<Value> values, List<SerializableString> pieces) {
        this.first = first;
        this.values = List.copyOf(values);
        this.pieces = List.copyOf(pieces);
    }

    /** What a sub-task of the stage writes that is not the server's: the arguments of {@link ObshellStream}'s calls. */
    record Shape(String taskName, String role, String step, int stepIndex, long timeout) {
    }

    /** The pieces for {@code template}'s sub-tasks in a stage of {@code shape}, or null (see above). */
    static SubTaskJson of(Shape shape, ScriptTemplate template) {
        String text = probe(shape, template);
        // the second sub-task of a node: its separator from the first, then the sub-task from its '{'
        int open = text.indexOf('{');
        if (open < 0 || !text.substring(0, open).matches(",[ \n]*")) {
            return null;
        }
        text = text.substring(open);
        List<Value> values = new ArrayList<>();
        List<SerializableString> pieces = new ArrayList<>();
        SerializableString first = null;
        int from = 0;
        while (true) {
            int at = -1;
            Value value = null;
            String marker = null;
            for (Value v : Value.values()) {
                String m = marker(v);
                int i = text.indexOf(m, from);
                if (i >= 0 && (at < 0 || i < at)) {
                    at = i;
                    value = v;
                    marker = m;
                }
            }
            SerializableString piece = new SerializedString(text.substring(from, at < 0 ? text.length() : at));
            if (first == null) {
                first = piece;
            } else {
                pieces.add(piece);
            }
            if (at < 0) {
                break;
            }
            values.add(value);
            from = at + marker.length();
        }
        List<Value> expected = template.hasHoles()
                ? List.of(Value.ID, Value.TASK_ID, Value.NAME, Value.HOST, Value.SCRIPT_NAME, Value.SCRIPT_HOST, Value.HOST, Value.PORT)
                : List.of(Value.ID, Value.TASK_ID, Value.NAME, Value.HOST, Value.HOST, Value.PORT);
        if (!values.equals(expected) || strayMarker(text)) {
            return null;
        }
        return new SubTaskJson(first, values, pieces);
    }

    /** Whether the text holds a marker character outside the markers: a home or path of the server's own. */
    private static boolean strayMarker(String text) {
        String rest = text;
        for (Value v : Value.values()) {
            rest = rest.replace(marker(v), "");
        }
        return rest.indexOf('\uE000') >= 0 || rest.indexOf('\uE001') >= 0;
    }

    private static String marker(Value v) {
        return switch (v) {
            case ID -> ID;
            case TASK_ID -> Long.toString(TASK_ID);
            case NAME -> NAME;
            case HOST -> HOST;
            case SCRIPT_NAME -> SCRIPT_NAME;
            case SCRIPT_HOST -> SCRIPT_HOST;
            case PORT -> Integer.toString(PORT);
        };
    }

    /** Two sub-tasks with marker values, written by ObshellStream inside a DAG's node; the text of the second. */
    private static String probe(Shape shape, ScriptTemplate t) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = ObshellStream.generator(out)) {
            g.writeStartObject();
            g.writeArrayFieldStart("nodes");
            g.writeStartObject();
            g.writeArrayFieldStart("sub_tasks");
            probeTask(g, shape, t);
            g.flush();
            int start = out.getBuffer().length();
            probeTask(g, shape, t);
            g.flush();
            return out.getBuffer().substring(start);
        } catch (IOException e) {
            throw new UncheckedIOException(e);  // a StringWriter does not throw
        }
    }

    private static void probeTask(JsonGenerator g, Shape shape, ScriptTemplate t) throws IOException {
        ObshellStream.taskStart(g, ID, TASK_ID, shape.taskName(), State.PENDING, Operator.RUN, Times.UNSET, Times.UNSET);
        ObshellStream.taskDataHead(g, NAME, shape.role(), HOST, shape.step(), shape.stepIndex(), shape.timeout(),
                t.signals(), t.paths(), t.command(), t.ready(), t.library());
        if (t.hasHoles()) {
            String text = t.text();
            g.writeString(text.substring(0, t.nameAt()) + SCRIPT_NAME + text.substring(t.nameAt(), t.hostAt()) + SCRIPT_HOST
                    + text.substring(t.hostAt()));
        } else {
            g.writeString(t.text());
        }
        g.writeEndObject();
        ObshellStream.taskEnd(g, 0, new ExecuteAgent(HOST, PORT), List.of());
    }

    /** Writes the sub-task of {@code s}, whose id is {@code id} and task id {@code taskId}, as the next value of the array. */
    void write(JsonGenerator g, String id, long taskId, Server s) throws IOException {
        g.writeRawValue(first);
        String host = null;
        for (int i = 0; i < values.size(); i++) {
            switch (values.get(i)) {
                case ID -> g.writeRaw(id);
                case TASK_ID -> g.writeRaw(Long.toString(taskId));
                case NAME -> g.writeRaw(escaped(s.name()));
                case HOST -> g.writeRaw(host == null ? host = escaped(s.host()) : host);
                case SCRIPT_NAME -> g.writeRaw(escaped(StepScripts.quote(s.name())));
                case SCRIPT_HOST -> g.writeRaw(escaped(StepScripts.quote(s.host())));
                case PORT -> g.writeRaw(Integer.toString(s.agentPort()));
            }
            g.writeRaw(pieces.get(i));
        }
    }

    /** A string's JSON escapes, as the generator writes them inside quotes. */
    static String escaped(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7F) {
                return new String(JsonStringEncoder.getInstance().quoteAsString(s));
            }
        }
        return s;  // nothing to escape: the common case (hosts, ip:port names, quoted names) without a copy
    }
}
