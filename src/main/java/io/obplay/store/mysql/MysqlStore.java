package io.obplay.store.mysql;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
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
import io.obplay.store.StoreException;
import io.obplay.store.Transition;
import io.obplay.store.UnderMaintenanceException;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.sql.Statement;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;

/**
 * The {@link Store} in a MySQL-protocol database shared by obplay instances on several machines: OceanBase 4.x in
 * MySQL mode (the production case), MySQL 8, MariaDB 10.6+. MariaDB Connector/J speaks the protocol, HikariCP pools
 * the connections; every method is one transaction on a connection of its own.
 *
 * <p>Only SQL that OceanBase's MySQL mode documents is used: plain tables with {@code AUTO_INCREMENT} keys and
 * secondary indexes declared inline, {@code INSERT}, {@code UPDATE}, {@code SELECT ... FOR UPDATE}, {@code LIMIT},
 * the null-safe {@code <=>}, {@code INSERT ... ON DUPLICATE KEY UPDATE}, {@code IF()}, {@code UNIX_TIMESTAMP()},
 * {@code NOW(3)}, and the session isolation level READ COMMITTED.
 *
 * <p>How it stays correct with several writers on several machines:
 * <ul>
 *   <li>Isolation READ COMMITTED, set on every connection: it is OceanBase's default and the one level every target
 *       has alike (OceanBase documents it in "Isolation levels supported in MySQL mode",
 *       https://en.oceanbase.com/docs/common-oceanbase-database-10000000001974669). Nothing relies on snapshots:
 *       every write first locks what it decides on.</li>
 *   <li>Every write to a DAG (a transition, a sub-task's progress, log lines, the owner) first locks the DAG's row
 *       with {@code SELECT ... FOR UPDATE} and only then reads the nodes and sub-tasks; so writes to one DAG are
 *       serialized across instances, and a transition decides on what the previous writer committed (OceanBase:
 *       "Lock query results with SELECT ... FOR UPDATE",
 *       https://en.oceanbase.com/docs/common-oceanbase-database-10000000001888449: a second transaction locking the
 *       same row waits until the first commits or rolls back).</li>
 *   <li>The maintenance lock: a row per maintenance key in {@code maintenance_keys}, created if missing with
 *       {@code INSERT ... ON DUPLICATE KEY UPDATE} and then locked {@code FOR UPDATE}; the holder check and the
 *       insert of the new DAG happen under that row lock, so of two instances racing, exactly one inserts.</li>
 *   <li>A transaction that the database ends for a deadlock or a lock wait timeout is run again from the start (a
 *       few times); a {@link Transition} may be asked to decide again, as its contract allows.</li>
 *   <li>Ids come from {@code AUTO_INCREMENT}: unique across instances. (On OceanBase, ids are unique but need not
 *       grow in creation order across instances unless the table's auto_increment_mode is ORDER; "newest first"
 *       follows the ids.)</li>
 *   <li>Leases: {@code dags.lease_until} is milliseconds on the database's own clock ({@code UNIX_TIMESTAMP(NOW(3))},
 *       functions OceanBase's MySQL mode documents), so instances on machines whose clocks differ agree on when a lease
 *       ran out. Recording an owner starts its lease; the owner renews it ({@code UPDATE ... WHERE owner = ?}, which
 *       fails once another instance took the DAG over); a takeover checks the lease under the DAG's row lock.</li>
 *   <li>Times are kept as ISO-8601 text with their offset, as in the SQLite store, so both stores read back the same
 *       values to the nanosecond.</li>
 * </ul>
 */
public final class MysqlStore implements Store {
    /**
     * Marks a migration statement "TABLE COLUMN TYPE": the column is added unless information_schema.COLUMNS has it
     * (MySQL 8 has no ADD COLUMN IF NOT EXISTS); two instances adding it at once: the second's duplicate is ignored.
     */
    private static final String ADD_COLUMN = "obplay:add-column ";

