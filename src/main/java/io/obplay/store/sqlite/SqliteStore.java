package io.obplay.store.sqlite;

import io.obplay.plan.Dag;
import io.obplay.plan.ExecuteAgent;
import io.obplay.plan.Node;
import io.obplay.plan.SubTask;
import io.obplay.store.Change;
import io.obplay.store.IdScheme;
import io.obplay.store.Refusal;
import io.obplay.store.Refused;
import io.obplay.store.Rows;
import io.obplay.store.Store;
import io.obplay.store.Transition;
import io.obplay.store.UnderMaintenanceException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;

/**
 * The {@link Store} in one SQLite file, {@code <stateDir>/obplay.db}, shared by every obplay process on the
 * machine (a {@code run} writing while a CLI {@code dag show} or a {@code serve} reads).
 *
 * <p>The {@link Store} interface is the seam for another JDBC database (say MySQL mode of OceanBase itself for
 * a shared, multi-machine state): all SQL is in this class and {@link Rows}; only the pragmas, {@code BEGIN
 * IMMEDIATE} and {@code AUTOINCREMENT} are SQLite's own.
 *
 * <p>How it stays whole and correct:
 * <ul>
 *   <li>WAL journal: readers never block the writer nor see half a transaction; a process killed mid-write
 *       leaves the last committed state. The file must be on a local file system (WAL needs shared memory).</li>
 *   <li>{@code synchronous=FULL}: each commit is fsynced. This store is the record of destructive steps
 *       (kills, deleted directories) and holds the maintenance lock, so a commit that told the caller "you
 *       hold the lock" must survive an OS crash or power loss too, not only a process crash (which NORMAL
 *       already survives). Writes that arrive together share a commit (see {@link #tx}), so 200 hosts
 *       finishing at once cost a few fsyncs, not 200 in a row.</li>
 *   <li>{@code busy_timeout} of {@value #BUSY_TIMEOUT_MS} ms: another process's write makes us wait, not fail.</li>
 *   <li>One connection, every method one transaction (or one savepoint of a group commit) under one lock; writes start with {@code BEGIN IMMEDIATE},
 *       which takes SQLite's single write lock up front, so a check-then-insert (the maintenance lock) is
 *       atomic across threads and processes, and no write ever fails on a stale read snapshot.</li>
 *   <li>Ids come from {@code AUTOINCREMENT} columns, one sequence per table, never reused.</li>
 * </ul>
 */
public final class SqliteStore implements Store {
    public static final String FILE_NAME = "obplay.db";
    static final int BUSY_TIMEOUT_MS = 30_000;

    /** Schema migrations; version N is {@code MIGRATIONS.get(N - 1)}. Append, never edit a released one. */
    static final List<List<String>> MIGRATIONS = List.of(List.of(
            """
            CREATE TABLE dags (
                id               INTEGER PRIMARY KEY AUTOINCREMENT,
                generic_id       TEXT    NOT NULL,
                name             TEXT,
                stage            INTEGER NOT NULL,
                max_stage        INTEGER NOT NULL,
                maintenance_type INTEGER NOT NULL,
                maintenance_key  TEXT,
                state            TEXT    NOT NULL,
                operator         TEXT    NOT NULL,
                start_time       TEXT,
                end_time         TEXT,
                additional_data  TEXT,
                owner            TEXT
            )""",
            "CREATE INDEX dags_maintenance ON dags (maintenance_key, id) WHERE maintenance_type <> 1",
            "CREATE INDEX dags_state ON dags (state)",
            """
            CREATE TABLE nodes (
                id               INTEGER PRIMARY KEY AUTOINCREMENT,
                dag_id           INTEGER NOT NULL REFERENCES dags (id) ON DELETE CASCADE,
                generic_id       TEXT    NOT NULL,
                name             TEXT,
                state            TEXT    NOT NULL,
                operator         TEXT    NOT NULL,
                start_time       TEXT,
                end_time         TEXT,
                additional_data  TEXT
            )""",
            "CREATE INDEX nodes_dag ON nodes (dag_id, id)",
            """
            CREATE TABLE sub_tasks (
                id               INTEGER PRIMARY KEY AUTOINCREMENT,
                node_id          INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
                generic_id       TEXT    NOT NULL,
                name             TEXT,
                state            TEXT    NOT NULL,
                operator         TEXT    NOT NULL,
                start_time       TEXT,
                end_time         TEXT,
                additional_data  TEXT,
                execute_times    INTEGER NOT NULL DEFAULT 0,
                agent_ip         TEXT,
                agent_port       INTEGER
            )""",
            "CREATE INDEX sub_tasks_node ON sub_tasks (node_id, id)",
            """
            CREATE TABLE task_logs (
                task_id          INTEGER NOT NULL REFERENCES sub_tasks (id) ON DELETE CASCADE,
                seq              INTEGER NOT NULL,
                line             TEXT    NOT NULL,
                PRIMARY KEY (task_id, seq)
            ) WITHOUT ROWID"""),
            // 2: work spread over instances (as the MySQL store's): who claimed and ran a sub-task, who declined it
            List.of(
                    "ALTER TABLE sub_tasks ADD COLUMN ran_by TEXT",
                    "ALTER TABLE sub_tasks ADD COLUMN declined_by TEXT",
                    "CREATE TABLE instances (name TEXT PRIMARY KEY, lease_until INTEGER NOT NULL)"));

