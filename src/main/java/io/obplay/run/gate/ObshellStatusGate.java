package io.obplay.run.gate;

import java.time.Duration;
import java.util.Objects;

import io.obplay.inventory.HostName;

/**
 * Level 2: obshell's {@code GET /api/v1/status} on {@code host:agentPort} answers {@code data.obState} 3
 * ({@code STATE_CONNECTION_AVAILABLE}: obshell could open a SQL connection to its observer). The route needs no
 * authentication (obshell {@code ob/agent/api/agent_route.go:106}, answered by {@code StatusHandler},
 * {@code ob/agent/api/info_handler.go:124}).
 *
 * @param obQueryTimeoutMicros sent as {@code ?ob_query_timeout=}: how long obshell may wait for its observer's
 *                             answer before it reports a lower state (obshell's own forwarded status request sends
 *                             it too, {@code ob/agent/api/utils.go:56}; without it obshell waits 10 s); 0 sends none
 * @param connectTimeout       to open the TCP connection
 * @param requestTimeout       for the whole answer; keep it above {@code obQueryTimeoutMicros}
 */
public record ObshellStatusGate(String host, int agentPort, long obQueryTimeoutMicros, Duration connectTimeout,
                                Duration requestTimeout, GateTiming timing) implements Gate {

    public static final long DEFAULT_OB_QUERY_TIMEOUT_MICROS = 2_000_000L;
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(5);

    public ObshellStatusGate {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        Objects.requireNonNull(timing, "timing");
        if (agentPort <= 0 || agentPort > 65535) {
            throw new IllegalArgumentException("agent port out of range: " + agentPort);
        }
        if (obQueryTimeoutMicros < 0) {
            throw new IllegalArgumentException("ob_query_timeout must not be negative: " + obQueryTimeoutMicros);
        }
    }

    /** The defaults: ob_query_timeout 2 s, connect 2 s, answer 5 s. */
    public static ObshellStatusGate of(String host, int agentPort, GateTiming timing) {
        return new ObshellStatusGate(host, agentPort, DEFAULT_OB_QUERY_TIMEOUT_MICROS, DEFAULT_CONNECT_TIMEOUT,
                DEFAULT_REQUEST_TIMEOUT, timing);
    }

    /** {@code /api/v1/status} with the {@code ob_query_timeout} query, if any. */
    public String path() {
        return "/api/v1/status" + (obQueryTimeoutMicros > 0 ? "?ob_query_timeout=" + obQueryTimeoutMicros : "");
    }

    public String url() {
        return "http://" + HostName.withPort(host, agentPort) + path();
    }

    @Override
    public GateLevel level() {
        return GateLevel.OBSHELL_STATUS;
    }

    @Override
    public String describe() {
        return "obState 3 (AVAILABLE) from obshell's GET " + url();
    }
}
