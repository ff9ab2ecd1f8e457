package io.obplay.run.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import io.obplay.store.mysql.MariaDbServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Level 3 against a real MariaDB (not an OceanBase) that serves, in a database named {@code oceanbase}, tables
 * with the names and columns of OceanBase 4.x's {@code DBA_OB_SERVERS} and {@code GV$OB_LOG_STAT} (MariaDB takes
 * {@code $} in unquoted names, so the gate's text is the one a real OceanBase gets: checked in the general log).
 * The test changes the rows while the gate waits.
 */
@Timeout(120)
class SqlGateTest {
    private static final MariaDbServer DB = MariaDbServer.shared();
    private static final Map<String, String> ENV = Map.of(SqlCredentials.USER_VARIABLE, MariaDbServer.USER,
            SqlCredentials.PASSWORD_VARIABLE, MariaDbServer.PASSWORD);

    @TempDir
    Path tmp;

    private final ExecutorService changer = Executors.newSingleThreadExecutor();

    @BeforeEach
    void tables() {
        DB.exec("", "DROP DATABASE IF EXISTS oceanbase");
        DB.exec("", "CREATE DATABASE oceanbase DEFAULT CHARACTER SET utf8mb4");
        // the columns of OceanBase 4.x's views (types as OceanBase shows them), not all of them
        DB.exec("oceanbase", "CREATE TABLE DBA_OB_SERVERS (SVR_IP varchar(46) NOT NULL, SVR_PORT bigint NOT NULL,"
                + " ID bigint NOT NULL, ZONE varchar(128) NOT NULL, SQL_PORT bigint NOT NULL,"
                + " WITH_ROOTSERVICE varchar(3) NOT NULL, STATUS varchar(64) NOT NULL,"
                + " START_SERVICE_TIME timestamp(6) NULL DEFAULT NULL, STOP_TIME timestamp(6) NULL DEFAULT NULL,"
                + " BUILD_VERSION varchar(256) NOT NULL)");
        DB.exec("oceanbase", "CREATE TABLE GV$OB_LOG_STAT (TENANT_ID bigint NOT NULL, LS_ID bigint NOT NULL,"
                + " SVR_IP varchar(46) NOT NULL, SVR_PORT bigint NOT NULL, ROLE varchar(32) NOT NULL,"
                + " IN_SYNC varchar(3) NOT NULL, END_SCN bigint unsigned NOT NULL)");
        server("10.0.1.1", 1, "zone1", "ACTIVE", "'2026-12-03 18:00:00.000000'", "NULL");
        server("10.0.1.2", 2, "zone1", "INACTIVE", "NULL", "NULL");
        server("10.0.2.1", 3, "zone2", "ACTIVE", "'2026-12-03 18:00:00.000000'", "NULL");
        server("10.0.3.1", 4, "zone3", "INACTIVE", "NULL", "'2026-12-03 18:10:00.000000'"); // another zone
        logStream(1, 1, "10.0.1.1", "LEADER", "YES");
        logStream(1001, 1001, "10.0.1.2", "FOLLOWER", "NO");
        logStream(1002, 1001, "10.0.2.1", "FOLLOWER", "YES");
    }

    @AfterEach
    void drop() throws InterruptedException {
        changer.shutdownNow();
        changer.awaitTermination(10, TimeUnit.SECONDS);
        DB.exec("", "SET GLOBAL general_log = OFF");
        DB.exec("", "DROP DATABASE IF EXISTS oceanbase");
    }

    private static void server(String ip, int id, String zone, String status, String start, String stop) {
        DB.exec("oceanbase", "INSERT INTO DBA_OB_SERVERS VALUES ('" + ip + "', 2882, " + id + ", '" + zone
                + "', 2881, 'NO', '" + status + "', " + start + ", " + stop + ", '4.3.5.0_100000202024123117')");
    }

    private static void logStream(int tenant, int ls, String ip, String role, String inSync) {
        DB.exec("oceanbase", "INSERT INTO GV$OB_LOG_STAT VALUES (" + tenant + ", " + ls + ", '" + ip
                + "', 2882, '" + role + "', '" + inSync + "', 1764756000000000000)");
    }

    private static SqlGate.Endpoint mariadb() {
        return new SqlGate.Endpoint("127.0.0.1", DB.port());
    }

    private static GateTiming timing(Duration timeout) {
        return new GateTiming(Duration.ZERO, Duration.ofMillis(250), timeout);
    }

    private Future<?> later(long millis, String... sql) {
        return changer.submit(() -> {
            Thread.sleep(millis);
            for (String s : sql) {
                DB.exec("oceanbase", s);
            }
            return null;
        });
    }