    /** Holds the maintenance lock: unfinished, or FAILED and not passed (PASS ends a DAG SUCCEED). */
    private static final String HOLDS_LOCK = "(d.state IN ('PENDING', 'READY', 'RUNNING') "
            + "OR (d.state = 'FAILED' AND d.operator <> 'PASS'))";
    private static final String IS_MAINTENANCE = "d.maintenance_type <> " + Dag.MAINTENANCE_NONE;

    private final Path file;
    private final Object lock = new Object();
    private Connection conn;

    private SqliteStore(Path file, Connection conn) {
        this.file = file;
        this.conn = conn;
    }

    /** Opens (creating if needed) {@code <stateDir>/obplay.db}, and brings its schema up to date. */
    public static SqliteStore open(Path stateDir) {
        return openFile(stateDir.resolve(FILE_NAME));
    }

    /** Opens (creating if needed) the database {@code file} ({@code --store sqlite:FILE}), and brings its schema up to date. */
    public static SqliteStore openFile(Path file) {
        Path stateDir = file.toAbsolutePath().getParent();
        try {
            boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
            if (!Files.isDirectory(stateDir)) {
                Files.createDirectories(stateDir, posix ? new FileAttribute<?>[] {perms("rwx------")} : new FileAttribute<?>[0]);
            }
            // SQLite gives its -wal and -shm files the database file's permissions: create it private first.
            if (posix && !Files.exists(file)) {
                try {
                    Files.createFile(file, perms("rw-------"));
                } catch (FileAlreadyExistsException raced) {
                    // another process created it just now
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the state directory " + stateDir, e);
        }
        NativeLibrary.useFrom(stateDir);
        Connection c = null;
        try {
            c = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath());
            try (Statement s = c.createStatement()) {
                s.execute("PRAGMA busy_timeout = " + BUSY_TIMEOUT_MS);
                try (ResultSet rs = s.executeQuery("PRAGMA journal_mode = WAL")) {
                    String mode = rs.next() ? rs.getString(1) : "?";
                    if (!"wal".equalsIgnoreCase(mode)) {
                        throw new SQLException("cannot switch " + file + " to WAL journal mode (got " + mode + ")");
                    }
                }
                s.execute("PRAGMA synchronous = FULL");
                s.execute("PRAGMA foreign_keys = ON");
            }
            SqliteStore store = new SqliteStore(file, c);
            store.migrate();
            return store;
        } catch (SQLException | RuntimeException e) {
            if (c != null) {
                try {
                    c.close();
                } catch (SQLException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new StoreException("cannot open " + file, (SQLException) e);
        }
    }

    private static FileAttribute<?> perms(String p) {
        return PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(p));
    }

    /** The database file. */
    public Path file() {
        return file;
    }

    /** The schema version this code writes. */
    public static int schemaVersion() {
        return MIGRATIONS.size();
    }

    private void migrate() {
        tx(true, c -> {
            exec(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
            int current;
            try (Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(version), 0) FROM schema_version")) {
                rs.next();
                current = rs.getInt(1);
            }
            if (current > MIGRATIONS.size()) {
                throw new StoreException(file + " has schema version " + current + ", newer than this obplay knows ("
                        + MIGRATIONS.size() + "); use a newer obplay");
            }
            for (int v = current + 1; v <= MIGRATIONS.size(); v++) {
                for (String sql : MIGRATIONS.get(v - 1)) {
                    exec(c, sql);
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)")) {
                    ps.setInt(1, v);
                    ps.setString(2, Rows.time(OffsetDateTime.now()));
                    ps.executeUpdate();
                }
            }
            return null;
        });
    }

    // ---------------------------------------------------------------------------------------------- writes

    private record Inserted(Dag dag, Dag holder) {
    }

    @Override
    public Dag insert(Dag planned, IdScheme ids, boolean exclusive, String owner) throws UnderMaintenanceException {
        Inserted r = tx(true, c -> {
            if (exclusive && planned.maintenanceType() != Dag.MAINTENANCE_NONE) {
                Optional<Dag> holder = lockHolder(c, planned.maintenanceKey());
                if (holder.isPresent()) {
                    return new Inserted(null, holder.get());
                }
            }
            long dagId = insertRow(c, "INSERT INTO dags (generic_id, name, stage, max_stage, maintenance_type, "
                            + "maintenance_key, state, operator, start_time, end_time, additional_data, owner) "
                            + "VALUES ('', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    planned.name(), planned.stage(), planned.maxStage(), planned.maintenanceType(),
                    planned.maintenanceKey(), Rows.name(planned.state()), Rows.name(planned.operator()),
                    Rows.time(planned.startTime()), Rows.time(planned.endTime()), Rows.json(planned.additionalData()),
                    owner);
            String dagGeneric = ids.generic(dagId);
            update(c, "UPDATE dags SET generic_id = ? WHERE id = ?", dagGeneric, dagId);
            List<Node> nodes = new ArrayList<>();
            for (Node n : planned.nodes()) {
                long nodeId = insertRow(c, "INSERT INTO nodes (dag_id, generic_id, name, state, operator, start_time, "
                                + "end_time, additional_data) VALUES (?, '', ?, ?, ?, ?, ?, ?)",
                        dagId, n.name(), Rows.name(n.state()), Rows.name(n.operator()),
                        Rows.time(n.startTime()), Rows.time(n.endTime()), Rows.json(n.additionalData()));
                String nodeGeneric = ids.generic(nodeId);
                update(c, "UPDATE nodes SET generic_id = ? WHERE id = ?", nodeGeneric, nodeId);
                List<SubTask> tasks = new ArrayList<>();
                for (SubTask t : n.subTasks()) {
                    ExecuteAgent agent = t.executeAgent();
                    long taskId = insertRow(c, "INSERT INTO sub_tasks (node_id, generic_id, name, state, operator, "
                                    + "start_time, end_time, additional_data, execute_times, agent_ip, agent_port) "
                                    + "VALUES (?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            nodeId, t.name(), Rows.name(t.state()), Rows.name(t.operator()),
                            Rows.time(t.startTime()), Rows.time(t.endTime()), Rows.json(t.additionalData()),
                            t.executeTimes(), agent == null ? null : agent.ip(), agent == null ? null : agent.port());
                    String taskGeneric = ids.generic(taskId);
                    update(c, "UPDATE sub_tasks SET generic_id = ? WHERE id = ?", taskGeneric, taskId);
                    appendLogs(c, taskId, t.taskLogs());
                    tasks.add(t.withIds(taskGeneric, taskId));
                }
                nodes.add(n.withIds(nodeGeneric, nodeId).withSubTasks(tasks));
            }
            return new Inserted(planned.withIds(dagGeneric, dagId).withNodes(nodes), null);
        });
        if (r.holder() != null) {
            throw new UnderMaintenanceException(r.holder());
        }
        return r.dag();
    }

    @Override
    public void updateDag(Dag dag) {
        tx(true, c -> updateDag(c, dag));
    }

    @Override
    public void updateNode(Node node) {
        tx(true, c -> updateNode(c, node));
    }

    @Override
    public void updateSubTask(SubTask task, List<String> newLogs) {
        tx(true, c -> updateSubTask(c, task, newLogs));
    }

    private static Void updateDag(Connection c, Dag dag) throws SQLException {
        return mustUpdate(c, "DAG", dag.dagId(),
                "UPDATE dags SET stage = ?, state = ?, operator = ?, start_time = ?, end_time = ? WHERE id = ?",
                dag.stage(), Rows.name(dag.state()), Rows.name(dag.operator()),
                Rows.time(dag.startTime()), Rows.time(dag.endTime()), dag.dagId());
    }

    private static Void updateNode(Connection c, Node node) throws SQLException {
        return mustUpdate(c, "node", node.nodeId(),
                "UPDATE nodes SET state = ?, operator = ?, start_time = ?, end_time = ? WHERE id = ?",
                Rows.name(node.state()), Rows.name(node.operator()),
                Rows.time(node.startTime()), Rows.time(node.endTime()), node.nodeId());
    }

    /** Saves a sub-task; PENDING is no instance's (its claim and declines are cleared), else its ran_by if given. */
    private static Void updateSubTask(Connection c, SubTask task, List<String> newLogs) throws SQLException {
        String state = Rows.name(task.state());
        mustUpdate(c, "sub-task", task.taskId(),
                "UPDATE sub_tasks SET state = ?, operator = ?, start_time = ?, end_time = ?, execute_times = ?, "
                        + "ran_by = CASE WHEN ? = 'PENDING' THEN NULL ELSE COALESCE(?, ran_by) END, "
                        + "declined_by = CASE WHEN ? = 'PENDING' THEN NULL ELSE declined_by END WHERE id = ?",
                state, Rows.name(task.operator()), Rows.time(task.startTime()),
                Rows.time(task.endTime()), task.executeTimes(), state, task.ranBy(), state, task.taskId());
        appendLogs(c, task.taskId(), newLogs == null ? List.of() : newLogs);
        return null;
    }

    /**
     * Read, decide and write in one write transaction: {@code BEGIN IMMEDIATE} (see {@link #tx}) holds SQLite's
     * write lock across the read and the write, against other threads and other processes alike. A refusal is
     * returned out of the transaction as a value, so nothing is written and nothing rolls back.
     */
    @Override
    public Dag transition(long dagId, Transition t) throws Refused {
        Object r = tx(true, c -> {
            Optional<Dag> found = readDag(c, dagId);
            if (found.isEmpty()) {
                return new Refused(Refusal.NO_SUCH_DAG, "no DAG " + dagId);
            }
            Dag dag = found.get();
            String owner = owner(c, dagId).orElse(null);
            Change change;
            try {
                change = t.decide(dag, owner);
            } catch (Refused refused) {
                return refused;
            }
            if (change == null || change.isEmpty()) {
                return dag;
            }
            write(c, dag, change);
            return readDag(c, dagId).orElseThrow();
        });
        if (r instanceof Refused refused) {
            throw refused;
        }
        return (Dag) r;
    }

    private static void write(Connection c, Dag dag, Change change) throws SQLException {
        java.util.Set<Long> nodeIds = new java.util.HashSet<>();
        java.util.Set<Long> taskIds = new java.util.HashSet<>();
        for (Node n : dag.nodes()) {
            nodeIds.add(n.nodeId());
            n.subTasks().forEach(x -> taskIds.add(x.taskId()));
        }
        if (change.dag() != null) {
            if (change.dag().dagId() != dag.dagId()) {
                throw new IllegalArgumentException("a change of DAG " + dag.dagId() + " writes DAG " + change.dag().dagId());
            }
            updateDag(c, change.dag());
        }
        for (Node n : change.nodes()) {
            if (!nodeIds.contains(n.nodeId())) {
                throw new IllegalArgumentException("a change of DAG " + dag.dagId() + " writes node " + n.nodeId() + " of another");
            }
            updateNode(c, n);
        }
        for (Change.TaskWrite w : change.subTasks()) {
            if (!taskIds.contains(w.task().taskId())) {
                throw new IllegalArgumentException("a change of DAG " + dag.dagId() + " writes sub-task " + w.task().taskId() + " of another");
            }
            updateSubTask(c, w.task(), w.newLogs());
        }
        if (change.setOwner()) {
            mustUpdate(c, "DAG", dag.dagId(), "UPDATE dags SET owner = ? WHERE id = ?", change.owner(), dag.dagId());
        }
    }

    @Override
    public void appendLogs(long taskId, List<String> lines) {
        tx(true, c -> {
            if (!exists(c, "SELECT 1 FROM sub_tasks WHERE id = ?", taskId)) {
                throw new NoSuchElementException("no sub-task " + taskId);
            }
            appendLogs(c, taskId, lines);
            return null;
        });
    }

    @Override
    public void setOwner(long dagId, String owner) {
        tx(true, c -> mustUpdate(c, "DAG", dagId, "UPDATE dags SET owner = ? WHERE id = ?", owner, dagId));
    }

    // ------------------------------------------------------------------------------- work spread over instances
    // One writer at a time (BEGIN IMMEDIATE): each of these is a plain write transaction, atomic against every
    // other thread and process on this file. Presence is on this machine's clock: every instance of a SQLite store
    // runs on this machine.

    @Override
    public void heartbeat(String instance) {
        tx(true, c -> update(c, "INSERT INTO instances (name, lease_until) VALUES (?, ?) "
                + "ON CONFLICT (name) DO UPDATE SET lease_until = excluded.lease_until", instance,
                System.currentTimeMillis() + leaseLength().toMillis()));
    }

    @Override
    public java.util.Set<String> liveInstances() {
        return tx(false, SqliteStore::liveInstances);
    }

    private static java.util.Set<String> liveInstances(Connection c) throws SQLException {
        java.util.Set<String> out = new java.util.TreeSet<>();
        try (PreparedStatement ps = prepare(c, "SELECT name FROM instances WHERE lease_until >= ?", System.currentTimeMillis());
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static String declinedMark(String instance) {
        return "\n" + instance + "\n";
    }

    @Override
    public List<SubTask> claim(long nodeId, String instance, int max) {
        if (max <= 0) {
            return List.of();
        }
        return tx(true, c -> {
            if (!exists(c, "SELECT 1 FROM dags d JOIN nodes n ON n.dag_id = d.id WHERE n.id = ? AND d.state = 'RUNNING' "
                    + "AND d.operator <> 'CANCEL' AND n.state = 'RUNNING'", nodeId)) {
                return List.<SubTask>of();
            }
            List<Long> ids = new ArrayList<>();
            try (PreparedStatement ps = prepare(c, "SELECT id FROM sub_tasks WHERE node_id = ? AND state = 'PENDING' "
                    + "AND ran_by IS NULL AND (declined_by IS NULL OR instr(declined_by, ?) = 0) ORDER BY id LIMIT ?",
                    nodeId, declinedMark(instance), max); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getLong(1));
                }
            }
            List<SubTask> out = new ArrayList<>();
            for (long id : ids) {
                update(c, "UPDATE sub_tasks SET state = 'RUNNING', ran_by = ? WHERE id = ?", instance, id);
                Map<Long, List<String>> logs = logs(c, "WHERE l.task_id = ?", id);
                subTasks(c, "WHERE t.id = ?", logs, id).values().forEach(out::addAll);
            }
            return out;
        });
    }

    @Override
    public boolean updateClaimed(SubTask task, List<String> newLogs, String instance) {
        return tx(true, c -> {
            if (update(c, "UPDATE sub_tasks SET state = ?, operator = ?, start_time = ?, end_time = ?, execute_times = ? "
                            + "WHERE id = ? AND ran_by = ?", Rows.name(task.state()), Rows.name(task.operator()),
                    Rows.time(task.startTime()), Rows.time(task.endTime()), task.executeTimes(), task.taskId(), instance) == 0) {
                return false;
            }
            appendLogs(c, task.taskId(), newLogs == null ? List.of() : newLogs);
            return true;
        });
    }

    @Override
    public Optional<SubTask> decline(long taskId, String instance, String reason) {
        return tx(true, c -> {
            String declined;
            try (PreparedStatement ps = prepare(c, "SELECT declined_by FROM sub_tasks WHERE id = ? AND ran_by = ? "
                    + "AND state = 'RUNNING'", taskId, instance); ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.<SubTask>empty();
                }
                declined = rs.getString(1) == null ? "\n" : rs.getString(1);
            }
            if (!declined.contains(declinedMark(instance))) {
                declined = declined + instance + "\n";
            }
            String line = "declined by obplay " + instance + ": " + reason;
            java.util.Set<String> live = liveInstances(c);
            live.add(instance);
            final String all = declined;
            long declinedLive = live.stream().filter(i -> all.contains(declinedMark(i))).count();
            List<String> lines = new ArrayList<>(List.of(line));
            if (declinedLive == live.size()) {
                List<String> reasons = new ArrayList<>();
                logs(c, "WHERE l.task_id = ?", taskId).getOrDefault(taskId, List.of()).stream()
                        .filter(l -> l.startsWith("declined by obplay ")).forEach(reasons::add);
                reasons.add(line);
                lines.add("FAILED: every live obplay instance (" + live.size() + ") declined it: " + String.join("; ", reasons));
                update(c, "UPDATE sub_tasks SET state = 'FAILED', end_time = ?, declined_by = ? WHERE id = ?",
                        Rows.time(OffsetDateTime.now()), declined, taskId);
            } else {
                lines.add("left to another obplay instance (" + (live.size() - declinedLive) + " live that have not declined it)");
                update(c, "UPDATE sub_tasks SET state = 'PENDING', ran_by = NULL, declined_by = ? WHERE id = ?", declined, taskId);
            }
            appendLogs(c, taskId, lines);
            Map<Long, List<String>> logs = logs(c, "WHERE l.task_id = ?", taskId);
            return subTasks(c, "WHERE t.id = ?", logs, taskId).values().stream().flatMap(List::stream).findFirst();
        });
    }

