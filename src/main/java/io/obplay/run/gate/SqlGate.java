package io.obplay.run.gate;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

import io.obplay.inventory.HostName;

/**
 * Level 3: over the MySQL protocol, every server of {@code zone} in {@code oceanbase.DBA_OB_SERVERS} is
 * {@code ACTIVE}, in service ({@code START_SERVICE_TIME} set) and not stopped ({@code STOP_TIME} not set), and no row
 * of {@code oceanbase.GV$OB_LOG_STAT} says {@code in_sync = 'NO'} (in the whole cluster, as obshell and OBD check
 * it). The queries are in {@link SqlGateCheck}, with where they come from.
 *
 * <p>The user and password are never settings of a playbook: see {@link SqlCredentials} (the environment
 * variables {@value SqlCredentials#USER_VARIABLE}, {@value SqlCredentials#PASSWORD_VARIABLE},
 * {@value SqlCredentials#PASSWORD_FILE_VARIABLE}, or {@code passwordFile} here).
 *
 * @param endpoints       where to connect ({@code host:mysql_port} of observers, or an obproxy), tried in order until
 *                        one accepts; during a rolling restart, name servers of the other zones first
 * @param zone            the zone whose servers must all be serving
 * @param expectedServers {@code ip:rpc_port} of servers that must be in the zone's rows (may be empty: then the
 *                        zone must have at least one row)
 * @param passwordFile    a file whose content (one trailing newline removed) is the password; null: from the
 *                        environment
 * @param connectTimeout  for each connection attempt
 * @param queryTimeout    the socket timeout of each query
 */
public record SqlGate(List<Endpoint> endpoints, String zone, List<String> expectedServers, Path passwordFile,
                      Duration connectTimeout, Duration queryTimeout, GateTiming timing) implements Gate {

    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(3);
    public static final Duration DEFAULT_QUERY_TIMEOUT = Duration.ofSeconds(10);

    /** A MySQL-protocol address. */
    public record Endpoint(String host, int port) {
        public Endpoint {
            Objects.requireNonNull(host, "host");
            if (port <= 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
        }

        @Override
        public String toString() {
            return HostName.withPort(host, port);
        }
    }

    public SqlGate {
        endpoints = List.copyOf(endpoints);
        expectedServers = List.copyOf(expectedServers);
        Objects.requireNonNull(zone, "zone");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(queryTimeout, "queryTimeout");
        Objects.requireNonNull(timing, "timing");
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("a SQL gate needs at least one endpoint to connect to");
        }
        if (zone.isBlank()) {
            throw new IllegalArgumentException("a SQL gate needs a zone");
        }
    }

    /** Connect 3 s, query 10 s, password from the environment. */
    public static SqlGate of(List<Endpoint> endpoints, String zone, List<String> expectedServers, GateTiming timing) {
        return new SqlGate(endpoints, zone, expectedServers, null, DEFAULT_CONNECT_TIMEOUT, DEFAULT_QUERY_TIMEOUT,
                timing);
    }

    @Override
    public GateLevel level() {
        return GateLevel.SQL;
    }

    @Override
    public String describe() {
        return "zone " + zone + " ACTIVE in DBA_OB_SERVERS and no GV$OB_LOG_STAT row out of sync, over SQL at "
                + String.join(", ", endpoints.stream().map(Endpoint::toString).toList());
    }
}
