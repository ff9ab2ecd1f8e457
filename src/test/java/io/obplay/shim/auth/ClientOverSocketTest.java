package io.obplay.shim.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.obplay.shim.ObshellTestClient;
import io.obplay.shim.ObshellTestClient.HeaderChoice;
import io.obplay.shim.ObshellTestClient.Options;
import io.obplay.shim.ObshellTestClient.Response;
import io.obplay.shim.ObshellTestClient.Signed;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The test client against a real socket: a bare JDK HTTP server that answers /api/v1/info and
 * /api/v1/secret and runs {@link AuthV2} on everything else, echoing who signed and the decrypted body.
 * (The real shim is built elsewhere; this checks the client and the raw-URI handling end to end.)
 */
class ClientOverSocketTest {

    private static final RsaKeys KEYS = RsaKeys.generate();
    private static final ObjectMapper JSON = new ObjectMapper();

    private HttpServer server;
    private AuthV2 auth;
    private ObshellTestClient client;

    @BeforeEach
    void start() throws IOException {
        Clock clock = Clock.systemUTC();
        auth = new AuthV2(KEYS, Secrets.of("rootPW", "agentPW", null, null), clock, new FailureLimiter(clock));
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
        URI base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        client = new ObshellTestClient(base, Options.python("rootPW", "agentPW"), clock);
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void handle(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getRawPath();
        String query = x.getRequestURI().getRawQuery();
        byte[] raw = x.getRequestBody().readAllBytes();
        Map<String, Object> env = new LinkedHashMap<>();
        int status = 200;
        if (path.equals("/api/v1/info")) {
            env.put("data", Map.of("identity", "CLUSTER AGENT", "version", "4.5.0.0", "supportedAuth", List.of("v2"),
                    "security", true, "isObproxyAgent", false));
        } else if (path.equals("/api/v1/secret")) {
            env.put("data", Map.of("ip", "127.0.0.1", "port", server.getAddress().getPort(),
                    "public_key", KEYS.publicKeyBase64()));
        } else {
            String uri = query == null ? path : path + "?" + query;
            try {
                Verified v = auth.verify(x.getRemoteAddress().getAddress().getHostAddress(), x.getRequestMethod(),
                        uri, x.getRequestHeaders(), raw, path.startsWith("/api/v1/obproxy"));
                env.put("data", Map.of("who", v.who().kind().name(), "uri", uri, "method", x.getRequestMethod(),
                        "body", JSON.readTree(v.jsonBody())));
            } catch (AuthException e) {
                status = e.httpStatus();
                env.put("error", e.errorObject());
                if (e.retryAfterSeconds() > 0) {
                    x.getResponseHeaders().add("Retry-After", Long.toString(e.retryAfterSeconds()));
                }
            }
        }
        env.put("successful", status == 200);
        env.put("status", status);
        byte[] out = JSON.writeValueAsBytes(env);
        x.getResponseHeaders().add("Content-Type", "application/json");
        x.sendResponseHeaders(status, out.length);
        x.getResponseBody().write(out);
        x.close();
    }

    @Test
    void theSdkFlowWorksOverASocket() {
        assertEquals(KEYS.publicKey(), client.serverKey(), "the key from /api/v1/secret parses as PKCS#1");

        // security: true, so like the Python SDK every call is signed with the agent header.
        Response get = client.get("/api/v1/task/dag/22130706433028869?show_details=True");
        assertEquals(200, get.status(), get.toString());
        assertEquals("AGENT", get.data().get("who").asText());
        assertEquals("X-OCS-Agent-Header", client.lastSigned().headerName());
        assertEquals("/api/v1/task/dag/22130706433028869?show_details=True", get.data().get("uri").asText());

        Response post = client.post("/api/v1/ob/stop",
                "{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true, \"terminate\": false}");
        assertEquals(200, post.status(), post.toString());
        assertEquals("GLOBAL", post.data().get("body").get("scope").get("type").asText());
        assertTrue(post.data().get("body").get("force").asBoolean());

        Response del = client.delete("/api/v1/obproxy");
        assertEquals(200, del.status(), del.toString());
        assertEquals("DELETE", del.data().get("method").asText());
        assertEquals("{}", del.data().get("body").toString());

        // The root header, forced.
        ObshellTestClient root = client.with(o -> o.withHeader(HeaderChoice.ROOT));
        Response r = root.get("/api/v1/ob/info");
        assertEquals("ROOT", r.data().get("who").asText(), r.toString());
        Response needsAgent = root.post("/api/v1/obproxy/stop", null);
        assertEquals(400, needsAgent.status());
        assertEquals("Request.Header.NotFound", needsAgent.errCode());

        // Go spelling.
        Response go = client.with(Options::goStyle).put("/api/v1/x", "{\"a\": 1}");
        assertEquals(200, go.status(), go.toString());
        assertEquals(1, go.data().get("body").get("a").asInt());
    }

    @Test
    void percentEncodedTargetsAreComparedRaw() {
        String target = "/api/v1/tenant/t%201/parameters?names=a%2Cb&x=%E4%B8%80";
        Response r = client.get(target);
        assertEquals(200, r.status(), r.toString());
        assertEquals(target, r.data().get("uri").asText());
    }

    @Test
    void tamperedRequestsGetObshellErrorsOverTheWire() {
        Response replay = client.post("/api/v1/ob/stop", "{\"force\": true}");
        assertEquals(200, replay.status());
        Response again = client.resendLast();
        assertEquals(401, again.status());
        assertEquals("Security.Authentication.Header.Replayed", again.errCode());
        assertEquals(10008, again.legacyCode());

        Response wrong = client.with(o -> o.withAgentPassword("nope")).get("/api/v1/ob/info");
        assertEquals(401, wrong.status());
        assertEquals("Security.Authentication.IncorrectAgentPassword", wrong.errCode());
        assertEquals(10008, wrong.legacyCode());

        Response expired = client.with(o -> o.withLifetime(-5)).get("/api/v1/ob/info");
        assertEquals("Security.Authentication.Expired", expired.errCode());

        Response future = client.with(o -> o.withLifetime(3600)).get("/api/v1/ob/info");
        assertEquals("Security.Authentication.Timestamp.Invalid", future.errCode());

        Response uri = client.with(o -> o.withUri("/api/v1/other")).get("/api/v1/ob/info");
        assertEquals("Security.Authentication.Header.UriMismatch", uri.errCode());
    }

    @Test
    void rateLimitAnswers429WithRetryAfter() {
        ObshellTestClient corrupt = client.with(o -> o.withHeaderTamper(ObshellTestClient.HeaderTamper.CORRUPT_CIPHERTEXT));
        for (int i = 0; i < 5; i++) {
            Response r = corrupt.get("/api/v1/ob/info");
            assertEquals(401, r.status());
            assertEquals("Security.Authentication.Header.DecryptFailed", r.errCode());
            assertEquals(1, r.legacyCode());
        }
        Response blocked = client.get("/api/v1/ob/info");
        assertEquals(429, blocked.status());
        assertEquals("Security.Authentication.TooManyFailures", blocked.errCode());
        String retry = blocked.headers().firstValue("Retry-After").orElse(null);
        assertNotNull(retry);
        assertNotEquals(0, Long.parseLong(retry));
    }

    /** One request over a socket of its own, sent from {@code from}; returns the status and the body. */
    private String[] rawGet(String from, String pathAndQuery) throws IOException {
        Signed signed = ObshellTestClient.sign(KEYS.publicKey(), ObshellTestClient.OCS_HEADER, "rootPW", pathAndQuery, null,
                Options.python("rootPW", "agentPW"), java.time.Instant.now().getEpochSecond());
        try (java.net.Socket sock = new java.net.Socket()) {
            sock.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
            sock.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getAddress().getPort()), 10_000);
            sock.setSoTimeout(30_000);
            String req = "GET " + pathAndQuery + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + signed.headerName() + ": "
                    + signed.headerValue() + "\r\nConnection: close\r\n\r\n";
            sock.getOutputStream().write(req.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            sock.getOutputStream().flush();
            String all = new String(sock.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            String status = all.substring(all.indexOf(' ') + 1, all.indexOf(' ') + 4);
            return new String[] {status, all.substring(all.indexOf("\r\n\r\n") + 4), all};
        }
    }

    /**
     * One client (127.0.0.2) signs fresh headers as fast as it can until its share of the replay cache is used up:
     * it alone is answered 429, with a Retry-After; a second client (127.0.0.3) goes on being served, over sockets
     * of their own addresses.
     */
    @Test
    void oneClientsFloodCostsOnlyThatClient() throws Exception {
        stop();
        Clock clock = Clock.systemUTC();
        auth = new AuthV2(KEYS, Secrets.of("rootPW", "agentPW", null, null), clock, new FailureLimiter(clock),
                new ReplayCache(clock, 20, 1000));
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();

        int served = 0;
        String[] last = null;
        for (int i = 0; i < 25; i++) {
            last = rawGet("127.0.0.2", "/api/v1/ob/info?n=" + i);
            if (!last[0].equals("200")) {
                break;
            }
            served++;
        }
        assertEquals(20, served, "the flooder is served up to its share");
        assertEquals("429", last[0], last[2]);
        assertEquals("Security.Authentication.TooManyRequests", JSON.readTree(last[1]).get("error").get("errCode").asText());
        assertTrue(last[2].toLowerCase(java.util.Locale.ROOT).contains("retry-after: "), last[2]);
        assertTrue(last[1].contains("from this client"), last[1]);
        for (int i = 0; i < 5; i++) {
            String[] other = rawGet("127.0.0.3", "/api/v1/ob/info?m=" + i);
            assertEquals("200", other[0], "another client is still served: " + other[2]);
            assertEquals("ROOT", JSON.readTree(other[1]).get("data").get("who").asText());
        }
        assertEquals("429", rawGet("127.0.0.2", "/api/v1/ob/info?n=again")[0], "and the flooder is still refused");
    }
}
