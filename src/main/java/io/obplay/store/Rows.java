package io.obplay.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.obplay.plan.Dag;
import io.obplay.plan.ExecuteAgent;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;

/**
 * Row mapping shared by the JDBC stores (SQLite and MySQL protocol): column lists, result-set rows to records, and the text forms of
 * times and additional_data.
 *
 * <ul>
 *   <li>Times are ISO-8601 strings with offset ({@link DateTimeFormatter#ISO_OFFSET_DATE_TIME}), which keep
 *       the offset and every nanosecond; obshell's unset time (year 1) is stored as such, a null time as SQL
 *       NULL.</li>
 *   <li>additional_data is JSON text; it reads back as the map Jackson gives (ints as Integer, larger as
 *       Long, lists as lists, objects as maps, in order), parsed when first read; null stays SQL NULL, an empty
 *       map stays "{}".</li>
 * </ul>
 */
public final class Rows {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final String DAG_COLUMNS = "d.id, d.generic_id, d.name, d.stage, d.max_stage, d.maintenance_type, "
            + "d.maintenance_key, d.state, d.operator, d.start_time, d.end_time, d.additional_data";
    public static final String NODE_COLUMNS = "n.id, n.generic_id, n.name, n.state, n.operator, n.start_time, n.end_time, "
            + "n.additional_data";
    public static final String TASK_COLUMNS = "t.id, t.generic_id, t.name, t.state, t.operator, t.start_time, t.end_time, "
            + "t.additional_data, t.execute_times, t.agent_ip, t.agent_port, t.ran_by";

    private Rows() {
    }

    /** A DAG row selected with {@link #DAG_COLUMNS}, without nodes. */
    public static Dag dag(ResultSet rs) throws SQLException {
        return new Dag(
                rs.getString(2),
                rs.getLong(1),
                rs.getString(3),
                rs.getInt(4),
                rs.getInt(5),
                rs.getInt(6),
                rs.getString(7),
                State.valueOf(rs.getString(8)),
                Operator.valueOf(rs.getString(9)),
                time(rs.getString(10)),
                time(rs.getString(11)),
                map(rs.getString(12)),
                List.of());
    }

    /** A node row selected with {@link #NODE_COLUMNS}, with the given sub-tasks. */
    public static Node node(ResultSet rs, List<SubTask> subTasks) throws SQLException {
        return new Node(
                rs.getString(2),
                rs.getLong(1),
                rs.getString(3),
                State.valueOf(rs.getString(4)),
                Operator.valueOf(rs.getString(5)),
                time(rs.getString(6)),
                time(rs.getString(7)),
                map(rs.getString(8)),
                subTasks);
    }

    /** A sub-task row selected with {@link #TASK_COLUMNS}, with the given log lines. */
    public static SubTask subTask(ResultSet rs, List<String> logs) throws SQLException {
        String agentIp = rs.getString(10);
        int agentPort = rs.getInt(11);
        boolean noAgent = rs.wasNull() && agentIp == null;
        return new SubTask(
                rs.getString(2),
                rs.getLong(1),
                rs.getString(3),
                State.valueOf(rs.getString(4)),
                Operator.valueOf(rs.getString(5)),
                time(rs.getString(6)),
                time(rs.getString(7)),
                map(rs.getString(8)),
                rs.getInt(9),
                noAgent ? null : new ExecuteAgent(agentIp, agentPort),
                logs,
                rs.getString(12));
    }

    public static String time(OffsetDateTime t) {
        return t == null ? null : DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(t);
    }

    public static OffsetDateTime time(String s) {
        return s == null ? null : OffsetDateTime.parse(s, DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    }

    public static String json(Map<String, Object> m) {
        if (m == null) {
            return null;
        }
        if (m instanceof StoredJson stored) {
            return stored.json();
        }
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("additional_data is not JSON-serializable: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * Stored additional_data as a map, parsed when first read ({@link StoredJson}: a DAG read only to be answered
     * is written out as stored, without a parse and a re-serialization).
     */
    public static Map<String, Object> map(String s) {
        return s == null ? null : new StoredJson(s);
    }

    public static String name(Enum<?> e) {
        return e == null ? null : e.name();
    }
}
