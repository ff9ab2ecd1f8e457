package io.obplay.store.sqlite;

import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.TaskData;
import io.obplay.plan.Times;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SqliteStoreTest {
    @TempDir
    Path tmp;

    /** The planned DAG with the ids the store gave {@code stored}, level by level. */
    static Dag withIdsOf(Dag planned, Dag stored) {
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < planned.nodes().size(); i++) {
            Node pn = planned.nodes().get(i);
            Node sn = stored.nodes().get(i);
            List<SubTask> tasks = new ArrayList<>();
            for (int j = 0; j < pn.subTasks().size(); j++) {
                SubTask st = sn.subTasks().get(j);
                tasks.add(pn.subTasks().get(j).withIds(st.id(), st.taskId()));
            }
            nodes.add(pn.withIds(sn.id(), sn.nodeId()).withSubTasks(tasks));
        }
        return planned.withIds(stored.id(), stored.dagId()).withNodes(nodes);
    }

    static List<String> query(Path db, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            List<String> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        }
    }

    /** Deleting a DAG's row (a clean-up by hand) takes its nodes, sub-tasks and logs along: foreign keys cascade. */
    @Test
    void deletingADagCascadesToItsRecords() throws Exception {
        try (SqliteStore store = SqliteStore.open(tmp)) {
            store.insert(Fixtures.planned("one", Dag.MAINTENANCE_NONE, null, 2, 2, 1), Fixtures.AGENT, false);
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + tmp.resolve(SqliteStore.FILE_NAME));
             Statement s = c.createStatement()) {
            s.execute("PRAGMA foreign_keys = ON");
            s.executeUpdate("DELETE FROM dags WHERE id = 1");
        }
        Path db = tmp.resolve(SqliteStore.FILE_NAME);
        assertEquals("0", query(db, "SELECT COUNT(*) FROM nodes WHERE dag_id = 1").get(0));
        assertEquals("0", query(db, "SELECT COUNT(*) FROM sub_tasks").get(0));
        assertEquals("0", query(db, "SELECT COUNT(*) FROM task_logs").get(0));
    }

    @Test
    void openSetsUpAPrivateWalDatabaseWithASchemaVersion() throws Exception {
        Path dir = tmp.resolve("state/nested");
        try (SqliteStore store = SqliteStore.open(dir)) {
            assertEquals(dir.resolve("obplay.db"), store.file());
            assertTrue(store.dags(5).isEmpty());
        }
        Path db = dir.resolve(SqliteStore.FILE_NAME);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(db)));
        assertEquals(List.of("wal"), query(db, "PRAGMA journal_mode"));
        assertEquals(List.of("1", "2"), query(db, "SELECT version FROM schema_version ORDER BY version"));
        assertEquals(List.of("dags", "instances", "nodes", "schema_version", "sub_tasks", "task_logs"),
                query(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"));
        assertTrue(query(db, "SELECT sql FROM sqlite_master WHERE name = 'dags'").get(0).contains("owner"));

        try (SqliteStore store = SqliteStore.open(dir)) {
            assertEquals(List.of("2"), query(db, "SELECT COUNT(*) FROM schema_version"), "re-open does not migrate again");
            assertEquals(2, SqliteStore.schemaVersion());
            assertTrue(store.dags(1).isEmpty());
        }
        // a file from a newer obplay is refused, not damaged
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
            s.execute("INSERT INTO schema_version (version, applied_at) VALUES (99, 'later')");
        }
        SqliteStore.StoreException e = assertThrows(SqliteStore.StoreException.class, () -> SqliteStore.open(dir));
        assertTrue(e.getMessage().contains("schema version 99"), e.getMessage());
        assertEquals(List.of("1", "2", "99"), query(db, "SELECT version FROM schema_version ORDER BY version"));
    }

    @Test
    void pragmasOfTheStoreConnection() throws Exception {
        try (SqliteStore store = SqliteStore.open(tmp)) {
            // synchronous, busy_timeout and foreign_keys are per connection: look at the store's own
            java.lang.reflect.Field f = SqliteStore.class.getDeclaredField("conn");
            f.setAccessible(true);
            Connection c = (Connection) f.get(store);
            try (Statement s = c.createStatement()) {
                assertEquals(2, intPragma(s, "synchronous"), "FULL");
                assertEquals(SqliteStore.BUSY_TIMEOUT_MS, intPragma(s, "busy_timeout"));
                assertEquals(1, intPragma(s, "foreign_keys"));
                try (ResultSet rs = s.executeQuery("PRAGMA journal_mode")) {
                    rs.next();
                    assertEquals("wal", rs.getString(1));
                }
            }
        }
    }

    private static int intPragma(Statement s, String name) throws SQLException {
        try (ResultSet rs = s.executeQuery("PRAGMA " + name)) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