    @Test
    void waitsUntilEveryServerOfTheZoneServesAndNoLogStreamIsOutOfSync() throws Exception {
        DB.exec("", "TRUNCATE TABLE mysql.general_log");
        DB.exec("", "SET GLOBAL log_output = 'TABLE'");
        DB.exec("", "SET GLOBAL general_log = ON");
        SqlGate gate = SqlGate.of(List.of(mariadb()), "zone1", List.of("10.0.1.1:2882", "10.0.1.2:2882"),
                timing(Duration.ofSeconds(30)));
        // 10.0.1.2 comes into service after 1.5 s; its log stream catches up 1.5 s later
        Future<?> active = later(1500, "UPDATE DBA_OB_SERVERS SET STATUS = 'ACTIVE',"
                + " START_SERVICE_TIME = '2026-12-03 18:20:00.000000' WHERE SVR_IP = '10.0.1.2'");
        Future<?> synced = changer.submit(() -> {
            active.get();
            Thread.sleep(1500);
            DB.exec("oceanbase", "UPDATE `GV$OB_LOG_STAT` SET IN_SYNC = 'YES' WHERE SVR_IP = '10.0.1.2'");
            return null;
        });
        List<String> log = new CopyOnWriteArrayList<>();
        long t0 = System.nanoTime();
        GateResult r = new GateWaiter().await(gate, GateChecks.of(gate, ENV), log::add);
        long waited = (System.nanoTime() - t0) / 1_000_000;
        synced.get();
        assertTrue(r.passed(), r.toString());
        assertTrue(waited >= 2900, "waited for both changes: " + waited + " ms");
        String at = "SQL at 127.0.0.1:" + DB.port() + ": zone zone1: 2 servers";
        Observation first = r.observations().get(0);
        assertEquals(at + "; not serving: 10.0.1.2:2882 STATUS INACTIVE, START_SERVICE_TIME NULL;"
                + " GV$OB_LOG_STAT: 1 log stream not in sync (tenant 1001 ls 1001 on 10.0.1.2:2882)", first.text());
        assertTrue(r.observations().stream().anyMatch(o -> o.text().equals(at
                + "; GV$OB_LOG_STAT: 1 log stream not in sync (tenant 1001 ls 1001 on 10.0.1.2:2882)")),
                "seen: the server serves, its log stream not yet: " + r.observations());
        assertEquals(at + " ACTIVE and in service; no log stream out of sync", r.last().text());
        assertTrue(r.observations().size() >= 3);
        assertTrue(log.stream().anyMatch(l -> l.startsWith("check 1: not yet: " + at)), log.toString());

        // the text the server received is the text a real OceanBase would get
        List<String> texts = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(DB.adminUrl(""), MariaDbServer.USER, MariaDbServer.PASSWORD);
             Statement s = c.createStatement();
             ResultSet q = s.executeQuery("SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log"
                     + " WHERE command_type = 'Query' AND argument LIKE '%from oceanbase.%'")) {
            while (q.next()) {
                texts.add(q.getString(1));
            }
        }
        assertTrue(texts.contains("select SVR_IP, SVR_PORT, STATUS, START_SERVICE_TIME, STOP_TIME"
                + " from oceanbase.DBA_OB_SERVERS where ZONE = 'zone1'"), texts.toString());
        assertTrue(texts.contains("select TENANT_ID, LS_ID, SVR_IP, SVR_PORT from oceanbase.GV$OB_LOG_STAT"
                + " where in_sync = 'NO'"), texts.toString());
    }

    @Test
    void timesOutWithTheLastObservationAsTheReason() throws Exception {
        DB.exec("oceanbase", "UPDATE DBA_OB_SERVERS SET STATUS = 'ACTIVE', START_SERVICE_TIME = NOW(6),"
                + " STOP_TIME = '2026-12-03 18:30:00.000000' WHERE SVR_IP = '10.0.1.2'");
        DB.exec("oceanbase", "UPDATE `GV$OB_LOG_STAT` SET IN_SYNC = 'YES'");
        SqlGate gate = SqlGate.of(List.of(mariadb()), "zone1", List.of(), timing(Duration.ofMillis(1200)));
        GateResult r = new GateWaiter().await(gate, GateChecks.of(gate, ENV), GateLog.NONE);
        assertEquals(GateResult.Outcome.TIMED_OUT, r.outcome());
        int n = r.observations().size();
        assertTrue(n >= 2, r.toString());
        assertEquals("timed out after 1.2s (" + n + " checks); last: SQL at 127.0.0.1:" + DB.port()
                + ": zone zone1: 2 servers; not serving: 10.0.1.2:2882 STOP_TIME 2026-12-03 18:30:00.000000", r.reason());
    }

    @Test
    void aZoneWithoutServersOrWithoutAnExpectedServerDoesNotPass() throws Exception {
        DB.exec("oceanbase", "UPDATE `GV$OB_LOG_STAT` SET IN_SYNC = 'YES'");
        Observation none = GateChecks.of(SqlGate.of(List.of(mariadb()), "zone9", List.of(),
                timing(Duration.ofSeconds(5))), ENV).check(1);
        assertFalse(none.passed());
        assertTrue(none.text().endsWith("zone zone9: 0 servers; not serving: zone zone9 has no server in"
                + " DBA_OB_SERVERS"), none.text());
        Observation missing = GateChecks.of(SqlGate.of(List.of(mariadb()), "zone2", List.of("10.0.2.9:2882"),
                timing(Duration.ofSeconds(5))), ENV).check(1);
        assertTrue(missing.text().endsWith("zone zone2: 1 server; not serving: 10.0.2.9:2882 not in DBA_OB_SERVERS"
                + " of zone zone2"), missing.text());
        Observation zone2 = GateChecks.of(SqlGate.of(List.of(mariadb()), "zone2", List.of("10.0.2.1:2882"),
                timing(Duration.ofSeconds(5))), ENV).check(1);
        assertTrue(zone2.passed(), "zone3's stopped server does not hold zone2 back: " + zone2.text());
    }

    @Test
    void triesTheEndpointsInOrderAndNamesEveryRefusal() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            closed = s.getLocalPort();
        }
        DB.exec("oceanbase", "UPDATE DBA_OB_SERVERS SET STATUS = 'ACTIVE', START_SERVICE_TIME = NOW(6)");
        DB.exec("oceanbase", "UPDATE `GV$OB_LOG_STAT` SET IN_SYNC = 'YES'");
        SqlGate gate = SqlGate.of(List.of(new SqlGate.Endpoint("127.0.0.1", closed), mariadb()), "zone1", List.of(),
                timing(Duration.ofSeconds(5)));
        Observation o = GateChecks.of(gate, ENV).check(1);
        assertTrue(o.passed(), o.text());
        assertTrue(o.text().startsWith("SQL at 127.0.0.1:" + DB.port() + ": "), o.text());

        SqlGate nowhere = SqlGate.of(List.of(new SqlGate.Endpoint("127.0.0.1", closed)), "zone1", List.of(),
                timing(Duration.ofSeconds(5)));
        Observation refused = GateChecks.of(nowhere, ENV).check(1);
        assertFalse(refused.passed());
        assertTrue(refused.text().startsWith("no SQL connection: 127.0.0.1:" + closed + " ("), refused.text());
    }

    @Test
    void credentialsComeFromTheEnvironmentOrAFileAndThePasswordIsNeverShown() throws Exception {
        DB.exec("oceanbase", "UPDATE DBA_OB_SERVERS SET STATUS = 'ACTIVE', START_SERVICE_TIME = NOW(6)");
        DB.exec("oceanbase", "UPDATE `GV$OB_LOG_STAT` SET IN_SYNC = 'YES'");
        SqlGate gate = SqlGate.of(List.of(mariadb()), "zone1", List.of(), timing(Duration.ofSeconds(5)));

        // no password anywhere: refused before any check, naming what to set
        SqlCredentials.MissingException missing = assertThrows(SqlCredentials.MissingException.class,
                () -> GateChecks.of(gate, Map.of(SqlCredentials.USER_VARIABLE, MariaDbServer.USER)));
        assertEquals("the SQL gate of zone zone1 has no password: set OBPLAY_GATE_SQL_PASSWORD (empty for none) or"
                + " OBPLAY_GATE_SQL_PASSWORD_FILE, or give the gate a password_file; the user is OBPLAY_GATE_SQL_USER"
                + " (now obplay)", missing.getMessage());

        // a wrong password: the check says access denied, and never shows the password
        String wrong = "not-" + MariaDbServer.PASSWORD;
        Observation denied = GateChecks.of(gate, Map.of(SqlCredentials.USER_VARIABLE, MariaDbServer.USER,
                SqlCredentials.PASSWORD_VARIABLE, wrong)).check(1);
        assertFalse(denied.passed());
        assertTrue(denied.text().contains("Access denied for user 'obplay'"), denied.text());
        assertFalse(denied.text().contains(wrong), denied.text());
        assertFalse(SqlCredentials.resolve(gate, Map.of(SqlCredentials.PASSWORD_VARIABLE, wrong)).toString()
                .contains(wrong));

        // OBPLAY_GATE_SQL_PASSWORD_FILE, and the gate's own password_file (which wins)
        Path file = tmp.resolve("gate-password");
        Files.writeString(file, MariaDbServer.PASSWORD + "\n");
        assertTrue(GateChecks.of(gate, Map.of(SqlCredentials.USER_VARIABLE, MariaDbServer.USER,
                SqlCredentials.PASSWORD_FILE_VARIABLE, file.toString())).check(1).passed());
        SqlGate withFile = new SqlGate(gate.endpoints(), "zone1", List.of(), file, gate.connectTimeout(),
                gate.queryTimeout(), gate.timing());
        assertTrue(GateChecks.of(withFile, Map.of(SqlCredentials.USER_VARIABLE, MariaDbServer.USER,
                SqlCredentials.PASSWORD_VARIABLE, wrong)).check(1).passed());
        SqlGate badFile = new SqlGate(gate.endpoints(), "zone1", List.of(), tmp.resolve("nope"),
                gate.connectTimeout(), gate.queryTimeout(), gate.timing());
        SqlCredentials.MissingException unreadable = assertThrows(SqlCredentials.MissingException.class,
                () -> GateChecks.of(badFile, ENV));
        assertTrue(unreadable.getMessage().startsWith("cannot read the SQL gate's password from "
                + tmp.resolve("nope") + " (the gate's password_file): NoSuchFileException"), unreadable.getMessage());
    }

    @Test
    void aPlannedGateNodeWaitsForItsZoneOverSqlAsTheExecutorRunsIt() throws Exception {
        // the node's gate as the plan stores it (a map in additional_data), read back as the executor reads it;
        // the first endpoint refuses (nothing listens there), the next is the MariaDB
        int closed = io.obplay.testing.TestHosts.freePort("127.0.0.1");
        io.obplay.plan.GatePlan planned = new io.obplay.plan.GatePlan("zone1", 200, 250, 30_000, List.of(),
                List.of("127.0.0.1:" + closed, "127.0.0.1:" + DB.port()), "zone1", List.of("10.0.1.1:2882", "10.0.1.2:2882"),
                List.of(), "pb.yaml:4:1");
        io.obplay.plan.GatePlan read = io.obplay.plan.GatePlan.of((Object) new java.util.LinkedHashMap<>(planned.toMap()));
        assertEquals(planned, read);
        later(1000, "UPDATE DBA_OB_SERVERS SET STATUS = 'ACTIVE', START_SERVICE_TIME = '2026-12-03 18:20:00.000000'"
                + " WHERE SVR_IP = '10.0.1.2'", "UPDATE `GV$OB_LOG_STAT` SET IN_SYNC = 'YES' WHERE SVR_IP = '10.0.1.2'");
        List<String> log = new CopyOnWriteArrayList<>();
        GateResult r = new PlannedGate(read, ENV).await(() -> false, log::add);
        assertTrue(r.passed(), r + "\n" + log);
        assertTrue(log.get(0).startsWith("level 1: every server of zone1 ready"), log.toString());
        assertTrue(log.stream().anyMatch(l -> l.startsWith("level 3: SQL (the first of 127.0.0.1:" + closed)), log.toString());
        assertTrue(log.stream().anyMatch(l -> l.contains("not serving: 10.0.1.2:2882 STATUS INACTIVE")), log.toString());
        assertEquals("SQL at 127.0.0.1:" + DB.port() + ": zone zone1: 2 servers ACTIVE and in service; no log stream out of sync",
                r.last().text());

        // without a password the plan is refused before anything runs, naming the gate
        io.obplay.plan.Node node = new io.obplay.plan.Node("n", 2, "Gate [zone1]", io.obplay.plan.State.PENDING,
                io.obplay.plan.Operator.RUN, io.obplay.plan.Times.UNSET, io.obplay.plan.Times.UNSET,
                new io.obplay.plan.NodeData(1, "gate", List.of(), "zone1", 60L, 1, 0, "pb.yaml:4:1", planned).toMap(), List.of());
        io.obplay.plan.Dag dag = new io.obplay.plan.Dag("d", 1, "x", 1, 1, 0, "", io.obplay.plan.State.READY,
                io.obplay.plan.Operator.RUN, io.obplay.plan.Times.UNSET, io.obplay.plan.Times.UNSET, Map.of(), List.of(node));
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> PlannedGate.checkAll(dag, Map.of()));
        assertTrue(e.getMessage().startsWith("Gate [zone1] (pb.yaml:4:1) cannot be checked: the SQL gate of zone zone1 has no password"),
                e.getMessage());
        PlannedGate.checkAll(dag, ENV);
    }
}