    // ----------------------------------------------------------------------------------------------- reads

    @Override
    public Optional<Dag> dag(long dagId) {
        return tx(false, c -> readDag(c, dagId));
    }

    private static Optional<Dag> readDag(Connection c, long dagId) throws SQLException {
        Optional<Dag> head = first(dags(c, "WHERE d.id = ?", dagId));
        if (head.isEmpty()) {
            return head;
        }
        Map<Long, List<String>> logs = logs(c, "JOIN sub_tasks t ON t.id = l.task_id JOIN nodes n ON n.id = t.node_id "
                + "WHERE n.dag_id = ?", dagId);
        Map<Long, List<SubTask>> tasks = subTasks(c, "JOIN nodes n ON n.id = t.node_id WHERE n.dag_id = ?", logs, dagId);
        List<Node> nodes = new ArrayList<>();
        try (PreparedStatement ps = prepare(c, "SELECT " + Rows.NODE_COLUMNS + " FROM nodes n WHERE n.dag_id = ? "
                + "ORDER BY n.id", dagId); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                nodes.add(Rows.node(rs, tasks.getOrDefault(rs.getLong(1), List.of())));
            }
        }
        return Optional.of(head.get().withNodes(nodes));
    }

    @Override
    public List<Dag> dags(int limit) {
        if (limit < 0) {
            throw new IllegalArgumentException("limit must not be negative: " + limit);
        }
        return tx(false, c -> dags(c, "ORDER BY d.id DESC LIMIT ?", limit));
    }

    /** Oldest first. */
    @Override
    public List<Dag> unfinished() {
        return tx(false, c -> dags(c, "WHERE d.state IN ('PENDING', 'READY', 'RUNNING') OR (" + IS_MAINTENANCE
                + " AND " + HOLDS_LOCK + ") ORDER BY d.id"));
    }

    @Override
    public Optional<Dag> latestMaintenance(String maintenanceKey) {
        return tx(false, c -> first(dags(c, "WHERE " + IS_MAINTENANCE + " AND d.maintenance_key IS ? "
                + "ORDER BY d.id DESC LIMIT 1", maintenanceKey)));
    }

    @Override
    public Optional<Dag> lockHolder(String maintenanceKey) {
        return tx(false, c -> lockHolder(c, maintenanceKey));
    }

    /** The oldest holder, should non-exclusive inserts have made several. */
    private static Optional<Dag> lockHolder(Connection c, String maintenanceKey) throws SQLException {
        return first(dags(c, "WHERE " + IS_MAINTENANCE + " AND d.maintenance_key IS ? AND " + HOLDS_LOCK
                + " ORDER BY d.id LIMIT 1", maintenanceKey));
    }

    @Override
    public Optional<Node> node(long nodeId) {
        return tx(false, c -> {
            Map<Long, List<String>> logs = logs(c, "JOIN sub_tasks t ON t.id = l.task_id WHERE t.node_id = ?", nodeId);
            Map<Long, List<SubTask>> tasks = subTasks(c, "WHERE t.node_id = ?", logs, nodeId);
            try (PreparedStatement ps = prepare(c, "SELECT " + Rows.NODE_COLUMNS + " FROM nodes n WHERE n.id = ?", nodeId);
                 ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(Rows.node(rs, tasks.getOrDefault(nodeId, List.of()))) : Optional.empty();
            }
        });
    }

    @Override
    public Optional<SubTask> subTask(long taskId) {
        return tx(false, c -> {
            Map<Long, List<String>> logs = logs(c, "WHERE l.task_id = ?", taskId);
            return subTasks(c, "WHERE t.id = ?", logs, taskId).values().stream().flatMap(List::stream).findFirst();
        });
    }

    @Override
    public Optional<Long> dagOfNode(long nodeId) {
        return tx(false, c -> scalarLong(c, "SELECT dag_id FROM nodes WHERE id = ?", nodeId));
    }

    @Override
    public Optional<Long> nodeOfSubTask(long taskId) {
        return tx(false, c -> scalarLong(c, "SELECT node_id FROM sub_tasks WHERE id = ?", taskId));
    }

    @Override
    public Optional<String> owner(long dagId) {
        return tx(false, c -> owner(c, dagId));
    }

    @Override
    public Optional<OwnedDag> ownedDag(long dagId) {
        return tx(false, c -> {
            String owner = owner(c, dagId).orElse(null);
            return readDag(c, dagId).map(d -> new OwnedDag(d, owner));
        });
    }

    private static Optional<String> owner(Connection c, long dagId) throws SQLException {
        try (PreparedStatement ps = prepare(c, "SELECT owner FROM dags WHERE id = ?", dagId);
             ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (conn == null) {
                return;
            }
            try {
                conn.close();
            } catch (SQLException e) {
                throw new StoreException("cannot close " + file, e);
            } finally {
                conn = null;
            }
        }
    }

    // --------------------------------------------------------------------------------------------- helpers

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * Runs {@code work} in a transaction on the one connection. A read is a transaction of its own. A write
     * ({@code BEGIN IMMEDIATE}, which takes SQLite's write lock up front) is committed together with the writes
     * other threads queued meanwhile (group commit: one fsync for all of them, where 200 hosts finishing at
     * once would otherwise wait for 200 fsyncs in a row). Each write runs in a savepoint of its own, so one that
     * fails is undone alone and fails alone; each returns only once the commit that holds it is durable.
     */
    private <T> T tx(boolean write, Work<T> work) {
        if (write) {
            return write(work);
        }
        synchronized (lock) {
            open();
            try {
                exec(conn, "BEGIN");
                try {
                    T result = work.run(conn);
                    exec(conn, "COMMIT");
                    return result;
                } catch (SQLException | RuntimeException | Error e) {
                    rollback(e);
                    throw e;
                }
            } catch (SQLException e) {
                throw new StoreException("store " + file + ": " + e.getMessage(), e);
            }
        }
    }

    /** A write waiting for its group's commit. */
    private static final class Pending<T> {
        final Work<T> work;
        boolean done;  // guarded by the store's lock
        T result;
        Throwable error;

        Pending(Work<T> work) {
            this.work = work;
        }
    }

    /** Group commits made (guarded by the lock); for tests. */
    private long groupCommits;

    long groupCommits() {
        synchronized (lock) {
            return groupCommits;
        }
    }

    /** Writes queued for the next group commit (guarded by itself). */
    private final java.util.ArrayDeque<Pending<?>> queued = new java.util.ArrayDeque<>();

    private <T> T write(Work<T> work) {
        Pending<T> mine = new Pending<>(work);
        synchronized (queued) {
            queued.add(mine);
        }
        synchronized (lock) {
            if (!mine.done) {  // no one committed it meanwhile: commit it with everything queued since
                List<Pending<?>> group;
                synchronized (queued) {
                    group = new ArrayList<>(queued);
                    queued.clear();
                }
                commit(group);
            }
        }
        if (mine.error instanceof RuntimeException e) {
            throw e;
        }
        if (mine.error instanceof Error e) {
            throw e;
        }
        if (mine.error != null) {
            throw new StoreException("store " + file + ": " + mine.error.getMessage(), mine.error);
        }
        return mine.result;
    }

    /** Runs a group of writes in one transaction, each in a savepoint, and commits it; holds the lock. */
    private void commit(List<Pending<?>> group) {
        try {
            open();
            exec(conn, "BEGIN IMMEDIATE");
            try {
                for (Pending<?> p : group) {
                    run(p);
                }
                exec(conn, "COMMIT");
                groupCommits++;
            } catch (SQLException | RuntimeException | Error e) {
                rollback(e);
                throw e;
            }
        } catch (SQLException | RuntimeException | Error e) {
            // nothing of the group is committed: each of its writes fails with this
            for (Pending<?> p : group) {
                p.result = null;
                p.error = e;
            }
        } finally {
            for (Pending<?> p : group) {
                p.done = true;
            }
        }
    }

    private <T> void run(Pending<T> p) throws SQLException {
        exec(conn, "SAVEPOINT w");
        try {
            p.result = p.work.run(conn);
            exec(conn, "RELEASE w");
        } catch (SQLException | RuntimeException e) {
            exec(conn, "ROLLBACK TO w");
            exec(conn, "RELEASE w");
            p.error = e instanceof SQLException ? new StoreException("store " + file + ": " + e.getMessage(), e) : e;
        }
    }

    private void open() {
        if (conn == null) {
            throw new IllegalStateException("store " + file + " is closed");
        }
    }

    private void rollback(Throwable e) {
        try {
            exec(conn, "ROLLBACK"); // fails harmlessly when a failed COMMIT already ended it
        } catch (SQLException rollback) {
            e.addSuppressed(rollback);
        }
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql);
        try {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            return ps;
        } catch (SQLException | RuntimeException e) {
            ps.close();
            throw e;
        }
    }

    private static int update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, args)) {
            return ps.executeUpdate();
        }
    }

    private static Void mustUpdate(Connection c, String what, long id, String sql, Object... args) throws SQLException {
        if (update(c, sql, args) != 1) {
            throw new NoSuchElementException("no " + what + " " + id);
        }
        return null;
    }

    /** Inserts one row and returns its AUTOINCREMENT id. */
    private static long insertRow(Connection c, String sql, Object... args) throws SQLException {
        update(c, sql, args);
        return scalarLong(c, "SELECT last_insert_rowid()").orElseThrow();
    }

    private static Optional<Long> scalarLong(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, args); ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.of(rs.getLong(1)) : Optional.empty();
        }
    }

    private static boolean exists(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, args); ResultSet rs = ps.executeQuery()) {
            return rs.next();
        }
    }

    private static void appendLogs(Connection c, long taskId, List<String> lines) throws SQLException {
        if (lines.isEmpty()) {
            return;
        }
        long next = scalarLong(c, "SELECT COALESCE(MAX(seq), 0) + 1 FROM task_logs WHERE task_id = ?", taskId).orElseThrow();
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO task_logs (task_id, seq, line) VALUES (?, ?, ?)")) {
            for (String line : lines) {
                ps.setLong(1, taskId);
                ps.setLong(2, next++);
                ps.setString(3, line);
                ps.executeUpdate();
            }
        }
    }

    private static List<Dag> dags(Connection c, String where, Object... args) throws SQLException {
        List<Dag> out = new ArrayList<>();
        try (PreparedStatement ps = prepare(c, "SELECT " + Rows.DAG_COLUMNS + " FROM dags d " + where, args);
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(Rows.dag(rs));
            }
        }
        return out;
    }

    /** Log lines by task id, in order, of the task_logs rows {@code l} selected by {@code join}. */
    private static Map<Long, List<String>> logs(Connection c, String join, Object... args) throws SQLException {
        Map<Long, List<String>> out = new HashMap<>();
        try (PreparedStatement ps = prepare(c, "SELECT l.task_id, l.line FROM task_logs l " + join
                + " ORDER BY l.task_id, l.seq", args); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getString(2));
            }
        }
        return out;
    }

    /** Sub-tasks by node id, in insertion order, of the sub_tasks rows {@code t} selected by {@code join}. */
    private static Map<Long, List<SubTask>> subTasks(Connection c, String join, Map<Long, List<String>> logs,
                                                     Object... args) throws SQLException {
        Map<Long, List<SubTask>> out = new LinkedHashMap<>();
        try (PreparedStatement ps = prepare(c, "SELECT " + Rows.TASK_COLUMNS + ", t.node_id FROM sub_tasks t " + join
                + " ORDER BY t.id", args); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                SubTask t = Rows.subTask(rs, logs.getOrDefault(rs.getLong(1), List.of()));
                out.computeIfAbsent(rs.getLong(13), k -> new ArrayList<>()).add(t);
            }
        }
        return out;
    }

    private static <T> Optional<T> first(List<T> list) {
        return list.isEmpty() ? Optional.empty() : Optional.of(list.get(0));
    }

    /** A database error: the file cannot be opened, is locked for longer than the busy timeout, or is corrupt. */
    public static final class StoreException extends io.obplay.store.StoreException {
        public StoreException(String message, Throwable cause) {
            super(message, cause);
        }

        public StoreException(String message) {
            super(message);
        }
    }
}
