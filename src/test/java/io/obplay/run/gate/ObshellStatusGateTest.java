package io.obplay.run.gate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Level 2 against a real HTTP server on a real socket, answering as obshell's {@code GET /api/v1/status} does
 * (envelope {@code successful/timestamp/duration/status/traceId/data}, {@code data} an {@code AgentStatus}).
 */
@Timeout(60)
class ObshellStatusGateTest {

    private HttpServer server;
    private final List<String> requests = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    /** An obshell 4.x status body with this obState (copied in shape from a real agent's answer). */
    static String statusBody(int obState) {
        return "{\"successful\":true,\"timestamp\":\"2026-12-03T18:20:30.742036555+08:00\",\"duration\":3,"
                + "\"status\":200,\"traceId\":\"78212f90cb17ff29\",\"data\":{\"agent\":{\"ip\":\"127.0.0.1\","
                + "\"port\":2886,\"identity\":\"CLUSTER AGENT\"},\"state\":2,\"version\":\"4.5.0.0-2026050809\","
                + "\"pid\":4242,\"startAt\":1764756000000000000,\"port\":2886,\"obState\":" + obState
                + ",\"sqlPort\":2881,\"underMaintenance\":false}}";
    }

    private interface Answer {
        void send(com.sun.net.httpserver.HttpExchange x, int n) throws IOException;
    }

    private int serve(Answer answer) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        AtomicInteger n = new AtomicInteger();
        server.createContext("/", x -> {
            requests.add(x.getRequestMethod() + " " + x.getRequestURI());
            answer.send(x, n.incrementAndGet());
            x.close();
        });
        server.start();
        return server.getAddress().getPort();
    }

    private static void reply(com.sun.net.httpserver.HttpExchange x, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
        x.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
        if (b.length > 0) {
            try (OutputStream o = x.getResponseBody()) {
                o.write(b);
            }
        }
    }

    private static GateTiming quick(Duration timeout) {
        return new GateTiming(Duration.ZERO, Duration.ofMillis(200), timeout);
    }

    @Test
    void waitsThroughNotYetStatesUntilObState3() throws Exception {
        int port = serve((x, n) -> reply(x, 200, statusBody(n == 1 ? 0 : n == 2 ? 1 : n == 3 ? 2 : 3)));
        ObshellStatusGate gate = ObshellStatusGate.of("127.0.0.1", port, quick(Duration.ofSeconds(20)));
        List<String> log = new CopyOnWriteArrayList<>();
        GateResult r = new GateWaiter().await(gate, log::add);
        assertTrue(r.passed(), r.toString());
        assertEquals(4, r.observations().size());
        String where = "obshell at 127.0.0.1:" + port + ": ";
        assertEquals(where + "obState 0 (OB process not running), waiting for 3 (AVAILABLE)",
                r.observations().get(0).text());
        assertEquals(where + "obState 1 (OB process running with no connection), waiting for 3 (AVAILABLE)",
                r.observations().get(1).text());
        assertEquals(where + "obState 2 (OB process running with restricted connection), waiting for 3 (AVAILABLE)",
                r.observations().get(2).text());
        assertEquals(where + "obState 3 (OB process running with available connection)", r.last().text());
        assertEquals("GET /api/v1/status?ob_query_timeout=2000000", requests.get(0));
        assertEquals(4, requests.size());
        assertTrue(log.contains("check 4: passed: " + r.last().text()), log.toString());
    }

    @Test
    void connectionRefusedTimesOutWithThatReason() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        ObshellStatusGate gate = ObshellStatusGate.of("127.0.0.1", port, quick(Duration.ofMillis(900)));
        GateResult r = new GateWaiter().await(gate, GateLog.NONE);
        assertEquals(GateResult.Outcome.TIMED_OUT, r.outcome());
        assertTrue(r.observations().size() >= 2, r.toString());
        assertEquals("timed out after 0.9s (" + r.observations().size() + " checks); last: obshell at 127.0.0.1:"
                + port + ": connection refused (is obshell running on that port?)", r.reason());
    }

    @Test
    void garbageJsonA500AndAnEnvelopeWithoutObStateEachSayWhat() throws Exception {
        int port = serve((x, n) -> {
            switch (n) {
                case 1 -> reply(x, 200, "<html>It works!</html>");
                case 2 -> reply(x, 500, "{\"successful\":false,\"timestamp\":\"2026-12-03T18:20:30+08:00\","
                        + "\"duration\":1,\"status\":500,\"traceId\":\"ab\",\"error\":{\"code\":1002,"
                        + "\"errCode\":\"Common.Unexpected\",\"message\":\"Unexpected error: boom\"}}");
                case 3 -> reply(x, 502, "Bad Gateway");
                case 4 -> reply(x, 200, "{\"successful\":true,\"status\":200,\"data\":{\"state\":2}}");
                case 5 -> reply(x, 200, "{\"successful\":false,\"status\":200,\"error\":{\"errCode\":\"X\","
                        + "\"message\":\"task service not running\"}}");
                default -> reply(x, 200, "{\"successful\":true,\"status\":200,\"data\":{\"obState\":\"3\"}}");
            }
        });
        ObshellStatusGate gate = ObshellStatusGate.of("127.0.0.1", port, quick(Duration.ofMillis(1500)));
        GateCheck check = GateChecks.of(gate);
        String where = "obshell at 127.0.0.1:" + port + ": ";
        assertEquals(where + "the answer is not obshell's JSON envelope: '<html>It works!</html>'",
                check.check(1).text());
        assertEquals(where + "HTTP 500: Unexpected error: boom", check.check(2).text());
        assertEquals(where + "HTTP 502: 'Bad Gateway'", check.check(3).text());
        assertEquals(where + "the answer has no numeric data.obState: "
                + "'{\"successful\":true,\"status\":200,\"data\":{\"state\":2}}'", check.check(4).text());
        assertEquals(where + "successful is not true: task service not running", check.check(5).text());
        Observation sixth = check.check(6);
        assertFalse(sixth.passed(), "a string \"3\" is not obshell's number");
        assertTrue(sixth.text().startsWith(where + "the answer has no numeric data.obState"), sixth.text());
    }

    @Test
    void anAnswerSlowerThanTheRequestTimeoutIsNotYet() throws Exception {
        int port = serve((x, n) -> {
            try {
                Thread.sleep(1500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            reply(x, 200, statusBody(3));
        });
        ObshellStatusGate gate = new ObshellStatusGate("127.0.0.1", port, 0, Duration.ofSeconds(1),
                Duration.ofMillis(500), quick(Duration.ofSeconds(5)));
        Observation o = GateChecks.of(gate).check(1);
        assertFalse(o.passed());
        assertEquals("obshell at 127.0.0.1:" + port + ": no answer within 0.5s", o.text());
        assertTrue(TestWait.until(() -> !requests.isEmpty()));
        assertEquals("GET /api/v1/status", requests.get(0), "ob_query_timeout 0 sends no query");
    }
}