    /** Schema migrations, each statement idempotent (IF NOT EXISTS); version N is {@code MIGRATIONS.get(N - 1)}. */
    static final List<List<String>> MIGRATIONS = List.of(List.of(
            """
            CREATE TABLE IF NOT EXISTS dags (
                id               BIGINT       NOT NULL AUTO_INCREMENT,
                generic_id       VARCHAR(64)  NOT NULL,
                name             VARCHAR(512),
                stage            INT          NOT NULL,
                max_stage        INT          NOT NULL,
                maintenance_type INT          NOT NULL,
                maintenance_key  VARCHAR(512),
                state            VARCHAR(16)  NOT NULL,
                operator         VARCHAR(16)  NOT NULL,
                start_time       VARCHAR(64),
                end_time         VARCHAR(64),
                additional_data  LONGTEXT,
                owner            VARCHAR(255),
                lease_until      BIGINT,
                PRIMARY KEY (id),
                KEY dags_maintenance (maintenance_type, maintenance_key, id),
                KEY dags_state (state)
            ) DEFAULT CHARSET = utf8mb4""",
            """
            CREATE TABLE IF NOT EXISTS nodes (
                id               BIGINT       NOT NULL AUTO_INCREMENT,
                dag_id           BIGINT       NOT NULL,
                generic_id       VARCHAR(64)  NOT NULL,
                name             VARCHAR(512),
                state            VARCHAR(16)  NOT NULL,
                operator         VARCHAR(16)  NOT NULL,
                start_time       VARCHAR(64),
                end_time         VARCHAR(64),
                additional_data  LONGTEXT,
                PRIMARY KEY (id),
                KEY nodes_dag (dag_id, id)
            ) DEFAULT CHARSET = utf8mb4""",
            """
            CREATE TABLE IF NOT EXISTS sub_tasks (
                id               BIGINT       NOT NULL AUTO_INCREMENT,
                node_id          BIGINT       NOT NULL,
                generic_id       VARCHAR(64)  NOT NULL,
                name             VARCHAR(512),
                state            VARCHAR(16)  NOT NULL,
                operator         VARCHAR(16)  NOT NULL,
                start_time       VARCHAR(64),
                end_time         VARCHAR(64),
                additional_data  LONGTEXT,
                execute_times    INT          NOT NULL DEFAULT 0,
                agent_ip         VARCHAR(64),
                agent_port       INT,
                PRIMARY KEY (id),
                KEY sub_tasks_node (node_id, id)
            ) DEFAULT CHARSET = utf8mb4""",
            """
            CREATE TABLE IF NOT EXISTS task_logs (
                task_id          BIGINT       NOT NULL,
                seq              INT          NOT NULL,
                line             MEDIUMTEXT   NOT NULL,
                PRIMARY KEY (task_id, seq)
            ) DEFAULT CHARSET = utf8mb4""",
            """
            CREATE TABLE IF NOT EXISTS maintenance_keys (
                maintenance_key  VARCHAR(512) NOT NULL,
                PRIMARY KEY (maintenance_key)
            ) DEFAULT CHARSET = utf8mb4"""),
            // 2: work spread over instances: who claimed (and runs or ran) each sub-task, who declined it (could not
            // reach its host), and the live instances (each renews its own row)
            List.of(
                    ADD_COLUMN + "sub_tasks ran_by VARCHAR(255)",
                    ADD_COLUMN + "sub_tasks declined_by TEXT",
                    """
                    CREATE TABLE IF NOT EXISTS instances (
                        name             VARCHAR(255) NOT NULL,
                        lease_until      BIGINT       NOT NULL,
                        PRIMARY KEY (name)
                    ) DEFAULT CHARSET = utf8mb4"""));

    private static final String HOLDS_LOCK = "(d.state IN ('PENDING', 'READY', 'RUNNING') "
            + "OR (d.state = 'FAILED' AND d.operator <> 'PASS'))";
    private static final String IS_MAINTENANCE = "d.maintenance_type <> " + Dag.MAINTENANCE_NONE;
    private static final int ATTEMPTS = 5;

