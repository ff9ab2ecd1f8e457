package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import io.obplay.shim.auth.RsaKeys;
import io.obplay.shim.auth.Secrets;
import io.obplay.store.Store;
import io.obplay.store.sqlite.SqliteStore;
import io.obplay.testing.TestHosts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import static io.obplay.shim.ShimHarness.AGENT_PW;
import static io.obplay.shim.ShimHarness.ROOT_PW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code obplay serve} against slow, idle, half-open and malformed clients, over real sockets (issue 17): slow
 * headers hold no thread and are cut at the header timeout while another client is answered within 2 s; more
 * connections than the per-address limit are closed at accept; an oversized Content-Length is answered 413 before
 * any body; an auth header of many RSA blocks is refused without decrypting one (counted, not timed); every
 * malformed body is a 400 naming neither Java nor a library; descriptors and threads come back to their idle
 * counts. Every probe is bounded in count and time.
 */
@Timeout(180)
class ShimAbuseTest {
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

    // ------------------------------------------------------------------------------------------ slow, idle, half-open

    @Test
    void slowIdleAndHalfOpenConnectionsDoNotKeepAnotherClientWaitingAndAreClosedOnTheirDeadlines() throws Exception {
        ShimFleet fleet = ShimFleet.standard(tmp.resolve("fleet"));
        toClose.add(fleet);
        ServeProcess p = ServeProcess.start(tmp.resolve("serve.err"), PASSWORDS, List.of("-i", fleet.writeInventory().toString(),
                "--state-dir", tmp.resolve("state").toString(), "--listen", "127.0.0.1:0", "--threads", "4",
                "--max-connections-per-address", "40", "--header-timeout", "3s", "--idle-timeout", "6s"));
        toClose.add(p);
        int port = p.awaitListening(Duration.ofSeconds(60));
        long pid = p.process.pid();
        for (int i = 0; i < 3; i++) {
            assertTrue(exchange(port, "GET /api/v1/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startsWith("HTTP/1.1 200"));
        }
        Thread.sleep(1500); // the sweeper and the pool are up; what is open now is the idle count
        int idleFds = count(pid, "fd");
        int idleThreads = count(pid, "task");

        List<Socket> slow = new ArrayList<>();
        List<Socket> idle = new ArrayList<>();
        try {
            // 160 slowloris connections from 4 addresses (40 each, the per-address limit), 40 idle ones, 20 half-open
            for (int a = 2; a <= 5; a++) {
                for (int i = 0; i < 40; i++) {
                    Socket s = connect("127.0.0." + a, port);
                    s.getOutputStream().write("GET /api/v1/info HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
                    slow.add(s);
                }
            }
            for (int i = 0; i < 40; i++) {
                idle.add(connect("127.0.0.6", port));
            }
            for (int i = 0; i < 20; i++) {
                Socket s = connect("127.0.0.7", port);
                s.getOutputStream().write("POST /api/v1/ob/stop HTTP/1.1\r\nHost: x\r\nContent-Le".getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput(); // half-open: the client has said all it will
                idle.add(s);
            }
            // one more from an address at its limit is closed as it is accepted
            try (Socket over = connect("127.0.0.2", port)) {
                over.setSoTimeout(5000);
                assertTrue(closedByServer(over), "the 41st connection from 127.0.0.2 is closed at accept");
            }
            // the slow ones go on sending a header byte now and then; another client is answered within 2 s each time
            for (int round = 0; round < 4; round++) {
                for (Socket s : slow) {
                    try {
                        s.getOutputStream().write('X');
                    } catch (IOException e) {
                        // closed by the server already
                    }
                }
                long t0 = System.nanoTime();
                String answer = exchange(port, "GET /api/v1/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
                assertTrue(ms < 2000, "answered in " + ms + " ms with " + slow.size() + " slow connections open");
                Thread.sleep(500);
            }
            // the header timeout (3 s from the first byte) ends the slow ones though they still send; the idle
            // timeout (6 s) the idle ones; the half-open ones at once
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            int open = slow.size() + idle.size();
            List<String> left = new ArrayList<>();
            while (open > 0 && System.nanoTime() < deadline) {
                open = 0;
                left.clear();
                for (Socket s : slow) {
                    try {
                        s.getOutputStream().write('X');
                        s.getOutputStream().flush();
                    } catch (IOException e) {
                        continue;
                    }
                    if (!closedByServer(s, 1)) {
                        open++;
                        left.add("slow " + s.getLocalSocketAddress());
                    }
                }
                for (Socket s : idle) {
                    if (!closedByServer(s, 1)) {
                        open++;
                        left.add((s.isOutputShutdown() ? "half-open " : "idle ") + s.getLocalSocketAddress());
                    }
                }
                Thread.sleep(500);
            }
            assertEquals(0, open, "every slow, idle and half-open connection is closed by the server; open: " + left);
        } finally {
            for (Socket s : slow) {
                s.close();
            }
            for (Socket s : idle) {
                s.close();
            }
        }
        // descriptors and threads back to their idle counts
        assertTrue(TestHosts.await(() -> count(pid, "fd") <= idleFds + 2, Duration.ofSeconds(15)),
                () -> "descriptors: idle " + idleFds + ", now " + count(pid, "fd"));
        assertTrue(TestHosts.await(() -> count(pid, "task") <= idleThreads + 1, Duration.ofSeconds(15)),
                () -> "threads: idle " + idleThreads + ", now " + count(pid, "task"));
        String answer = exchange(port, "GET /api/v1/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
        assertFalse(p.err().contains("\tat "), "no stack trace for clients' mistakes:\n" + p.err());
    }

    // ------------------------------------------------------------------------------------------ what the server refuses

    @Test
    void anOversizedContentLengthIs413AtOnceAndWhatIsNotHttpIsAnEnvelopeNamingNoLibrary() throws Exception {
        ShimHarness shim = ShimHarness.start(ShimFleet.standard(tmp.resolve("fleet")).inventory(), tmp.resolve("state"), true);
        toClose.add(shim);
        int port = shim.port();
        try (Socket s = connect("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("POST /api/v1/ob/stop HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n{\"scope\"")
                    .getBytes(StandardCharsets.US_ASCII));
            String r = readAnswer(s.getInputStream());
            assertTrue(r.startsWith("HTTP/1.1 413"), r);
            JsonNode e = body(r).get("error");
            assertEquals("Common.BadRequest", e.get("errCode").asText(), r);
            assertTrue(e.get("message").asText().contains("at most 1048576 bytes"), r);
            assertTrue(r.toLowerCase(Locale.ROOT).contains("connection: close"), r);
        }
        String[] broken = {
                "GARBAGE\r\n\r\n",
                "GET /api/v1/info HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n",
                "GET /api/v1/info HTTP/9.9\r\nHost: x\r\n\r\n",
                "GET /api/v1/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /api/v1/info HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                "POST /api/v1/ob/stop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n",
        };
        for (String req : broken) {
            String r = exchange(port, req);
            assertTrue(r.startsWith("HTTP/1.1 4") || r.startsWith("HTTP/1.1 5"), req + " -> " + r);
            assertNamesNoImplementation(r);
            JsonNode j = body(r);
            assertFalse(j.get("successful").asBoolean(), r);
            assertTrue(j.get("error").get("errCode").isTextual(), r);
        }
        assertTrue(exchange(port, "GET /api/v1/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").startsWith("HTTP/1.1 200"));
        assertFalse(shim.log().contains("\tat "), shim.log());
    }

    @Test
    void aManyBlockAuthHeaderIsRefusedWithoutDecryptingAndEveryAuthFailureCountsAndIs401() throws Exception {
        RsaKeys keys = RsaKeys.generate();
        InProcess s = inProcess(RequestAuth.secure(keys, Secrets.of(ROOT_PW, AGENT_PW, null, null)));
        String path = "/api/v1/task/dag/unfinish";
        // 40 blocks of RSA-1024 (6,828 characters, under the 8 KiB header limit): refused, none decrypted
        byte[] blocks = new byte[40 * keys.blockSize()];
        new SecureRandom().nextBytes(blocks);
        long before = keys.blocksDecrypted();
        String r = exchange(s.port(), "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-OCS-Header: "
                + Base64.getEncoder().encodeToString(blocks) + "\r\n\r\n");
        assertTrue(r.startsWith("HTTP/1.1 401"), r);
        assertEquals("Security.Authentication.Header.DecryptFailed", body(r).get("error").get("errCode").asText(), r);
        assertEquals(before, keys.blocksDecrypted(), "no RSA block of an oversized header is decrypted");
        // a real SDK header is decrypted: the count moves by its few blocks
        ObshellTestClient sdk = new ObshellTestClient("127.0.0.1", s.port(), ROOT_PW, AGENT_PW);
        assertEquals(200, sdk.get(path).status());
        long sdkBlocks = keys.blocksDecrypted() - before;
        assertTrue(sdkBlocks >= 1 && sdkBlocks <= 5, "an SDK header has a few blocks: " + sdkBlocks);

        // a header without keys and a body: obshell's 500 KeyAndIv error, here a 401 that the limiter counts; the
        // one failure above and four of these use the five tries, the next is 429 before any decryption
        String uri = "/api/v1/ob/stop";
        for (int i = 0; i < 4; i++) {
            ObshellTestClient.Signed signed = ObshellTestClient.sign(sdk.serverKey(), ObshellTestClient.OCS_AGENT_HEADER, AGENT_PW, uri,
                    "{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true}",
                    ObshellTestClient.Options.python(ROOT_PW, AGENT_PW).withHeaderTamper(ObshellTestClient.HeaderTamper.NO_KEYS),
                    System.currentTimeMillis() / 1000);
            String a = post(s.port(), uri, signed.headerName(), signed.headerValue(), signed.body());
            assertTrue(a.startsWith("HTTP/1.1 401"), a);
            assertEquals("Request.Body.Decrypt.AES.KeyAndIv.Invalid", body(a).get("error").get("errCode").asText(), a);
        }
        long beforeLimited = keys.blocksDecrypted();
        String limited = exchange(s.port(), "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-OCS-Header: "
                + Base64.getEncoder().encodeToString(new byte[keys.blockSize()]) + "\r\n\r\n");
        assertTrue(limited.startsWith("HTTP/1.1 429"), limited);
        assertEquals("Security.Authentication.TooManyFailures", body(limited).get("error").get("errCode").asText(), limited);
        assertEquals(beforeLimited, keys.blocksDecrypted(), "a limited client costs no decryption");
        assertTrue(s.store.dags(10).isEmpty());
        assertFalse(s.log().contains("\tat "), s.log());
    }

    @Test
    void everyMalformedBodyIs400BindJsonFailedAndNamesNoImplementation() throws Exception {
        InProcess s = inProcess(RequestAuth.insecure(RsaKeys.generate()));
        String path = "/api/v1/ob/stop";
        List<byte[]> bodies = new ArrayList<>();
        bodies.add(("{\"scope\": " + "[".repeat(100_000) + "]".repeat(100_000) + "}").getBytes(StandardCharsets.US_ASCII)); // deep
        bodies.add(("{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": " + "9".repeat(100_000) + "}").getBytes(StandardCharsets.US_ASCII));
        bodies.add(("{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": 1" + "0".repeat(5000) + ".5e999999999}").getBytes(StandardCharsets.US_ASCII));
        bodies.add("{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true, \"force\": true}".getBytes(StandardCharsets.US_ASCII));
        bodies.add("{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true} {}".getBytes(StandardCharsets.US_ASCII));
        bodies.add("{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true} []".getBytes(StandardCharsets.US_ASCII));
        bodies.add(cat("{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone", new byte[]{(byte) 0xc0, (byte) 0xb1},
                "\"]}, \"force\": true}")); // overlong '1'
        bodies.add(cat("{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone", new byte[]{(byte) 0xe0, (byte) 0x80, (byte) 0xb1},
                "\"]}, \"force\": true}")); // overlong, 3 bytes
        bodies.add(cat("{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone", new byte[]{(byte) 0xed, (byte) 0xa0, (byte) 0x80},
                "\"]}, \"force\": true}")); // a surrogate
        bodies.add(cat("{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone", new byte[]{(byte) 0xff},
                "\"]}, \"force\": true}"));
        bodies.add(("{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true, \"x\": \"" + "y".repeat(ShimServer.MAX_BODY - 100) + "\"}")
                .getBytes(StandardCharsets.US_ASCII)); // just under the body limit, an unknown field
        bodies.add("{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": tru".getBytes(StandardCharsets.US_ASCII));
        bodies.add("{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true, \"forcePassDag\": {\"id\": [1e400]}}".getBytes(StandardCharsets.US_ASCII));
        for (byte[] b : bodies) {
            String r = post(s.port(), path, null, null, b);
            String shown = new String(b, 0, Math.min(80, b.length), StandardCharsets.ISO_8859_1);
            assertTrue(r.startsWith("HTTP/1.1 400"), shown + " -> " + r);
            JsonNode e = body(r).get("error");
            assertEquals("Common.BindJsonFailed", e.get("errCode").asText(), shown + " -> " + r);
            assertNamesNoImplementation(r);
        }
        assertTrue(s.store.dags(10).isEmpty(), "no DAG from a malformed body (the overlong zone1 above included)");
        assertFalse(s.log().contains("\tat ") || s.log().contains("internal error"), s.log());
        // and a good body still works
        assertTrue(post(s.port(), path, null, null, "{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true}".getBytes(StandardCharsets.US_ASCII))
                .startsWith("HTTP/1.1 200"));
    }

    // ------------------------------------------------------------------------------------------ helpers

    private record InProcess(ShimServer server, Store store, ByteArrayOutputStream logBytes) {
        int port() {
            return server.port();
        }

        String log() {
            synchronized (logBytes) {
                return logBytes.toString(StandardCharsets.UTF_8);
            }
        }
    }

    private InProcess inProcess(RequestAuth auth) throws Exception {
        Store store = SqliteStore.open(tmp.resolve("state"));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        ShimServer server = ShimServer.start(ShimFleet.standard(tmp.resolve("fleet")).inventory(), store, auth,
                new ShimServer.Options("127.0.0.1", 0, null, null, null, true, Duration.ofSeconds(5), Duration.ofSeconds(5), 4,
                        Duration.ofSeconds(2), null, tmp.toString()), log);
        toClose.add(store::close);
        toClose.add(server::stop);
        return new InProcess(server, store, bytes);
    }

    private static void assertNamesNoImplementation(String answer) {
        String low = answer.toLowerCase(Locale.ROOT);
        for (String word : new String[]{"jetty", "java", "jackson", "fasterxml", "exception", "eclipse", "streamreadconstraints"}) {
            assertFalse(low.contains(word), "the answer names '" + word + "': " + answer);
        }
    }

    private static byte[] cat(String a, byte[] mid, String b) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(a.getBytes(StandardCharsets.US_ASCII));
        o.writeBytes(mid);
        o.writeBytes(b.getBytes(StandardCharsets.US_ASCII));
        return o.toByteArray();
    }

    private static Socket connect(String from, int port) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        return s;
    }

    /** True when the server has closed {@code s} (EOF or reset) within its read timeout; an answer before is read past. */
    private static boolean closedByServer(Socket s) {
        try {
            byte[] buf = new byte[4096];
            for (int i = 0; i < 64; i++) {
                if (s.getInputStream().read(buf) < 0) {
                    return true;
                }
            }
            return false;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private static boolean closedByServer(Socket s, int timeoutMillis) throws IOException {
        if (s.isClosed()) {
            return true;
        }
        s.setSoTimeout(timeoutMillis);
        return closedByServer(s);
    }

    /** One request on a fresh connection from 127.0.0.1; the whole answer (the server closes or says how long it is). */
    private static String exchange(int port, String request) throws IOException {
        try (Socket s = connect("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            return readAnswer(s.getInputStream());
        }
    }

    private static String post(int port, String path, String header, String value, byte[] body) throws IOException {
        try (Socket s = connect("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            String head = "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                    + (header == null ? "" : header + ": " + value + "\r\n") + "Content-Length: " + body.length + "\r\n\r\n";
            s.getOutputStream().write(head.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().write(body);
            s.getOutputStream().flush();
            return readAnswer(s.getInputStream());
        }
    }

    /** Reads the head and, by its Content-Length, the body (or up to EOF). */
    private static String readAnswer(InputStream in) throws IOException {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        int end = -1;
        long length = -1;
        while (true) {
            int c;
            try {
                c = in.read();
            } catch (IOException e) {
                break;
            }
            if (c < 0) {
                break;
            }
            o.write(c);
            if (end < 0) {
                String sofar = o.toString(StandardCharsets.ISO_8859_1);
                if (sofar.endsWith("\r\n\r\n")) {
                    end = o.size();
                    for (String line : sofar.split("\r\n")) {
                        if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                            length = Long.parseLong(line.substring(15).trim());
                        }
                    }
                    if (length == 0) {
                        break;
                    }
                }
            } else if (length >= 0 && o.size() - end >= length) {
                break;
            }
        }
        return o.toString(StandardCharsets.UTF_8);
    }

    private static JsonNode body(String answer) throws IOException {
        int i = answer.indexOf("\r\n\r\n");
        return ShimHarness.JSON.readTree(answer.substring(i + 4));
    }

    private static int count(long pid, String what) {
        try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/" + what))) {
            return (int) s.count();
        } catch (IOException e) {
            return -1;
        }
    }
}
