import java.io.BufferedWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.RSAPublicKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Auth v2 for the shim benchmark (bench/shim.sh), signing exactly as obshell's Python SDK does (the same code as
 * src/test/java/io/obplay/shim/ObshellTestClient.java): header JSON {@code {"auth": pw, "ts": "<unix s>", "uri":
 * "/path", "keys": "<base64 AES-128 key + IV>"}} ({@code json.dumps} spacing), RSA/ECB/PKCS1Padding over 53-byte
 * chunks with the key of {@code GET /api/v1/secret} (PKCS#1), base64 of the blocks; a JSON body AES-128-CBC/PKCS#7
 * under those keys, sent as base64. Every header has a fresh random AES key and IV, so no two are alike: the shim's
 * replay cache (keyed by the SHA-256 of the decrypted header) accepts each once.
 *
 * <p>Usage ({@code java bench/shim/Headers.java MODE --url http://127.0.0.1:PORT [options]}):
 * <pre>
 *   stop --password PW [--header agent|root] [--body JSON] [--wait SECONDS]
 *        POSTs /api/v1/ob/stop (default body: GLOBAL force stop), waits until the DAG has finished (polling
 *        GET /api/v1/task/dag/ID with fresh headers), prints the DAG's generic id on stdout
 *   pool --password PW [--header agent|root] --uri /api/v1/task/dag/ID --count N --ttl SECONDS --out FILE
 *        [--threads T]
 *        writes N distinct valid header values, one per line, all with ts = now + TTL (the shim refuses more than
 *        90 s ahead); prints the header name, ts and the time taken on stderr
 * </pre>
 * The password is taken from {@code --password} or, when that is "-", from the environment variable
 * OBPLAY_AGENT_PASSWORD (agent header) or OBPLAY_ROOT_PASSWORD (root header).
 */
public final class Headers {
    private static final int CHUNK = 53;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static final Pattern ID = Pattern.compile("\"id\"\\s*:\\s*\"([0-9]+)\"");
    private static final Pattern STATE = Pattern.compile("\"state\"\\s*:\\s*\"([A-Z]+)\"");
    private static final Pattern PUBLIC_KEY = Pattern.compile("\"public_key\"\\s*:\\s*\"([A-Za-z0-9+/=]+)\"");

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            usage("no mode");
        }
        Map<String, String> o = options(args);
        String url = need(o, "url");
        String headerName = switch (o.getOrDefault("header", "agent")) {
            case "agent" -> "X-OCS-Agent-Header";
            case "root" -> "X-OCS-Header";
            default -> throw usage("--header must be agent or root");
        };
        String password = need(o, "password");
        if (password.equals("-")) {
            String env = headerName.equals("X-OCS-Agent-Header") ? "OBPLAY_AGENT_PASSWORD" : "OBPLAY_ROOT_PASSWORD";
            password = System.getenv(env);
            if (password == null) {
                throw usage("--password - but " + env + " is not set");
            }
        }
        RSAPublicKey key = serverKey(url);
        switch (args[0]) {
            case "stop" -> stop(url, key, headerName, password,
                    o.getOrDefault("body", "{\"scope\": {\"type\": \"GLOBAL\"}, \"force\": true}"),
                    Long.parseLong(o.getOrDefault("wait", "120")));
            case "pool" -> pool(key, headerName, password, need(o, "uri"), Integer.parseInt(need(o, "count")),
                    Long.parseLong(need(o, "ttl")), Path.of(need(o, "out")),
                    Integer.parseInt(o.getOrDefault("threads", Integer.toString(Runtime.getRuntime().availableProcessors()))));
            default -> throw usage("unknown mode " + args[0]);
        }
    }

    // ------------------------------------------------------------------------------------------------ modes

    private static void stop(String url, RSAPublicKey key, String headerName, String password, String body, long waitSeconds)
            throws Exception {
        HttpResponse<String> r = send(url, key, headerName, password, "POST", "/api/v1/ob/stop", body);
        Matcher m = ID.matcher(r.body());
        if (r.statusCode() != 200 || !m.find()) {
            System.err.println("Headers: POST /api/v1/ob/stop answered " + r.statusCode() + ": " + r.body());
            System.exit(1);
        }
        String id = m.group(1);
        long deadline = System.nanoTime() + waitSeconds * 1_000_000_000L;
        String state = "?";
        while (System.nanoTime() < deadline) {
            HttpResponse<String> g = send(url, key, headerName, password, "GET", "/api/v1/task/dag/" + id, null);
            Matcher s = STATE.matcher(g.body());
            if (g.statusCode() != 200 || !s.find()) {
                System.err.println("Headers: GET /api/v1/task/dag/" + id + " answered " + g.statusCode() + ": " + g.body());
                System.exit(1);
            }
            state = s.group(1); // the DAG's own state comes first in obshell's DagDetailDTO
            if (state.equals("SUCCEED") || state.equals("FAILED")) {
                break;
            }
            Thread.sleep(200);
        }
        System.err.println("Headers: DAG " + id + " " + state);
        System.out.println(id);
    }

    private static void pool(RSAPublicKey key, String headerName, String password, String uri, int count, long ttl,
            Path out, int threads) throws Exception {
        long t0 = System.nanoTime();
        String ts = Long.toString(Math.floorDiv(System.currentTimeMillis(), 1000L) + ttl);
        ExecutorService ex = Executors.newFixedThreadPool(Math.max(1, threads));
        List<Future<String[]>> parts = new ArrayList<>();
        int per = (count + threads - 1) / threads;
        for (int from = 0; from < count; from += per) {
            int n = Math.min(per, count - from);
            parts.add(ex.submit(() -> {
                String[] lines = new String[n];
                for (int i = 0; i < n; i++) {
                    lines[i] = header(key, password, ts, uri, keyAndIv());
                }
                return lines;
            }));
        }
        try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.US_ASCII)) {
            for (Future<String[]> f : parts) {
                for (String line : f.get()) {
                    w.write(line);
                    w.write('\n');
                }
            }
        }
        ex.shutdown();
        System.err.printf("Headers: %d %s values for %s, ts %s (now + %d s), in %.1f s%n", count, headerName, uri, ts, ttl,
                (System.nanoTime() - t0) / 1e9);
    }

    // ------------------------------------------------------------------------------------------------ signing

    private static final ThreadLocal<SecureRandom> RANDOM = ThreadLocal.withInitial(SecureRandom::new);

    private static byte[] keyAndIv() {
        byte[] k = new byte[32];
        RANDOM.get().nextBytes(k);
        return k;
    }

    /** The header value: base64 of the RSA blocks of the Python SDK's header JSON. */
    static String header(RSAPublicKey key, String password, String ts, String uri, byte[] keyAndIv)
            throws GeneralSecurityException {
        String json = "{\"auth\": " + py(password) + ", \"ts\": " + py(ts) + ", \"uri\": " + py(uri) + ", \"keys\": "
                + py(Base64.getEncoder().encodeToString(keyAndIv)) + "}";
        byte[] plain = json.getBytes(StandardCharsets.UTF_8);
        Cipher rsa = Cipher.getInstance("RSA/ECB/PKCS1Padding");
        ByteArrayOutputStream blocks = new ByteArrayOutputStream();
        for (int off = 0; off < plain.length; off += CHUNK) {
            rsa.init(Cipher.ENCRYPT_MODE, key, RANDOM.get());
            blocks.writeBytes(rsa.doFinal(plain, off, Math.min(CHUNK, plain.length - off)));
        }
        return Base64.getEncoder().encodeToString(blocks.toByteArray());
    }

    private static HttpResponse<String> send(String url, RSAPublicKey key, String headerName, String password,
            String method, String uri, String jsonBody) throws Exception {
        byte[] keyAndIv = keyAndIv();
        String ts = Long.toString(Math.floorDiv(System.currentTimeMillis(), 1000L) + 60); // the SDKs' lifetime
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + uri)).timeout(Duration.ofSeconds(30))
                .header(headerName, header(key, password, ts, uri, keyAndIv));
        if (jsonBody == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            Cipher c = Cipher.getInstance("AES/CBC/PKCS5Padding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(keyAndIv, 0, 16, "AES"), new IvParameterSpec(keyAndIv, 16, 16));
            byte[] body = Base64.getEncoder().encode(c.doFinal(jsonBody.getBytes(StandardCharsets.UTF_8)));
            b.method(method, HttpRequest.BodyPublishers.ofByteArray(body));
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** The server's key, as the SDKs get it: GET /api/v1/secret's public_key, base64 of a PKCS#1 RSAPublicKey. */
    private static RSAPublicKey serverKey(String url) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/api/v1/secret")).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        Matcher m = PUBLIC_KEY.matcher(r.body());
        if (r.statusCode() != 200 || !m.find()) {
            throw new IllegalStateException("GET /api/v1/secret answered " + r.statusCode() + ": " + r.body());
        }
        byte[] der = Base64.getDecoder().decode(m.group(1));
        // SEQUENCE { INTEGER n, INTEGER e }
        int[] pos = {0};
        expect(der, pos, 0x30);
        length(der, pos);
        BigInteger n = integer(der, pos);
        BigInteger e = integer(der, pos);
        return (RSAPublicKey) KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(n, e));
    }

    private static BigInteger integer(byte[] der, int[] pos) {
        expect(der, pos, 0x02);
        int len = length(der, pos);
        BigInteger v = new BigInteger(1, java.util.Arrays.copyOfRange(der, pos[0], pos[0] + len));
        pos[0] += len;
        return v;
    }

    private static void expect(byte[] der, int[] pos, int tag) {
        if ((der[pos[0]++] & 0xff) != tag) {
            throw new IllegalStateException("public_key is not a PKCS#1 RSAPublicKey");
        }
    }

    private static int length(byte[] der, int[] pos) {
        int first = der[pos[0]++] & 0xff;
        if (first < 0x80) {
            return first;
        }
        int len = 0;
        for (int i = 0; i < (first & 0x7f); i++) {
            len = (len << 8) | (der[pos[0]++] & 0xff);
        }
        return len;
    }

    /** Python's json.dumps of a string (ensure_ascii). */
    private static String py(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    // ------------------------------------------------------------------------------------------------ options

    private static Map<String, String> options(String[] args) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw usage("expected --option value, got " + args[i]);
            }
            o.put(args[i].substring(2), args[++i]);
        }
        return o;
    }

    private static String need(Map<String, String> o, String name) {
        String v = o.get(name);
        if (v == null) {
            throw usage("--" + name + " is required");
        }
        return v;
    }

    private static IllegalArgumentException usage(String why) {
        System.err.println("Headers: " + why);
        System.err.println("usage: java bench/shim/Headers.java stop --url URL --password PW|- [--header agent|root] [--body JSON] [--wait S]");
        System.err.println("       java bench/shim/Headers.java pool --url URL --password PW|- [--header agent|root] --uri URI --count N --ttl S --out FILE [--threads T]");
        System.exit(2);
        return new IllegalArgumentException(why);
    }
}
