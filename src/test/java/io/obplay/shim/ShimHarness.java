package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.obplay.inventory.Inventory;
import io.obplay.shim.auth.RsaKeys;
import io.obplay.shim.auth.Secrets;
import io.obplay.store.Store;
import io.obplay.store.sqlite.SqliteStore;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * An {@code obplay serve} started in this JVM on a free loopback port with the real security layer (root, agent
 * and OCP passwords), its own state directory, and the clients the tests talk to it with: {@link #client} signs
 * as the Python SDK does with the agent password ({@code security: true}), {@link #rootClient} with the root
 * password only; {@link #ocp} does HTTP Basic.
 */
final class ShimHarness implements AutoCloseable {
    static final String ROOT_PW = "r00t-Passw0rd";
    static final String AGENT_PW = "ag3nt-Passw0rd";
    static final String OCP_USER = "ocp-admin";
    static final String OCP_PW = "0cp-Passw0rd";
    static final ObjectMapper JSON = new ObjectMapper();

    final ShimServer server;
    final Store store;
    final ObshellTestClient client;
    final ObshellTestClient rootClient;
    final Path stateDir;
    private final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private ShimHarness(Inventory inv, Path stateDir, boolean dryRun, Integer obproxyCluster, Duration grace) throws IOException {
        this.stateDir = stateDir;
        this.store = SqliteStore.open(stateDir);
        PrintStream log = new PrintStream(new TeeStream(logBytes), true, StandardCharsets.UTF_8);
        RequestAuth auth = RequestAuth.secure(RsaKeys.generate(), Secrets.of(ROOT_PW, AGENT_PW, OCP_USER, OCP_PW));
        this.server = ShimServer.start(inv, store, auth, new ShimServer.Options("127.0.0.1", 0, null, null, obproxyCluster,
                dryRun, grace, Duration.ofSeconds(10), 8, Duration.ofSeconds(5), null, stateDir.toString()), log);
        this.client = new ObshellTestClient("127.0.0.1", server.port(), ROOT_PW, AGENT_PW);
        this.rootClient = new ObshellTestClient("127.0.0.1", server.port(), ROOT_PW, null);
    }

    static ShimHarness start(Inventory inv, Path stateDir, boolean dryRun) throws IOException {
        return new ShimHarness(inv, stateDir, dryRun, null, Duration.ofSeconds(5));
    }

    static ShimHarness start(Inventory inv, Path stateDir, boolean dryRun, Duration grace) throws IOException {
        return new ShimHarness(inv, stateDir, dryRun, null, grace);
    }

    int port() {
        return server.port();
    }

    String agentAddress() {
        return server.agentAddress();
    }

    /** The server's stderr so far (access log, DAG progress). */
    String log() {
        synchronized (logBytes) {
            return logBytes.toString(StandardCharsets.UTF_8);
        }
    }

    /** A plain request: no auth header, the body as given. */
    ObshellTestClient.Response raw(String method, String pathAndQuery, byte[] body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port() + pathAndQuery))
                .timeout(Duration.ofSeconds(60))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return send(b.build());
    }

    ObshellTestClient.Response send(HttpRequest req) {
        try {
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            JsonNode json = r.body() == null || r.body().isBlank() ? null : JSON.readTree(r.body());
            return new ObshellTestClient.Response(r.statusCode(), json, r.body(), r.headers());
        } catch (IOException e) {
            throw new IllegalStateException(req.method() + " " + req.uri() + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** An OCP call with HTTP Basic. */
    ObshellTestClient.Response ocp(String method, String path, String body, String user, String password) {
        String basic = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        return raw(method, path, body == null ? null : body.getBytes(StandardCharsets.UTF_8),
                "Authorization", "Basic " + basic, "Content-Type", "application/json");
    }

    ObshellTestClient.Response ocp(String method, String path, String body) {
        return ocp(method, path, body, OCP_USER, OCP_PW);
    }

    /** Polls GET /api/v1/task/dag/{id} (every 100 ms) until {@code until} holds; fails on timeout. */
    JsonNode awaitDag(String id, Predicate<JsonNode> until, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            ObshellTestClient.Response r = client.get("/api/v1/task/dag/" + id + "?show_details=true");
            assertEquals(200, r.status(), r::toString);
            last = r.data();
            if (until.test(last)) {
                return last;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        fail("DAG " + id + " did not get there within " + timeout + "; last: " + last + "\nserver log:\n" + log());
        return null;
    }

    JsonNode awaitState(String id, String state, Duration timeout) {
        return awaitDag(id, d -> state.equals(d.get("state").asText()), timeout);
    }

    // ----------------------------------------------------------------------------------------- assertions

    /** obshell's envelope: field types, status = HTTP status, RFC 3339 timestamp, traceId; OCP's has server. */
    static void assertEnvelope(ObshellTestClient.Response r, int status, boolean ocp) {
        assertEquals(status, r.status(), r::toString);
        JsonNode j = r.json();
        assertNotNull(j, "a JSON body");
        assertTrue(j.get("successful").isBoolean());
        assertEquals(status < 400, j.get("successful").asBoolean(), r::toString);
        assertTrue(j.get("timestamp").isTextual());
        OffsetDateTime.parse(j.get("timestamp").asText());
        assertTrue(j.get("duration").isIntegralNumber(), "duration is an int");
        assertTrue(j.get("duration").asLong() >= 0);
        assertTrue(j.get("status").isIntegralNumber());
        assertEquals(status, j.get("status").asInt());
        assertTrue(j.get("traceId").isTextual() && !j.get("traceId").asText().isEmpty());
        assertEquals(ocp, j.has("server"), "server only in OCP's envelope: " + r);
        if (status < 400) {
            assertFalse(j.has("error"), "no error on success: " + r);
        } else {
            assertFalse(j.has("data"), "no data on an error: " + r);
        }
    }

    /** An error answer: status, errCode, legacy code, message; no data. */
    static void assertError(ObshellTestClient.Response r, int status, String errCode, int legacy, String messagePart) {
        assertEnvelope(r, status, r.json() != null && r.json().has("server"));
        JsonNode e = r.error();
        assertNotNull(e, r::toString);
        assertEquals(errCode, e.get("errCode").asText(), r::toString);
        if (legacy != 0) {
            assertTrue(e.get("code").isIntegralNumber(), r::toString);
            assertEquals(legacy, e.get("code").asInt(), r::toString);
        }
        assertTrue(e.get("message").isTextual());
        if (messagePart != null) {
            assertTrue(e.get("message").asText().contains(messagePart), () -> "message should contain '" + messagePart + "': " + r);
        }
    }

    @Override
    public void close() {
        server.stop();
        store.close();
    }

    /** Keeps the server log in memory and on this JVM's stderr (surefire puts it in the test's output file). */
    private static final class TeeStream extends java.io.OutputStream {
        private final ByteArrayOutputStream mem;

        TeeStream(ByteArrayOutputStream mem) {
            this.mem = mem;
        }

        @Override
        public void write(int b) {
            synchronized (mem) {
                mem.write(b);
            }
            System.err.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            synchronized (mem) {
                mem.write(b, off, len);
            }
            System.err.write(b, off, len);
        }
    }
}
