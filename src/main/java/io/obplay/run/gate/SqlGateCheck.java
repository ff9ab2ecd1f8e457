package io.obplay.run.gate;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

/**
 * One look of a {@link SqlGate}: a fresh connection (the server we talked to last may be the one restarting), then
 * two queries.
 *
 * <p>The conditions are obshell's before it moves on in a rolling upgrade: {@code waitAllObSeverAvailable}
 * ({@code ob/agent/executor/ob/upgrade_ob_restart.go:162-186}, oceanbase/obshell at 61ee147) counts
 * <pre>select count(*) from oceanbase.DBA_OB_SERVERS where STATUS != 'ACTIVE' or STOP_TIME is not NULL or START_SERVICE_TIME is NULL
 * select count(*) from oceanbase.GV$OB_LOG_STAT where in_sync = 'NO'</pre>
 * ({@code GetInactiveServerCount} / {@code GetNotInSyncServerCount}, {@code ob/agent/service/obcluster/obcluster.go:498,507})
 * and waits until both are 0. OBD waits for the same two in its 4.x upgrade ({@code broken_sql} of
 * {@code plugins/oceanbase/4.2.1.4/upgrade.py:382-383}, oceanbase/obdeploy at a3e8c47); its rolling restart
 * ({@code workflows/oceanbase/4.2.1.4/restart.py} runs {@code plugins/oceanbase/4.0.0.0/start_zone.py:44}) waits
 * on the 3.x form {@code status != 'active' or stop_time > 0 or start_service_time = 0} of
 * {@code oceanbase.__all_server}, where the times are integers; in 4.x's {@code DBA_OB_SERVERS} they are
 * timestamps, NULL when unset, hence obshell's form.
 *
 * <p>obplay restricts the servers to the gate's zone (the zone just restarted), reads the rows instead of counting
 * them so that a failed wait names the server and what it lacks, and checks the log streams of the whole cluster as
 * both tools do. The text sent is exactly {@link #SERVERS_QUERY} (the zone substituted by the driver as a quoted
 * literal) and {@link #LOG_STAT_QUERY}.
 */
final class SqlGateCheck implements GateCheck {
    static final String SERVERS_QUERY = "select SVR_IP, SVR_PORT, STATUS, START_SERVICE_TIME, STOP_TIME"
            + " from oceanbase.DBA_OB_SERVERS where ZONE = ?";
    static final String LOG_STAT_QUERY = "select TENANT_ID, LS_ID, SVR_IP, SVR_PORT"
            + " from oceanbase.GV$OB_LOG_STAT where in_sync = 'NO'";
    private static final int NAMED = 5;

    private final SqlGate gate;
    private final SqlCredentials credentials;

    SqlGateCheck(SqlGate gate, SqlCredentials credentials) {
        this.gate = gate;
        this.credentials = credentials;
    }

    @Override
    public Observation check(int attempt) {
        List<String> refusals = new ArrayList<>();
        for (SqlGate.Endpoint endpoint : gate.endpoints()) {
            Connection c;
            try {
                c = DriverManager.getConnection(url(endpoint), properties());
            } catch (SQLException e) {
                refusals.add(endpoint + " (" + message(e) + ")");
                continue;
            }
            try (c) {
                return look(attempt, endpoint, c);
            } catch (SQLException e) {
                return Observation.notYet(attempt, "SQL at " + endpoint + ": " + message(e));
            }
        }
        return Observation.notYet(attempt, "no SQL connection: " + String.join("; ", refusals));
    }

    private Observation look(int attempt, SqlGate.Endpoint endpoint, Connection c) throws SQLException {
        List<String> problems = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        try (PreparedStatement s = c.prepareStatement(SERVERS_QUERY)) {
            s.setString(1, gate.zone());
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    String server = r.getString("SVR_IP") + ":" + r.getLong("SVR_PORT");
                    seen.add(server);
                    String status = r.getString("STATUS");
                    String start = r.getString("START_SERVICE_TIME");
                    String stop = r.getString("STOP_TIME");
                    List<String> lacks = new ArrayList<>();
                    if (!"ACTIVE".equals(status)) {
                        lacks.add("STATUS " + status);
                    }
                    if (start == null) {
                        lacks.add("START_SERVICE_TIME NULL");
                    }
                    if (stop != null) {
                        lacks.add("STOP_TIME " + stop);
                    }
                    if (!lacks.isEmpty()) {
                        problems.add(server + " " + String.join(", ", lacks));
                    }
                }
            }
        }
        for (String expected : gate.expectedServers()) {
            if (!seen.contains(expected)) {
                problems.add(expected + " not in DBA_OB_SERVERS of zone " + gate.zone());
            }
        }
        if (seen.isEmpty() && gate.expectedServers().isEmpty()) {
            problems.add("zone " + gate.zone() + " has no server in DBA_OB_SERVERS");
        }
        List<String> unsynced = new ArrayList<>();
        int count = 0;
        try (PreparedStatement s = c.prepareStatement(LOG_STAT_QUERY); ResultSet r = s.executeQuery()) {
            while (r.next()) {
                if (count++ < NAMED) {
                    unsynced.add("tenant " + r.getLong("TENANT_ID") + " ls " + r.getLong("LS_ID") + " on "
                            + r.getString("SVR_IP") + ":" + r.getLong("SVR_PORT"));
                }
            }
        }
        String where = "SQL at " + endpoint + ": ";
        String servers = "zone " + gate.zone() + ": " + seen.size() + (seen.size() == 1 ? " server" : " servers");
        if (problems.isEmpty() && count == 0) {
            return Observation.pass(attempt, where + servers + " ACTIVE and in service; no log stream out of sync");
        }
        StringBuilder text = new StringBuilder(where).append(servers);
        if (!problems.isEmpty()) {
            text.append("; not serving: ").append(String.join("; ", problems));
        }
        if (count > 0) {
            text.append("; GV$OB_LOG_STAT: ").append(count).append(count == 1 ? " log stream" : " log streams")
                    .append(" not in sync (").append(String.join(", ", unsynced))
                    .append(count > NAMED ? ", ..." : "").append(")");
        }
        return Observation.notYet(attempt, text.toString());
    }

    private String url(SqlGate.Endpoint endpoint) {
        return "jdbc:mariadb://" + endpoint + "/?connectTimeout=" + gate.connectTimeout().toMillis()
                + "&socketTimeout=" + gate.queryTimeout().toMillis();
    }

    private Properties properties() {
        Properties p = new Properties();
        p.setProperty("user", credentials.user());
        p.setProperty("password", credentials.password());
        return p;
    }

    private String message(SQLException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return credentials.scrub(m.replaceAll("\\s+", " ").strip());
    }
}
