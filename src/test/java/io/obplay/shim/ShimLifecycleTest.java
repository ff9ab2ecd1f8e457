package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.cli.Main;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.obplay.shim.ShimHarness.AGENT_PW;
import static io.obplay.shim.ShimHarness.ROOT_PW;
import static io.obplay.shim.ShimHarness.assertEnvelope;
import static io.obplay.shim.ShimHarness.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The life of {@code obplay serve} as a process: killed while a DAG runs and started again on the same state
 * directory (the DAG is FAILED with a log line saying why, and RETRY finishes it); SIGTERM with a request in
 * flight (it is answered, then the server stops); refusing to start without a password or with
 * {@code --insecure-no-auth} off loopback; HTTPS.
 */
@Timeout(180)
class ShimLifecycleTest {
    static final Map<String, String> PASSWORDS = Map.of("OBPLAY_ROOT_PASSWORD", ROOT_PW, "OBPLAY_AGENT_PASSWORD", AGENT_PW);

    @TempDir
    Path tmp;
    final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    ServeProcess serve(String name, Map<String, String> env, String... args) throws Exception {
        ServeProcess p = ServeProcess.start(tmp.resolve(name + ".err"), env, List.of(args));
        toClose.add(p);
        return p;
    }

    @Test
    void aDagRunningWhenTheServerIsKilledIsFailedAfterARestartAndRetryFinishesIt() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        ShimFleet.Observer z1 = fleet.observers.get(0);
        long pid = fleet.start(z1, "--ignore-term");
        Path inv = fleet.writeInventory();
        Path state = tmp.resolve("state");
        int port = TestHosts.freePort("127.0.0.1");
        String[] args = {"-i", inv.toString(), "--state-dir", state.toString(), "--listen", "127.0.0.1:" + port, "--grace", "6s"};

        ServeProcess first = serve("first", PASSWORDS, args);
        first.awaitListening(Duration.ofSeconds(60));
        ObshellTestClient client = new ObshellTestClient("127.0.0.1", port, ROOT_PW, AGENT_PW);
        ObshellTestClient.Response r = client.post("/api/v1/ob/stop",
                "{\"scope\": {\"type\": \"SERVER\", \"target\": [\"" + z1.address() + "\"]}, \"terminate\": true}");
        assertEnvelope(r, 200, false);
        String id = r.data().get("id").asText();
        // wait until the stop runs (TERM sent, the stand-in ignores it, the grace is running), then kill the server
        assertTrue(TestHosts.await(() -> {
            JsonNode d = client.get("/api/v1/task/dag/" + id).data();
            return d.get("nodes").get(1).get("sub_tasks").get(0).get("state").asText().equals("RUNNING");
        }, Duration.ofSeconds(30)), "the stop stage runs");
        first.process.destroyForcibly();
        first.process.waitFor();
        assertTrue(ShimFleet.alive(pid), "the observer ignored TERM and was not killed yet");

        ServeProcess second = serve("second", PASSWORDS, args);
        second.awaitListening(Duration.ofSeconds(60));
        assertTrue(second.err().contains("DAG " + id + " (Stop OB) was running when its obplay process stopped: marked FAILED"), second.err());
        ObshellTestClient again = new ObshellTestClient("127.0.0.1", port, ROOT_PW, AGENT_PW);
        JsonNode failed = again.get("/api/v1/task/dag/" + id).data();
        assertEquals("FAILED", failed.get("state").asText(), failed.toString());
        JsonNode stopTask = failed.get("nodes").get(1).get("sub_tasks").get(0);
        assertEquals("FAILED", stopTask.get("state").asText());
        JsonNode logs = stopTask.get("task_logs");
        assertTrue(logs.get(logs.size() - 1).asText().contains("stopped while this ran; its outcome is unknown"), logs.toString());
        // the same record in the CLI
        StringWriter out = new StringWriter();
        int code = Main.execute(new PrintWriter(out), new PrintWriter(new StringWriter()), "dag", "show", id, "--state-dir", state.toString());
        assertEquals(0, code);
        assertTrue(out.toString().contains("FAILED"), out.toString());