    private final String where;
    private final HikariDataSource pool;
    /**
     * Two connections of their own for the writes that say an instance is alive (its presence, its leases): taken from
     * the main pool they would queue behind a stage's sub-task writes, and a busy, live instance would be taken for
     * a dead one (its work taken back and run again elsewhere).
     */
    private final HikariDataSource liveness;
    private volatile Duration lease = Duration.ofSeconds(30);

    /** Milliseconds since the epoch on the database's clock, so that instances whose clocks differ agree on leases. */
    private static final String DB_NOW_MS = "ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000)";

    private MysqlStore(String where, HikariDataSource pool, HikariDataSource liveness) {
        this.where = where;
        this.pool = pool;
        this.liveness = liveness;
    }

    /** Sets how long a lease lasts ({@code --lease}); at least a second. */
    public MysqlStore withLease(Duration length) {
        if (length.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("a lease must last at least 1s: " + length);
        }
        this.lease = length;
        return this;
    }

    /**
     * Connects to {@code jdbcUrl} (a {@code jdbc:mariadb://} URL without a password) as {@code user}, and brings the
     * schema up to date.
     *
     * @param where how to name the store in messages (the URL without secrets)
     * @throws StoreException when the database cannot be reached, refuses the login, or has a newer schema
     */
    public static MysqlStore open(String jdbcUrl, String user, char[] password, String where) {
        HikariConfig cfg = new HikariConfig();
        cfg.setJdbcUrl(jdbcUrl);
        cfg.setUsername(user);
        if (password != null) {
            cfg.setPassword(new String(password));
        }
        cfg.setPoolName("obplay-store");
        cfg.setMaximumPoolSize(8);
        cfg.setMinimumIdle(1);
        cfg.setConnectionTimeout(10_000);
        cfg.setInitializationFailTimeout(1); // fail at once, with the driver's reason, when it cannot connect
        cfg.setAutoCommit(false);
        cfg.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
        cfg.setRegisterMbeans(false);
        HikariDataSource ds;
        try {
            ds = new HikariDataSource(cfg);
        } catch (HikariPool.PoolInitializationException e) {
            throw new StoreException(why(where, user, e.getCause() != null ? e.getCause() : e), e);
        } catch (RuntimeException e) {
            throw new StoreException("store " + where + ": " + e.getMessage(), e);
        }
        HikariDataSource live;
        try {
            cfg.setPoolName("obplay-store-liveness");
            cfg.setMaximumPoolSize(2);
            cfg.setInitializationFailTimeout(-1); // the main pool has just connected
            live = new HikariDataSource(cfg);
        } catch (RuntimeException e) {
            ds.close();
            throw new StoreException("store " + where + ": " + e.getMessage(), e);
        }
        MysqlStore store = new MysqlStore(where, ds, live);
        try {
            store.migrate();
            return store;
        } catch (RuntimeException e) {
            ds.close();
            live.close();
            throw e;
        }
    }

