package io.obplay.run.gate;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One {@code GET /api/v1/status} (see {@link ObshellStatusGate}). The answer is obshell's envelope
 * ({@code OcsAgentResponse}, {@code ob/agent/lib/http/response.go:35}: {@code successful}, {@code timestamp},
 * {@code duration}, {@code status}, {@code traceId}, {@code data}, {@code error}) around {@code http.AgentStatus}
 * ({@code ob/agent/lib/http/status.go:27}: {@code agent}, {@code state}, {@code version}, {@code pid},
 * {@code startAt}, {@code port}, {@code obState}, {@code sqlPort}, {@code underMaintenance}). {@code obState} is
 * 0..3 as {@code ob/agent/repository/db/oceanbase/status.go:19-38} names them.
 */
final class ObshellStatusCheck implements GateCheck {
    static final int AVAILABLE = 3;
    private static final Map<Integer, String> STATES = Map.of(
            0, "OB process not running",
            1, "OB process running with no connection",
            2, "OB process running with restricted connection",
            3, "OB process running with available connection");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SHOWN = 200;

    private final ObshellStatusGate gate;
    private final HttpClient client;

    ObshellStatusCheck(ObshellStatusGate gate) {
        this.gate = gate;
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(gate.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .proxy(HttpClient.Builder.NO_PROXY)
                .build();
    }

    @Override
    public Observation check(int attempt) throws InterruptedException {
        String where = "obshell at " + io.obplay.inventory.HostName.withPort(gate.host(), gate.agentPort());
        HttpResponse<String> answer;
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(gate.url()))
                    .timeout(gate.requestTimeout())
                    .header("Accept", "application/json")
                    .GET().build();
            answer = client.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (HttpConnectTimeoutException e) {
            return Observation.notYet(attempt, where + ": no connection within "
                    + GateWaiter.text(gate.connectTimeout()));
        } catch (HttpTimeoutException e) {
            return Observation.notYet(attempt, where + ": no answer within " + GateWaiter.text(gate.requestTimeout()));
        } catch (ConnectException e) {
            return Observation.notYet(attempt, where + ": connection refused (is obshell running on that port?)");
        } catch (IOException e) {
            return Observation.notYet(attempt, where + ": " + describe(e));
        }
        String body = answer.body() == null ? "" : answer.body();
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            root = null;
        }
        if (answer.statusCode() != 200) {
            String message = root == null ? null : root.path("error").path("message").asText(null);
            return Observation.notYet(attempt, where + ": HTTP " + answer.statusCode()
                    + (message != null ? ": " + message : body.isBlank() ? "" : ": " + shown(body)));
        }
        if (root == null || !root.isObject()) {
            return Observation.notYet(attempt, where + ": the answer is not obshell's JSON envelope: " + shown(body));
        }
        if (!root.path("successful").asBoolean(false)) {
            String message = root.path("error").path("message").asText("");
            return Observation.notYet(attempt, where + ": successful is not true"
                    + (message.isEmpty() ? ": " + shown(body) : ": " + message));
        }
        JsonNode obState = root.path("data").path("obState");
        if (!obState.isInt()) {
            return Observation.notYet(attempt, where + ": the answer has no numeric data.obState: " + shown(body));
        }
        int state = obState.intValue();
        String words = "obState " + state + " (" + STATES.getOrDefault(state, "unknown") + ")";
        if (state == AVAILABLE) {
            return Observation.pass(attempt, where + ": " + words);
        }
        return Observation.notYet(attempt, where + ": " + words + ", waiting for 3 (AVAILABLE)");
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
    }

    private static String shown(String body) {
        String one = body.replaceAll("\\s+", " ").replaceAll("[\\p{Cntrl}\\p{Cf}]", "?").strip();
        return one.length() <= SHOWN ? "'" + one + "'" : "'" + one.substring(0, SHOWN) + "...' (" + body.length()
                + " chars)";
    }
}
