package io.obplay.shim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.obplay.shim.auth.RsaKeys;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A test client that talks to an obshell-compatible server the way obshell's SDKs do
 * ({@code obshell-sdk-python} 0.0.x {@code PasswordAuthMethodV2}, {@code obshell-sdk-go} {@code PasswordAuthV2}):
 * {@code GET /api/v1/info} and {@code GET /api/v1/secret} first (no auth), then for each call a header JSON
 * {@code {"auth","ts","uri","keys"}} with a fresh AES-128 key and IV, {@code ts} = now + 60 s, RSA PKCS#1 v1.5
 * encrypted in 53-byte chunks with the server's PKCS#1 public key, base64 of the concatenated blocks in
 * {@code X-OCS-Header} or {@code X-OCS-Agent-Header}; the JSON body AES-CBC/PKCS#7 encrypted and sent as
 * base64 text.
 *
 * <p>Like the Python SDK, it uses {@code X-OCS-Agent-Header} with the agent password for every call when
 * {@code /api/v1/info} says {@code security: true} and an agent password is given, and on
 * {@code /api/v1/obproxy*} always (with an empty password when {@code security} is false); it sends an
 * empty root password when {@code identity} is {@code SINGLE}. {@link Options} overrides all that and holds the
 * knobs to tamper with a request. {@link #sign} is the header/body builder on its own, for tests that call
 * the verifier directly with the very bytes this client would send.
 */
public final class ObshellTestClient {

    /** Which header to sign with. */
    public enum HeaderChoice { AUTO, ROOT, AGENT }

    /** Header JSON spelling: Python's {@code {"auth": ...}} or Go's {@code {"Auth":...}}. */
    public enum Style { PYTHON, GO }

    /** Ways to spoil the header. */
    public enum HeaderTamper {
        NONE,
        /** The first RSA block replaced by 0xFF bytes (larger than any modulus): never decrypts. */
        CORRUPT_CIPHERTEXT,
        /** The last byte of the RSA blocks dropped: not a whole number of blocks. */
        TRUNCATED,
        /** Not base64 at all. */
        NOT_BASE64,
        /** The JSON without {@code keys}. */
        NO_KEYS
    }

    /** Ways to spoil the body. */
    public enum BodyTamper {
        NONE,
        /** The last byte of the AES ciphertext dropped: not a whole number of blocks. */
        TRUNCATED,
        /** Whole blocks whose last plaintext byte is 0, an impossible PKCS#7 pad. */
        BAD_PADDING,
        /** Not base64. */
        NOT_BASE64,
        /** The JSON body sent in clear text. */
        PLAIN
    }

    public static final int CHUNK = 53;
    public static final String OCS_HEADER = "X-OCS-Header";
    public static final String OCS_AGENT_HEADER = "X-OCS-Agent-Header";

    /**
     * The knobs. {@code lifetimeSeconds}: ts = now + this (60 like both SDKs; obshell's own agents use 10;
     * negative for an expired header). {@code tsOverride}: a literal ts text. {@code uriOverride}: the uri put in
     * the header instead of the real one. {@code staleKey}: encrypt with this public key instead of the server's.
     */
    public record Options(String password, String agentPassword, HeaderChoice header, Style style,
            long lifetimeSeconds, String tsOverride, String uriOverride, HeaderTamper headerTamper,
            BodyTamper bodyTamper, RSAPublicKey staleKey) {

        public static Options python(String password, String agentPassword) {
            return new Options(password, agentPassword, HeaderChoice.AUTO, Style.PYTHON, 60, null, null,
                    HeaderTamper.NONE, BodyTamper.NONE, null);
        }

        public Options withPassword(String p) {
            return new Options(p, agentPassword, header, style, lifetimeSeconds, tsOverride, uriOverride,
                    headerTamper, bodyTamper, staleKey);
        }

        public Options withAgentPassword(String p) {
            return new Options(password, p, header, style, lifetimeSeconds, tsOverride, uriOverride, headerTamper,
                    bodyTamper, staleKey);
        }

        public Options withHeader(HeaderChoice h) {
            return new Options(password, agentPassword, h, style, lifetimeSeconds, tsOverride, uriOverride,
                    headerTamper, bodyTamper, staleKey);
        }

        public Options withStyle(Style s) {
            return new Options(password, agentPassword, header, s, lifetimeSeconds, tsOverride, uriOverride,
                    headerTamper, bodyTamper, staleKey);
        }

        /** Go field names and obshell's own 10 s lifetime (the Go SDK itself defaults to 60 s). */
        public Options goStyle() {
            return withStyle(Style.GO).withLifetime(10);
        }

        public Options withLifetime(long seconds) {
            return new Options(password, agentPassword, header, style, seconds, tsOverride, uriOverride,
                    headerTamper, bodyTamper, staleKey);
        }

        public Options withTs(String ts) {
            return new Options(password, agentPassword, header, style, lifetimeSeconds, ts, uriOverride,
                    headerTamper, bodyTamper, staleKey);
        }

        public Options withUri(String uri) {
            return new Options(password, agentPassword, header, style, lifetimeSeconds, tsOverride, uri,
                    headerTamper, bodyTamper, staleKey);
        }

        public Options withHeaderTamper(HeaderTamper t) {
            return new Options(password, agentPassword, header, style, lifetimeSeconds, tsOverride, uriOverride, t,
                    bodyTamper, staleKey);
        }

        public Options withBodyTamper(BodyTamper t) {
            return new Options(password, agentPassword, header, style, lifetimeSeconds, tsOverride, uriOverride,
                    headerTamper, t, staleKey);
        }

        public Options withStaleKey(RSAPublicKey k) {
            return new Options(password, agentPassword, header, style, lifetimeSeconds, tsOverride, uriOverride,
                    headerTamper, bodyTamper, k);
        }
    }

    /**
     * One signed request: the header to send and its value, the body to send (null = none), and for
     * inspection the header JSON and the AES key + IV.
     */
    public record Signed(String headerName, String headerValue, byte[] body, String headerJson, byte[] keyAndIv) {

        public String bodyText() {
            return body == null ? null : new String(body, StandardCharsets.US_ASCII);
        }
    }

    /** A response: the HTTP status, the parsed JSON (null when there is no body) and the raw body. */
    public record Response(int status, JsonNode json, String body, HttpHeaders headers) {

        public JsonNode data() {
            return json == null ? null : json.get("data");
        }

        public JsonNode error() {
            return json == null ? null : json.get("error");
        }

        /** {@code error.errCode}, or null. */
        public String errCode() {
            JsonNode e = error();
            return e == null || e.get("errCode") == null ? null : e.get("errCode").asText();
        }

        /** {@code error.code} (the legacy int), 0 when absent. */
        public int legacyCode() {
            JsonNode e = error();
            return e == null || e.get("code") == null ? 0 : e.get("code").asInt();
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What /api/v1/info and /api/v1/secret said, shared by the clients derived with {@link #with}. */
    private record ServerFacts(RSAPublicKey key, boolean security, String identity) {
    }

    private final HttpClient http;
    private final URI base;
    private final Options options;
    private final Clock clock;
    private final AtomicReference<ServerFacts> facts;
    private final AtomicReference<HttpRequest> last;
    private final AtomicReference<Signed> lastSigned;

    /** A client for {@code http://host:port} signing with the given passwords, Python style. */
    public ObshellTestClient(String host, int port, String password, String agentPassword) {
        this(URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port),
                Options.python(password, agentPassword), Clock.systemUTC());
    }

    public ObshellTestClient(URI base, Options options, Clock clock) {
        this(HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build(), base, options, clock,
                new AtomicReference<>(), new AtomicReference<>(), new AtomicReference<>());
    }

    private ObshellTestClient(HttpClient http, URI base, Options options, Clock clock,
            AtomicReference<ServerFacts> facts, AtomicReference<HttpRequest> last, AtomicReference<Signed> lastSigned) {
        this.http = http;
        this.base = base;
        this.options = Objects.requireNonNull(options);
        this.clock = clock;
        this.facts = facts;
        this.last = last;
        this.lastSigned = lastSigned;
    }

    /** A client with changed options, sharing the connection, the fetched key and the last request. */
    public ObshellTestClient with(UnaryOperator<Options> change) {
        return new ObshellTestClient(http, base, change.apply(options), clock, facts, last, lastSigned);
    }

    public Options options() {
        return options;
    }

    /** {@code GET /api/v1/info}, no auth. */
    public Response info() {
        return execute(HttpRequest.newBuilder(base.resolve("/api/v1/info")).GET().build());
    }

    /** {@code GET /api/v1/secret}, no auth. */
    public Response secret() {
        return execute(HttpRequest.newBuilder(base.resolve("/api/v1/secret")).GET().build());
    }

    public Response get(String pathAndQuery) {
        return send("GET", pathAndQuery, null);
    }

    public Response post(String pathAndQuery, String jsonBody) {
        return send("POST", pathAndQuery, jsonBody);
    }

    public Response put(String pathAndQuery, String jsonBody) {
        return send("PUT", pathAndQuery, jsonBody);
    }

    public Response delete(String pathAndQuery) {
        return send("DELETE", pathAndQuery, null);
    }

    /**
     * Signs and sends one request. {@code pathAndQuery} is sent as given (encode it yourself) and is what the
     * header's {@code uri} holds unless {@link Options#uriOverride()} says otherwise.
     */
    public Response send(String method, String pathAndQuery, String jsonBody) {
        ServerFacts f = facts();
        boolean obproxy = pathAndQuery.startsWith("/api/v1/obproxy");
        boolean agent = switch (options.header()) {
            case AGENT -> true;
            case ROOT -> false;
            case AUTO -> (options.agentPassword() != null && f.security()) || obproxy;
        };
        String password;
        if (agent) {
            password = options.header() == HeaderChoice.AUTO && !f.security() ? "" : options.agentPassword();
        } else {
            password = "SINGLE".equals(f.identity()) ? "" : options.password();
        }
        RSAPublicKey key = options.staleKey() != null ? options.staleKey() : f.key();
        Signed s = sign(key, agent ? OCS_AGENT_HEADER : OCS_HEADER, password, pathAndQuery, jsonBody, options,
                Math.floorDiv(clock.millis(), 1000L));
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + pathAndQuery))
                .timeout(Duration.ofSeconds(30))
                .header(s.headerName(), s.headerValue());
        if (options.style() == Style.GO && s.body() != null) {
            b.header("Content-Type", "text/plain; charset=utf-8");
        }
        b.method(method, s.body() == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(s.body()));
        HttpRequest req = b.build();
        last.set(req);
        lastSigned.set(s);
        return execute(req);
    }

    /** Sends the last signed request again, the very same header and body (a replay). */
    public Response resendLast() {
        HttpRequest req = last.get();
        if (req == null) {
            throw new IllegalStateException("nothing sent yet");
        }
        return execute(req);
    }

    /** What the last signed request carried. */
    public Signed lastSigned() {
        return lastSigned.get();
    }

    /** The server's public key, fetched as the SDKs do (info, then secret) on first use. */
    public RSAPublicKey serverKey() {
        return facts().key();
    }

    private ServerFacts facts() {
        ServerFacts f = facts.get();
        if (f != null) {
            return f;
        }
        Response info = info();
        if (info.status() != 200 || info.data() == null) {
            throw new IllegalStateException("GET /api/v1/info failed: " + info);
        }
        Response secret = secret();
        if (secret.status() != 200 || secret.data() == null || secret.data().get("public_key") == null) {
            throw new IllegalStateException("GET /api/v1/secret failed: " + secret);
        }
        RSAPublicKey key = RsaKeys.parsePkcs1PublicKey(
                Base64.getDecoder().decode(secret.data().get("public_key").asText()));
        JsonNode sec = info.data().get("security");
        JsonNode id = info.data().get("identity");
        f = new ServerFacts(key, sec != null && sec.asBoolean(), id == null ? null : id.asText());
        facts.compareAndSet(null, f);
        return facts.get();
    }

    private Response execute(HttpRequest req) {
        try {
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            String body = r.body();
            JsonNode json = null;
            if (body != null && !body.isBlank()) {
                try {
                    json = JSON.readTree(body);
                } catch (IOException notJson) {
                    json = null;
                }
            }
            return new Response(r.statusCode(), json, body, r.headers());
        } catch (IOException e) {
            throw new UncheckedIOException(req.method() + " " + req.uri() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    // ------------------------------------------------------------------ the signing, as the SDKs do it

    /**
     * Builds the auth header and the encrypted body of one request.
     *
     * @param key        the server's public key
     * @param headerName {@link #OCS_HEADER} or {@link #OCS_AGENT_HEADER}
     * @param password   the password to put in {@code auth} (null is sent as "")
     * @param uri        the request target (path and query) the header is for
     * @param jsonBody   the JSON body, or null/empty for none
     * @param o          style, lifetime and tampering; its passwords and header choice are not used here
     * @param now        the current time, unix seconds
     */
    public static Signed sign(RSAPublicKey key, String headerName, String password, String uri, String jsonBody,
            Options o, long now) {
        try {
            byte[] aesKey = new byte[16];
            byte[] iv = new byte[16];
            RANDOM.nextBytes(aesKey);
            RANDOM.nextBytes(iv);
            byte[] keyAndIv = concat(aesKey, iv);
            boolean hasBody = jsonBody != null && !jsonBody.isEmpty();
            byte[] body = hasBody ? body(jsonBody.getBytes(StandardCharsets.UTF_8), aesKey, iv, o.bodyTamper())
                    : null;

            String ts = o.tsOverride() != null ? o.tsOverride() : Long.toString(now + o.lifetimeSeconds());
            String headerUri = o.uriOverride() != null ? o.uriOverride() : uri;
            String pw = password == null ? "" : password;
            // Go sends "Keys":null when there is no body (no key made); Python always makes keys.
            String keysB64 = o.style() == Style.GO && !hasBody ? null : Base64.getEncoder().encodeToString(keyAndIv);
            String json = headerJson(o.style(), pw, ts, headerUri, o.headerTamper() == HeaderTamper.NO_KEYS ? null
                    : keysB64, o.headerTamper() != HeaderTamper.NO_KEYS);
            byte[] blocks = rsaChunks(key, json.getBytes(StandardCharsets.UTF_8));
            String value;
            switch (o.headerTamper()) {
                case CORRUPT_CIPHERTEXT -> {
                    int k = (key.getModulus().bitLength() + 7) / 8;
                    Arrays.fill(blocks, 0, k, (byte) 0xff);
                    value = Base64.getEncoder().encodeToString(blocks);
                }
                case TRUNCATED -> value = Base64.getEncoder().encodeToString(Arrays.copyOf(blocks, blocks.length - 1));
                case NOT_BASE64 -> value = "%%% not base64 %%%";
                default -> value = Base64.getEncoder().encodeToString(blocks);
            }
            return new Signed(headerName, value, body, json, keyAndIv);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("signing failed: " + e.getMessage(), e);
        }
    }

    /** RSA/ECB/PKCS1Padding over 53-byte chunks, blocks concatenated (both SDKs' sectional encryption). */
    public static byte[] rsaChunks(RSAPublicKey key, byte[] plain) throws GeneralSecurityException {
        Cipher rsa = Cipher.getInstance("RSA/ECB/PKCS1Padding");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int off = 0; off < plain.length; off += CHUNK) {
            rsa.init(Cipher.ENCRYPT_MODE, key, RANDOM);
            out.writeBytes(rsa.doFinal(plain, off, Math.min(CHUNK, plain.length - off)));
        }
        return out.toByteArray();
    }

    private static byte[] body(byte[] plain, byte[] aesKey, byte[] iv, BodyTamper tamper)
            throws GeneralSecurityException {
        SecretKeySpec k = new SecretKeySpec(aesKey, "AES");
        switch (tamper) {
            case PLAIN:
                return plain;
            case NOT_BASE64:
                return "*** not base64 ***".getBytes(StandardCharsets.US_ASCII);
            case BAD_PADDING: {
                byte[] padded = Arrays.copyOf(plain, (plain.length / 16 + 1) * 16); // zero-filled: last byte 0
                Cipher c = Cipher.getInstance("AES/CBC/NoPadding");
                c.init(Cipher.ENCRYPT_MODE, k, new IvParameterSpec(iv));
                return Base64.getEncoder().encode(c.doFinal(padded));
            }
            default: {
                Cipher c = Cipher.getInstance("AES/CBC/PKCS5Padding");
                c.init(Cipher.ENCRYPT_MODE, k, new IvParameterSpec(iv));
                byte[] ct = c.doFinal(plain);
                if (tamper == BodyTamper.TRUNCATED) {
                    ct = Arrays.copyOf(ct, ct.length - 1);
                }
                return Base64.getEncoder().encode(ct);
            }
        }
    }

    /**
     * The header JSON as each SDK writes it: Python's {@code json.dumps} ({@code ", "} and {@code ": "},
     * non-ASCII as {@code \}{@code uXXXX}), Go's {@code json.Marshal} of {@code HttpHeader{Auth, Ts, Uri, Keys}}
     * (compact, {@code <>&} escaped, {@code Keys} null when there is no body).
     */
    static String headerJson(Style style, String auth, String ts, String uri, String keysB64, boolean withKeys) {
        if (style == Style.PYTHON) {
            StringBuilder b = new StringBuilder("{\"auth\": ").append(py(auth))
                    .append(", \"ts\": ").append(py(ts))
                    .append(", \"uri\": ").append(py(uri));
            if (withKeys) {
                b.append(", \"keys\": ").append(py(keysB64));
            }
            return b.append('}').toString();
        }
        StringBuilder b = new StringBuilder("{\"Auth\":").append(go(auth))
                .append(",\"Ts\":").append(go(ts))
                .append(",\"Uri\":").append(go(uri));
        if (withKeys) {
            b.append(",\"Keys\":").append(keysB64 == null ? "null" : go(keysB64));
        }
        return b.append('}').toString();
    }

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

    private static String go(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '<', '>', '&', '\u2028', '\u2029' -> b.append(String.format("\\u%04x", (int) c));
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