    /** A clear reason why the store cannot be used, from the driver's exception. */
    static String why(String where, String user, Throwable e) {
        SQLException sql = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s) {
                sql = s;
                break;
            }
        }
        String state = sql == null ? null : sql.getSQLState();
        int code = sql == null ? 0 : sql.getErrorCode();
        if (code == 1045 || "28000".equals(state)) {
            return "store " + where + " refused the login of user " + user
                    + " (wrong password? it comes from OBPLAY_STORE_PASSWORD or the URL's passwordFile=)";
        }
        if (code == 1049 || "42000".equals(state) && String.valueOf(sql.getMessage()).contains("Unknown database")) {
            return "store " + where + ": the database does not exist (create it first: CREATE DATABASE ...)";
        }
        if (state != null && state.startsWith("08")) {
            return "cannot reach the store " + where + ": " + firstLine(sql.getMessage());
        }
        return "cannot open the store " + where + ": " + firstLine(e.getMessage());
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "(no message)";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** The schema version this code writes. */
    public static int schemaVersion() {
        return MIGRATIONS.size();
    }

    private void migrate() {
        tx(c -> {
            exec(c, "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL, applied_at VARCHAR(64) NOT NULL, "
                    + "PRIMARY KEY (version)) DEFAULT CHARSET = utf8mb4");
            c.commit();
            int current = scalarLong(c, "SELECT COALESCE(MAX(version), 0) FROM schema_version").orElse(0L).intValue();
            if (current > MIGRATIONS.size()) {
                throw new StoreException("store " + where + " has schema version " + current
                        + ", newer than this obplay knows (" + MIGRATIONS.size() + "); use a newer obplay");
            }
            for (int v = current + 1; v <= MIGRATIONS.size(); v++) {
                // DDL commits on its own in MySQL and OceanBase: every statement is idempotent, so two instances
                // starting at once may both run them; the version row is written once
                for (String sql : MIGRATIONS.get(v - 1)) {
                    if (sql.startsWith(ADD_COLUMN)) {
                        addColumn(c, sql.substring(ADD_COLUMN.length()).split(" ", 3));
                    } else {
                        exec(c, sql);
                    }
                }
                update(c, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?) "
                        + "ON DUPLICATE KEY UPDATE version = version", v, Rows.time(OffsetDateTime.now()));
                c.commit();
            }
            return null;
        });
    }

    private static void addColumn(Connection c, String[] tableColumnType) throws SQLException {
        String table = tableColumnType[0];
        String column = tableColumnType[1];
        if (scalarLong(c, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                + "AND TABLE_NAME = ? AND COLUMN_NAME = ?", table, column).orElse(0L) > 0) {
            return;
        }
        try {
            exec(c, "ALTER TABLE " + table + " ADD COLUMN " + column + " " + tableColumnType[2]);
        } catch (SQLException e) {
            if (e.getErrorCode() != 1060) { // ER_DUP_FIELDNAME: another instance added it just now
                throw e;
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- writes

    private record Inserted(Dag dag, Dag holder) {
    }

    @Override
    public Dag insert(Dag planned, IdScheme ids, boolean exclusive, String owner) throws UnderMaintenanceException {
        // additional_data that is not JSON is refused before any row is written: a rolled-back insert would still use
        // up AUTO_INCREMENT ids (InnoDB and OceanBase do not give them back)
        Rows.json(planned.additionalData());
        for (Node n : planned.nodes()) {
            Rows.json(n.additionalData());
            n.subTasks().forEach(t -> Rows.json(t.additionalData()));
        }
        Inserted r = tx(c -> {
            if (exclusive && planned.maintenanceType() != Dag.MAINTENANCE_NONE) {
                String key = planned.maintenanceKey() == null ? "" : planned.maintenanceKey();
                update(c, "INSERT INTO maintenance_keys (maintenance_key) VALUES (?) "
                        + "ON DUPLICATE KEY UPDATE maintenance_key = maintenance_key", key);
                // the key's row lock serializes every exclusive insert of this key (see the class comment)
                scalarLong(c, "SELECT 1 FROM maintenance_keys WHERE maintenance_key = ? FOR UPDATE", key);
                Optional<Dag> holder = lockHolder(c, planned.maintenanceKey());
                if (holder.isPresent()) {
                    return new Inserted(null, holder.get());
                }
            }
            long dagId = insertRow(c, "INSERT INTO dags (generic_id, name, stage, max_stage, maintenance_type, "
                            + "maintenance_key, state, operator, start_time, end_time, additional_data, owner, lease_until) "
                            + "VALUES ('', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, IF(? IS NULL, NULL, " + DB_NOW_MS + " + ?))",
                    planned.name(), planned.stage(), planned.maxStage(), planned.maintenanceType(),
                    planned.maintenanceKey(), Rows.name(planned.state()), Rows.name(planned.operator()),
                    Rows.time(planned.startTime()), Rows.time(planned.endTime()), Rows.json(planned.additionalData()),
                    owner, owner, lease.toMillis());
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
        tx(c -> {
            lockDag(c, "DAG", dag.dagId(), dag.dagId());
            return updateDag(c, dag);
        });
    }

    @Override
    public void updateNode(Node node) {
        tx(c -> {
            lockDag(c, "node", node.nodeId(), scalarLong(c, "SELECT dag_id FROM nodes WHERE id = ?", node.nodeId()).orElse(null));
            return updateNode(c, node);
        });
    }

    @Override
    public void updateSubTask(SubTask task, List<String> newLogs) {
        tx(c -> {
            lockDag(c, "sub-task", task.taskId(), dagOfTask(c, task.taskId()));
            return updateSubTask(c, task, newLogs);
        });
    }

    /** Locks the DAG's row (see the class comment); {@code dagId} null means the record does not exist. */
    private static void lockDag(Connection c, String what, long id, Long dagId) throws SQLException {
        if (dagId == null || scalarLong(c, "SELECT id FROM dags WHERE id = ? FOR UPDATE", dagId).isEmpty()) {
            throw new NoSuchElementException("no " + what + " " + id);
        }
    }

    private static Long dagOfTask(Connection c, long taskId) throws SQLException {
        return scalarLong(c, "SELECT n.dag_id FROM sub_tasks t JOIN nodes n ON n.id = t.node_id WHERE t.id = ?", taskId).orElse(null);
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
     * Locks the DAG's row, reads it whole, decides and writes, in one transaction (see the class comment). A refusal
     * is returned out of the transaction as a value; the transaction is rolled back, nothing is written.
     */
    @Override
    public Dag transition(long dagId, Transition t) throws Refused {
        Object r = tx(c -> {
            if (scalarLong(c, "SELECT id FROM dags WHERE id = ? FOR UPDATE", dagId).isEmpty()) {
                return new Refused(Refusal.NO_SUCH_DAG, "no DAG " + dagId);
            }
            Dag dag = readDag(c, dagId).orElseThrow();
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

    private void write(Connection c, Dag dag, Change change) throws SQLException {
        Set<Long> nodeIds = new HashSet<>();
        Set<Long> taskIds = new HashSet<>();
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
            setOwner(c, dag.dagId(), change.owner());
        }
    }

    @Override
    public void appendLogs(long taskId, List<String> lines) {
        tx(c -> {
            lockDag(c, "sub-task", taskId, dagOfTask(c, taskId));
            appendLogs(c, taskId, lines);
            return null;
        });
    }

    @Override
    public void setOwner(long dagId, String owner) {
        tx(c -> {
            lockDag(c, "DAG", dagId, dagId);
            setOwner(c, dagId, owner);
            return null;
        });
    }

    /** Records the owner; a new owner starts a lease, none clears it. */
    private void setOwner(Connection c, long dagId, String owner) throws SQLException {
        update(c, "UPDATE dags SET owner = ?, lease_until = IF(? IS NULL, NULL, " + DB_NOW_MS + " + ?) WHERE id = ?",
                owner, owner, lease.toMillis(), dagId);
    }

    // ------------------------------------------------------------------------------------------------ leases

    @Override
    public boolean leases() {
        return true;
    }

    @Override
    public Duration leaseLength() {
        return lease;
    }

    @Override
    public boolean renewLease(long dagId, String owner) {
        return tx(liveness, c -> update(c, "UPDATE dags SET lease_until = " + DB_NOW_MS + " + ? WHERE id = ? AND owner = ?",
                lease.toMillis(), dagId, owner) == 1);
    }

    @Override
    public List<Long> expiredLeases() {
        return tx(c -> {
            List<Long> out = new ArrayList<>();
            try (PreparedStatement ps = prepare(c, "SELECT id FROM dags WHERE state IN ('PENDING', 'READY', 'RUNNING') "
                    + "AND (lease_until IS NULL OR lease_until < " + DB_NOW_MS + ") ORDER BY id");
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
            return out;
        });
    }

    @Override
    public Optional<Dag> takeOver(long dagId, Transition t) throws Refused {
        Object r = tx(c -> {
            Optional<Long> expired;
            try (PreparedStatement ps = prepare(c, "SELECT lease_until IS NULL OR lease_until < " + DB_NOW_MS
                    + " FROM dags WHERE id = ? FOR UPDATE", dagId); ResultSet rs = ps.executeQuery()) {
                expired = rs.next() ? Optional.of(rs.getLong(1)) : Optional.empty();
            }
            if (expired.isEmpty()) {
                return new Refused(Refusal.NO_SUCH_DAG, "no DAG " + dagId);
            }
            if (expired.get() == 0) {
                return Optional.empty();
            }
            Dag dag = readDag(c, dagId).orElseThrow();
            String owner = owner(c, dagId).orElse(null);
            Change change;
            try {
                change = t.decide(dag, owner);
            } catch (Refused refused) {
                return refused;
            }
            if (change == null || change.isEmpty()) {
                return Optional.of(dag);
            }
            write(c, dag, change);
            return Optional.of(readDag(c, dagId).orElseThrow());
        });
        if (r instanceof Refused refused) {
            throw refused;
        }
        @SuppressWarnings("unchecked")
        Optional<Dag> d = (Optional<Dag>) r;
        return d;
    }

    // ------------------------------------------------------------------------------- work spread over instances

    @Override
    public void heartbeat(String instance) {
        tx(liveness, c -> update(c, "INSERT INTO instances (name, lease_until) VALUES (?, " + DB_NOW_MS + " + ?) "
                + "ON DUPLICATE KEY UPDATE lease_until = " + DB_NOW_MS + " + ?", instance, lease.toMillis(), lease.toMillis()));
    }

    @Override
    public Set<String> liveInstances() {
        return tx(MysqlStore::liveInstances);
    }

    private static Set<String> liveInstances(Connection c) throws SQLException {
        Set<String> out = new java.util.TreeSet<>();
        try (PreparedStatement ps = prepare(c, "SELECT name FROM instances WHERE lease_until >= " + DB_NOW_MS);
             ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /**
     * Under the DAG's row lock (SELECT ... FOR UPDATE, as every write here: see the class comment), the claimable
     * sub-tasks are read and marked as {@code instance}'s in the same transaction, so two instances claiming at once
     * are serialized and never get the same sub-task. (OceanBase also documents {@code SELECT ... FOR UPDATE SKIP
     * LOCKED} in the same page, which would let claims of one node run side by side; it is not needed while each claim
     * is one short transaction, and the DAG's lock keeps claims ordered with every other write to the DAG.)
     */
    @Override
    public List<SubTask> claim(long nodeId, String instance, int max) {
        if (max <= 0) {
            return List.of();
        }
        return tx(c -> {
            Long dagId = scalarLong(c, "SELECT dag_id FROM nodes WHERE id = ?", nodeId).orElse(null);
            lockDag(c, "node", nodeId, dagId);
            try (PreparedStatement ps = prepare(c, "SELECT COUNT(*) FROM dags d JOIN nodes n ON n.dag_id = d.id WHERE n.id = ? "
                    + "AND d.state = 'RUNNING' AND d.operator <> 'CANCEL' AND n.state = 'RUNNING'", nodeId);
                 ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || rs.getLong(1) == 0) {
                    return List.<SubTask>of();
                }
            }
            List<Long> ids = new ArrayList<>();
            try (PreparedStatement ps = prepare(c, "SELECT id FROM sub_tasks WHERE node_id = ? AND state = 'PENDING' "
                    + "AND ran_by IS NULL AND (declined_by IS NULL OR LOCATE(?, declined_by) = 0) ORDER BY id LIMIT ?",
                    nodeId, declinedMark(instance), max); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    ids.add(rs.getLong(1));
                }
            }
            if (ids.isEmpty()) {
                return List.<SubTask>of();
            }
            String in = String.join(", ", java.util.Collections.nCopies(ids.size(), "?"));
            List<Object> args = new ArrayList<>();
            args.add(instance);
            args.addAll(ids);
            update(c, "UPDATE sub_tasks SET state = 'RUNNING', ran_by = ? WHERE id IN (" + in + ")", args.toArray());
            Map<Long, List<String>> logs = logs(c, "WHERE l.task_id IN (" + in + ")", ids.toArray());
            return subTasks(c, "WHERE t.id IN (" + in + ")", logs, ids.toArray()).values().stream()
                    .flatMap(List::stream).toList();
        });
    }

    /** How an instance is marked in declined_by: its name on a line of its own. */
    private static String declinedMark(String instance) {
        return "\n" + instance + "\n";
    }

    @Override
    public boolean updateClaimed(SubTask task, List<String> newLogs, String instance) {
        return tx(c -> {
            lockDag(c, "sub-task", task.taskId(), dagOfTask(c, task.taskId()));
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
        return tx(c -> {
            lockDag(c, "sub-task", taskId, dagOfTask(c, taskId));
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
            Set<String> live = liveInstances(c);
            live.add(instance);
            final String all = declined;
            boolean everyone = live.stream().allMatch(i -> all.contains(declinedMark(i)));
            List<String> lines = new ArrayList<>(List.of(line));
            if (everyone) {
                List<String> reasons = new ArrayList<>();
                logs(c, "WHERE l.task_id = ?", taskId).getOrDefault(taskId, List.of()).stream()
                        .filter(l -> l.startsWith("declined by obplay ")).forEach(reasons::add);
                reasons.add(line);
                lines.add("FAILED: every live obplay instance (" + live.size() + ") declined it: "
                        + String.join("; ", reasons));
                update(c, "UPDATE sub_tasks SET state = 'FAILED', end_time = ?, declined_by = ? WHERE id = ?",
                        Rows.time(OffsetDateTime.now()), declined, taskId);
            } else {
                lines.add("left to another obplay instance (" + (live.size() - (int) live.stream()
                        .filter(i -> all.contains(declinedMark(i))).count()) + " live that have not declined it)");
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
        return tx(c -> readDag(c, dagId));
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
        return tx(c -> dags(c, "ORDER BY d.id DESC LIMIT ?", limit));
    }

    @Override
    public List<Dag> unfinished() {
        return tx(c -> dags(c, "WHERE d.state IN ('PENDING', 'READY', 'RUNNING') OR (" + IS_MAINTENANCE
                + " AND " + HOLDS_LOCK + ") ORDER BY d.id"));
    }

    @Override
    public Optional<Dag> latestMaintenance(String maintenanceKey) {
        return tx(c -> first(dags(c, "WHERE " + IS_MAINTENANCE + " AND d.maintenance_key <=> ? "
                + "ORDER BY d.id DESC LIMIT 1", maintenanceKey)));
    }

    @Override
    public Optional<Dag> lockHolder(String maintenanceKey) {
        return tx(c -> lockHolder(c, maintenanceKey));
    }

    private static Optional<Dag> lockHolder(Connection c, String maintenanceKey) throws SQLException {
        return first(dags(c, "WHERE " + IS_MAINTENANCE + " AND d.maintenance_key <=> ? AND " + HOLDS_LOCK
                + " ORDER BY d.id LIMIT 1", maintenanceKey));
    }

    @Override
    public Optional<Node> node(long nodeId) {
        return tx(c -> {
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
        return tx(c -> {
            Map<Long, List<String>> logs = logs(c, "WHERE l.task_id = ?", taskId);
            return subTasks(c, "WHERE t.id = ?", logs, taskId).values().stream().flatMap(List::stream).findFirst();
        });
    }

    @Override
    public Optional<Long> dagOfNode(long nodeId) {
        return tx(c -> scalarLong(c, "SELECT dag_id FROM nodes WHERE id = ?", nodeId));
    }

    @Override
    public Optional<Long> nodeOfSubTask(long taskId) {
        return tx(c -> scalarLong(c, "SELECT node_id FROM sub_tasks WHERE id = ?", taskId));
    }

    @Override
    public Optional<String> owner(long dagId) {
        return tx(c -> owner(c, dagId));
    }

    @Override
    public Optional<OwnedDag> ownedDag(long dagId) {
        // one connection and round trips in a row; at READ COMMITTED each statement sees what was committed when it
        // began, so the owner is still read no later than the DAG
        return tx(c -> {
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
        liveness.close();
        pool.close();
    }

    // --------------------------------------------------------------------------------------------- helpers

    @FunctionalInterface
    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * Runs {@code work} in one transaction on a pooled connection and commits it; rolls back on any error. A
     * deadlock or lock wait timeout (SQLSTATE 40001, MySQL errors 1213 and 1205) runs it again from the start, a few
     * times. A store that cannot be reached (restarted, failing over) is waited for, up to {@link #OUTAGE_WAIT}: the
     * transaction is run again from the start once it answers, as long as the connection was lost before the commit
     * (the database then rolled it back). A connection lost during the commit leaves its outcome unknown: that is
     * an error, never a second attempt, so nothing is written twice.
     */
    private <T> T tx(Work<T> work) {
        return tx(pool, work);
    }

    private <T> T tx(HikariDataSource pool, Work<T> work) {
        if (pool.isClosed()) {
            throw new IllegalStateException("store " + where + " is closed");
        }
        long waitUntil = System.nanoTime() + OUTAGE_WAIT.toNanos();
        for (int attempt = 1; ; attempt++) {
            boolean committing = false;
            try (Connection c = pool.getConnection()) {
                try {
                    T result = work.run(c);
                    committing = true;
                    c.commit();
                    return result;
                } catch (SQLException | RuntimeException | Error e) {
                    if (!committing) {
                        try {
                            c.rollback();
                        } catch (SQLException rollback) {
                            e.addSuppressed(rollback);
                        }
                    }
                    throw e;
                }
            } catch (SQLException e) {
                if (lostConnection(e)) {
                    if (committing) {
                        throw new StoreException("store " + where + ": the connection was lost during a commit; whether it"
                                + " was written is unknown: " + firstLine(e.getMessage()), e);
                    }
                    if (System.nanoTime() < waitUntil) {
                        pause(1000);
                        continue;
                    }
                    throw new StoreException("cannot reach the store " + where + " for " + OUTAGE_WAIT.toSeconds() + "s: "
                            + firstLine(e.getMessage()), e);
                }
                if (retriable(e) && attempt < ATTEMPTS) {
                    continue;
                }
                throw new StoreException(why(where, "", e).startsWith("cannot open") ? "store " + where + ": "
                        + firstLine(e.getMessage()) : why(where, "", e), e);
            }
        }
    }

    /** How long a transaction waits for a store that cannot be reached. */
    static final Duration OUTAGE_WAIT = Duration.ofSeconds(60);

    private static boolean lostConnection(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLTransientConnectionException || t instanceof java.sql.SQLNonTransientConnectionException
                    || t instanceof SQLException s && s.getSQLState() != null && s.getSQLState().startsWith("08")) {
                return true;
            }
        }
        return false;
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("interrupted while waiting for the store");
        }
    }

    private static boolean retriable(SQLException e) {
        return "40001".equals(e.getSQLState()) || e.getErrorCode() == 1213 || e.getErrorCode() == 1205
                || e instanceof SQLTransientException && !(e instanceof java.sql.SQLTransientConnectionException);
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql);
        try {
            bind(ps, args);
            return ps;
        } catch (SQLException | RuntimeException e) {
            ps.close();
            throw e;
        }
    }

    private static void bind(PreparedStatement ps, Object... args) throws SQLException {
        for (int i = 0; i < args.length; i++) {
            ps.setObject(i + 1, args[i]);
        }
    }

    private static int update(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, args)) {
            return ps.executeUpdate();
        }
    }

    private static Void mustUpdate(Connection c, String what, long id, String sql, Object... args) throws SQLException {
        // MariaDB Connector/J reports matched rows (useAffectedRows=false, its default): 0 means no such record
        if (update(c, sql, args) == 0) {
            throw new NoSuchElementException("no " + what + " " + id);
        }
        return null;
    }

    private static long insertRow(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql, Statement.RETURN_GENERATED_KEYS)) {
            bind(ps, args);
            ps.executeUpdate();
            try (ResultSet keys = ps.getGeneratedKeys()) {
                if (!keys.next()) {
                    throw new SQLException("no generated key for: " + sql);
                }
                return keys.getLong(1);
            }
        }
    }

    private static Optional<Long> scalarLong(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(c, sql, args); ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.of(rs.getLong(1)) : Optional.empty();
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
                ps.addBatch();
            }
            ps.executeBatch();
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
}