        assertEnvelope(again.post("/api/v1/task/dag/" + id, "{\"operator\": \"RETRY\"}"), 200, false);
        assertTrue(TestHosts.await(() -> again.get("/api/v1/task/dag/" + id).data().get("state").asText().equals("SUCCEED"),
                Duration.ofSeconds(60)), () -> "RETRY finishes it: " + again.get("/api/v1/task/dag/" + id) + "\n" + second.err());
        assertFalse(ShimFleet.alive(pid), "the observer is gone");
        assertFalse(ShimFleet.listening(z1.mysqlPort()));
    }

    /**
     * A DAG the server created and never started (here: --dry-run) when it was killed: it held the maintenance lock
     * as READY, owned by the dead server. The next start marks it FAILED with a log line saying nothing ran; PASS
     * then releases the lock.
     */
    @Test
    void aDagCreatedButNeverStartedWhenTheServerIsKilledIsFailedAfterARestart() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        Path inv = fleet.writeInventory();
        Path state = tmp.resolve("state");
        int port = TestHosts.freePort("127.0.0.1");
        List<String> args = List.of("-i", inv.toString(), "--state-dir", state.toString(), "--listen", "127.0.0.1:" + port);
        List<String> dry = new ArrayList<>(args);
        dry.add("--dry-run");

        ServeProcess first = serve("first", PASSWORDS, dry.toArray(new String[0]));
        first.awaitListening(Duration.ofSeconds(60));
        ObshellTestClient client = new ObshellTestClient("127.0.0.1", port, ROOT_PW, AGENT_PW);
        String body = "{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true}";
        ObshellTestClient.Response r = client.post("/api/v1/ob/stop", body);
        assertEnvelope(r, 200, false);
        String id = r.data().get("id").asText();
        assertEquals("READY", client.get("/api/v1/task/dag/" + id).data().get("state").asText());
        long firstPid = first.process.pid();
        first.process.destroyForcibly();
        first.process.waitFor();

        ServeProcess second = serve("second", PASSWORDS, args.toArray(new String[0]));
        second.awaitListening(Duration.ofSeconds(60));
        assertTrue(second.err().contains("DAG " + id + " (Stop OB) was READY, never started, when its obplay process ("
                + firstPid + "@"), second.err());
        assertTrue(second.err().contains("marked FAILED (nothing of it ran); RETRY runs it, PASS drops it"), second.err());
        ObshellTestClient again = new ObshellTestClient("127.0.0.1", port, ROOT_PW, AGENT_PW);
        JsonNode failed = again.get("/api/v1/task/dag/" + id).data();
        assertEquals("FAILED", failed.get("state").asText(), failed.toString());
        JsonNode first1 = failed.get("nodes").get(0);
        assertEquals("FAILED", first1.get("state").asText());
        JsonNode logs = first1.get("sub_tasks").get(0).get("task_logs");
        assertTrue(logs.get(logs.size() - 1).asText().startsWith("not run: obplay (" + firstPid + "@"), logs.toString());
        assertTrue(logs.get(logs.size() - 1).asText().contains("stopped before it started this DAG; nothing ran"), logs.toString());
        for (JsonNode node : failed.get("nodes")) {
            for (JsonNode t : node.get("sub_tasks")) {
                assertEquals(0, t.get("execute_times").asInt(), "nothing ran: " + t);
            }
        }
        // still the lock holder until passed, as any FAILED maintenance DAG
        ObshellTestClient.Response locked = again.post("/api/v1/ob/stop", body);
        assertEquals(500, locked.status());
        assertEnvelope(again.post("/api/v1/task/dag/" + id, "{\"operator\": \"PASS\"}"), 200, false);
        assertEquals("SUCCEED", again.get("/api/v1/task/dag/" + id).data().get("state").asText());
    }

    @Test
    void sigtermAnswersTheRequestInFlightThenStops() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        ServeProcess p = serve("serve", PASSWORDS, "-i", fleet.writeInventory().toString(), "--state-dir", tmp.resolve("state").toString(),
                "--listen", "127.0.0.1:0", "--drain", "20s");
        int port = p.awaitListening(Duration.ofSeconds(60));
        ObshellTestClient client = new ObshellTestClient("127.0.0.1", port, ROOT_PW, AGENT_PW);
        String agentPart = String.format("%010d%05d", io.obplay.plan.GenericId.ipv4("127.0.0.1"), port);
        String uri = "/api/v1/task/dag/2" + agentPart + "77";
        ObshellTestClient.Signed s = ObshellTestClient.sign(client.serverKey(), ObshellTestClient.OCS_AGENT_HEADER, AGENT_PW, uri,
                "{\"operator\": \"RETRY\"}", ObshellTestClient.Options.python(ROOT_PW, AGENT_PW), System.currentTimeMillis() / 1000);
        byte[] body = s.body();
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(30_000);
            OutputStream o = socket.getOutputStream();
            o.write(("POST " + uri + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n" + s.headerName() + ": " + s.headerValue()
                    + "\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            o.write(body, 0, body.length / 2);
            o.flush();
            Thread.sleep(500); // the handler is now waiting for the rest of the body
            p.process.destroy(); // SIGTERM
            assertTrue(TestHosts.await(() -> p.err().contains("draining 1 in-flight request(s)"), Duration.ofSeconds(15)), p.err());
            assertTrue(TestHosts.await(() -> !TestHosts.canConnect("127.0.0.1", port, 300), Duration.ofSeconds(10)),
                    "no new connections once stopping");
            assertTrue(p.process.isAlive(), "still draining");
            o.write(body, body.length / 2, body.length - body.length / 2);
            o.flush();
            InputStream in = socket.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(response.startsWith("HTTP/1.1 404"), response);
            JsonNode json = ShimHarness.JSON.readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
            assertEquals("Task.NotFound", json.get("error").get("errCode").asText(), "a whole answer: " + json);
        }
        int code = p.awaitExit(Duration.ofSeconds(30));
        assertEquals(143, code, "ended by SIGTERM after the drain:\n" + p.err());
        assertTrue(p.err().contains("obplay serve: stopped"), p.err());
        assertTrue(p.err().contains("\"POST " + uri + "\" 404"), "the drained request is in the access log:\n" + p.err());
    }

    @Test
    void refusesToStartWithoutAPasswordAndInsecureOnlyOnLoopback() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        String inv = fleet.writeInventory().toString();
        String state = tmp.resolve("state").toString();

        ServeProcess none = serve("none", Map.of(), "-i", inv, "--state-dir", state, "--listen", "127.0.0.1:0");
        assertEquals(1, none.awaitExit(Duration.ofSeconds(60)), none.err());
        assertTrue(none.err().contains("no password is set"), none.err());

        ServeProcess wide = serve("wide", Map.of(), "-i", inv, "--state-dir", state, "--listen", "0.0.0.0:0", "--insecure-no-auth");
        assertEquals(1, wide.awaitExit(Duration.ofSeconds(60)), wide.err());
        assertTrue(wide.err().contains("only on a loopback address"), wide.err());

        ServeProcess both = serve("both", PASSWORDS, "-i", inv, "--state-dir", state, "--listen", "127.0.0.1:0", "--insecure-no-auth");
        assertEquals(1, both.awaitExit(Duration.ofSeconds(60)), both.err());
        assertTrue(both.err().contains("drop one or the other"), both.err());

        // insecure on loopback: plain JSON, no headers; an SDK-signed request is told why it cannot work
        ServeProcess insecure = serve("insecure", Map.of(), "-i", inv, "--state-dir", state, "--listen", "127.0.0.1:0",
                "--insecure-no-auth", "--dry-run");
        int port = insecure.awaitListening(Duration.ofSeconds(60));
        assertTrue(TestHosts.await(() -> insecure.err().contains("DRY RUN: no host is touched"), Duration.ofSeconds(10)), insecure.err());
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> info = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/info")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertFalse(ShimHarness.JSON.readTree(info.body()).get("data").get("security").asBoolean());
        HttpResponse<String> stop = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/ob/stop"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, stop.statusCode(), stop.body());
        assertEquals("Stop OB", ShimHarness.JSON.readTree(stop.body()).get("data").get("name").asText());
        ObshellTestClient sdk = new ObshellTestClient("127.0.0.1", port, "x", null);
        assertError(sdk.get("/api/v1/task/dag/unfinish"), 400, "Common.BadRequest", 1000, "--insecure-no-auth");
    }

    @Test
    void servesHttpsWithAPkcs12Keystore() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        Path ks = tmp.resolve("shim.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        TestHosts.Run made = TestHosts.run(Duration.ofSeconds(60), keytool, "-genkeypair", "-keystore", ks.toString(), "-storetype", "PKCS12",
                "-storepass", "tls-secret", "-keypass", "tls-secret", "-alias", "shim", "-keyalg", "RSA", "-keysize", "2048",
                "-dname", "CN=localhost", "-validity", "2", "-ext", "SAN=ip:127.0.0.1");
        assertEquals(0, made.exitCode(), made::toString);
        String inv = fleet.writeInventory().toString();

        ServeProcess bad = serve("bad", Map.of("OBPLAY_ROOT_PASSWORD", ROOT_PW, "OBPLAY_TLS_PASSWORD", "wrong"),
                "-i", inv, "--state-dir", tmp.resolve("state").toString(), "--listen", "127.0.0.1:0", "--tls-keystore", ks.toString());
        assertEquals(1, bad.awaitExit(Duration.ofSeconds(60)), bad.err());
        assertTrue(bad.err().contains("--tls-keystore"), bad.err());

        ServeProcess p = serve("tls", Map.of("OBPLAY_ROOT_PASSWORD", ROOT_PW, "OBPLAY_TLS_PASSWORD", "tls-secret"),
                "-i", inv, "--state-dir", tmp.resolve("state").toString(), "--listen", "127.0.0.1:0", "--tls-keystore", ks.toString());
        int port = p.awaitListening(Duration.ofSeconds(60));
        assertTrue(p.err().contains("listening on https://127.0.0.1:" + port), p.err());

        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            trust.load(in, "tls-secret".toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        HttpClient https = HttpClient.newBuilder().sslContext(ctx).build();
        HttpResponse<String> info = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/api/v1/info")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, info.statusCode());
        assertEquals("CLUSTER AGENT", ShimHarness.JSON.readTree(info.body()).get("data").get("identity").asText());
        // plain HTTP on the TLS port gets no obshell answer
        try (Socket plain = new Socket("127.0.0.1", port)) {
            plain.setSoTimeout(5000);
            plain.getOutputStream().write(("GET /api/v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String answer;
            try {
                answer = new String(plain.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            } catch (java.io.IOException e) {
                answer = "";
            }
            assertFalse(answer.contains("CLUSTER AGENT"), answer);
        }
    }
}
