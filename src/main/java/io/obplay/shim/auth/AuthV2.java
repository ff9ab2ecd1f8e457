package io.obplay.shim.auth;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import javax.crypto.BadPaddingException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * obshell's auth v2 ("API hybrid encryption"), as its server checks it ({@code ob/agent/api/common/middleware.go}
 * and {@code ob/agent/secure/*.go} in obshell 4.5.0.0), with four protections obshell lacks.
 *
 * <p>The wire: header {@code X-OCS-Agent-Header} (agent password) or {@code X-OCS-Header} (root password),
 * whose value is base64 of RSA PKCS#1 v1.5 blocks (the client encrypts its plaintext in 53-byte chunks with
 * the key of {@code GET /api/v1/secret}); the plaintext is JSON {@code {"auth": password, "ts": "<expiry, unix
 * seconds>", "uri": "/path?query", "keys": "<base64 of 16-byte AES key + 16-byte IV>"}}, field names in any
 * case (the Go SDK sends {@code Auth/Ts/Uri/Keys}). The body, whatever the Content-Type, is base64 of
 * AES-128-CBC/PKCS#7 under those keys; an empty body means {@code {}}.
 *
 * <p>Checks, in obshell's order (the first failure answers):
 * <ol>
 *   <li>(obplay) the client address has failed too often: 429 {@code Security.Authentication.TooManyFailures};</li>
 *   <li>neither header, or {@code needsAgent} and no agent header: 400 {@code Request.Header.NotFound}
 *       (the agent header is used when both are sent);</li>
 *   <li>the header does not decrypt or is not that JSON: 401 {@code Security.Authentication.Header.DecryptFailed},
 *       legacy code 1 (what the SDKs match to refetch the key);</li>
 *   <li>the body does not decrypt: 500 {@code Request.Body.Decrypt.AES.KeyAndIv.Invalid} (keys not 32 bytes),
 *       500 {@code Request.Body.Decrypt.AES.ContentLength.Invalid} (not whole AES blocks), else 401
 *       {@code Common.Unauthorized} (bad base64 or padding, where obshell would crash into a 500);</li>
 *   <li>{@code uri} is not the request target exactly: 401 {@code Security.Authentication.Header.UriMismatch};</li>
 *   <li>{@code ts} not an integer: 401 {@code Security.Authentication.Timestamp.Invalid}; now &gt; ts: 401
 *       {@code Security.Authentication.Expired}; (obplay) ts more than 90 s ahead: 401
 *       {@code Security.Authentication.Timestamp.Invalid};</li>
 *   <li>the password: 401 {@code Security.Authentication.IncorrectAgentPassword} /
 *       {@code ...IncorrectOceanbasePassword}, or, when the needed password is not configured,
 *       {@code ...AgentPasswordNotInitialized}, {@code ...WithOceanBasePassword}, {@code ...WithAgentPassword};</li>
 *   <li>(obplay) this header was accepted before: 401 {@code Security.Authentication.Header.Replayed}.</li>
 * </ol>
 * All 401s carry legacy code 10008 except DecryptFailed (1). Every refusal but a missing header and the 429s
 * counts as a failure for the {@link FailureLimiter} (the two 500s too). A header of more than
 * {@link #MAX_HEADER_BLOCKS} RSA blocks is refused (DecryptFailed) before any block is decrypted.
 *
 * <p>Better than obshell: an expiry more than {@link #MAX_FUTURE} ahead is refused (obshell takes any, making a
 * header good for years); an accepted header is refused again until it expires ({@link ReplayCache}, keyed by
 * the SHA-256 of the decrypted header, so re-encoding the base64 does not get round it); passwords are compared
 * in constant time over SHA-256 digests; failures are rate-limited per client address. obshell skips the
 * expiry check when the password is empty and lets anyone in when no password is set; here {@code ts} is
 * always checked and a missing password refuses (fail closed).
 *
 * <p>Time comes from the injected {@link Clock}. Thread-safe.
 */
public final class AuthV2 {

    public static final String OCS_HEADER = "X-OCS-Header";
    public static final String OCS_AGENT_HEADER = "X-OCS-Agent-Header";
    /**
     * The furthest ahead an expiry ({@code ts}) may be: what obshell's clients send, plus room for clocks that
     * disagree. obshell-sdk-python sends now + 60 s (its {@code lifetime}; before 2025 now + 5 s), obshell's own
     * agents now + 10 s; 30 s more allows for a client's clock that runs ahead. (The SDK's package upload signs
     * for 600 s, but obplay serves no upload.) The window also bounds how long the {@link ReplayCache} holds a
     * header.
     */
    public static final Duration MAX_FUTURE = Duration.ofSeconds(90);

    /**
     * The most RSA blocks an auth header may have here; a longer one is refused before any is decrypted. An SDK's
     * header is 2 to 5 blocks (its JSON: password, expiry, request target, 44 characters of keys, in 53-byte
     * chunks); 128 take a 5,000-character password. A server bounds it tighter with
     * {@link #headerTooLong(String, int)} before calling {@link #verify}.
     */
    public static final int MAX_HEADER_BLOCKS = 128;

    private static final int AES_KEY_BYTES = 16;
    private static final int AES_BLOCK = 16;
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final RsaKeys keys;
    private final Clock clock;
    private final FailureLimiter limiter;
    private final ReplayCache replays;
    private final byte[] rootDigest;  // null when not configured
    private final byte[] agentDigest; // null when not configured

    public AuthV2(RsaKeys keys, Secrets secrets, Clock clock, FailureLimiter limiter) {
        this(keys, secrets, clock, limiter, new ReplayCache(clock));
    }

    public AuthV2(RsaKeys keys, Secrets secrets, Clock clock, FailureLimiter limiter, ReplayCache replays) {
        this.keys = Objects.requireNonNull(keys, "keys");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.limiter = Objects.requireNonNull(limiter, "limiter");
        this.replays = Objects.requireNonNull(replays, "replays");
        this.rootDigest = secrets.rootPassword().map(Passwords::digest).orElse(null);
        this.agentDigest = secrets.agentPassword().map(Passwords::digest).orElse(null);
    }

    /** The decrypted header: what obshell's {@code secure.HttpHeader} keeps of it. */
    private record Header(String auth, String ts, String uri, byte[] keys, byte[] digest) {
    }

    /**
     * Authenticates one request.
     *
     * @param clientAddress the peer's IP address, the key of the rate limiter and of the replay cache's bound (e.g.
     *        {@code exchange.getRemoteAddress().getAddress().getHostAddress()})
     * @param method        the HTTP method; not part of the check (obshell does not sign it), kept for messages
     * @param requestUri    the request target exactly as sent: raw (still percent-encoded) path, plus
     *                      {@code ?} and the raw query when there is one ({@code getRawPath()}/{@code getRawQuery()})
     * @param headers       the request headers; names are matched case-insensitively
     * @param rawBody       the body as received (base64 text), empty or null for none
     * @param needsAgent    true on routes only the agent password may use ({@code /api/v1/obproxy*}, obproxy DAG ids)
     * @return the decrypted body and who signed the request
     * @throws AuthException the refusal, with obshell's status, errCode and legacy code
     */
    public Verified verify(String clientAddress, String method, String requestUri,
            Map<String, ? extends List<String>> headers, byte[] rawBody, boolean needsAgent) throws AuthException {
        limiter.check(clientAddress);
        try {
            return check(clientAddress, method, requestUri, headers, rawBody, needsAgent);
        } catch (AuthException e) {
            // every refusal of a header that was sent counts, whatever its status (a body that does not decrypt
            // under the header's keys too, or one precomputed header could be sent forever); not a missing header
            // (nothing was tried) nor the 429s (the limiter's own, and the replay cache being full)
            if (e.httpStatus() != 429 && !AuthError.HEADER_NOT_FOUND.errCode().equals(e.errCode())) {
                limiter.recordFailure(clientAddress);
            }
            throw e;
        }
    }

    private Verified check(String clientAddress, String method, String requestUri, Map<String, ? extends List<String>> headers,
            byte[] rawBody, boolean needsAgent) throws AuthException {
        String agentValue = Passwords.header(headers, OCS_AGENT_HEADER);
        String rootValue = agentValue == null ? Passwords.header(headers, OCS_HEADER) : null;
        if (agentValue == null && rootValue == null) {
            throw AuthError.HEADER_NOT_FOUND.exception(
                    "X-OCS-Agent-Header or X-OCS-Header not found in http request header");
        }
        if (needsAgent && agentValue == null) {
            throw AuthError.HEADER_NOT_FOUND.exception("X-OCS-Agent-Header not found in http request header: "
                    + method + " " + pathOf(requestUri) + " needs the agent password");
        }
        boolean agent = agentValue != null;
        Header h = decryptHeader(agent ? agentValue : rootValue);
        byte[] body = decryptBody(rawBody, h.keys());

        if (!h.uri().equals(requestUri)) {
            throw AuthError.HEADER_URI_MISMATCH.exception("URI mismatch");
        }
        long now = Math.floorDiv(clock.millis(), 1000L);
        long ts = parseTs(h.ts());
        if (now > ts) {
            throw AuthError.EXPIRED.exception("Unauthorized: Authentication expired");
        }
        if (ts - now > MAX_FUTURE.toSeconds()) {
            throw AuthError.TIMESTAMP_INVALID.exception("Unauthorized: Invalid timestamp: " + h.ts()
                    + ", err: expires " + (ts - now) + " s from now, more than the " + MAX_FUTURE.toSeconds()
                    + " s allowed (is the client's clock right?)");
        }
        Identity who = checkPassword(agent, h.auth(), needsAgent);
        switch (replays.record(clientAddress, h.digest(), ts)) {
            case REPLAY -> throw AuthError.HEADER_REPLAYED.exception(
                    "Unauthorized: this header was already used; sign each request afresh");
            case FULL -> {
                long wait = replays.secondsUntilRoom(clientAddress);
                throw AuthError.TOO_MANY_REQUESTS.exception(
                        "Too many authenticated requests in flight from this client; retry in " + wait + " s", wait);
            }
            case FIRST -> {
                // accepted
            }
        }
        return new Verified(body, who);
    }

    private Identity checkPassword(boolean agent, String auth, boolean needsAgent) throws AuthException {
        if (agent) {
            if (agentDigest == null) {
                if (needsAgent) {
                    throw AuthError.AGENT_PASSWORD_NOT_INITIALIZED.exception(
                            "Unauthorized: Agent password is not initialized");
                }
                throw AuthError.WITH_OCEANBASE_PASSWORD.exception(
                        "Unauthorized: Should use oceanbase_password to verify: agent password is not initialized");
            }
            if (!Passwords.matches(auth, agentDigest)) {
                throw AuthError.INCORRECT_AGENT_PASSWORD.exception("Unauthorized: Agent password is incorrect");
            }
            return Identity.AGENT;
        }
        if (rootDigest == null) {
            if (agentDigest != null) {
                throw AuthError.WITH_AGENT_PASSWORD.exception(
                        "Unauthorized: Should use agent_password to verify: oceanbase password is not initialized");
            }
            throw AuthError.INCORRECT_OCEANBASE_PASSWORD.exception(
                    "Unauthorized: OceanBase password is incorrect (no password is configured on this server)");
        }
        if (!Passwords.matches(auth, rootDigest)) {
            throw AuthError.INCORRECT_OCEANBASE_PASSWORD.exception("Unauthorized: OceanBase password is incorrect");
        }
        return Identity.ROOT;
    }

    /**
     * The refusal for an auth header value longer than {@code maxBlocks} RSA blocks of this key (as base64), or
     * null when it is not; costs no decryption. Does not count it: {@link #refuse} does.
     */
    public AuthException headerTooLong(String value, int maxBlocks) {
        int maxChars = 4 * ((maxBlocks * keys.blockSize() + 2) / 3);
        if (value != null && value.strip().length() > maxChars) {
            return decryptFailed("the header is longer than " + maxBlocks + " RSA blocks (" + maxChars
                    + " characters of base64); an SDK's has a few");
        }
        return null;
    }

    /**
     * Refuses a request from {@code clientAddress} with {@code e} as {@link #verify} would: 429 first when the
     * client has no try left, else {@code e}, counted by the failure limiter.
     */
    public AuthException refuse(String clientAddress, AuthException e) {
        try {
            limiter.check(clientAddress);
        } catch (AuthException limited) {
            return limited;
        }
        limiter.recordFailure(clientAddress);
        return e;
    }

    private Header decryptHeader(String value) throws AuthException {
        AuthException tooLong = headerTooLong(value, MAX_HEADER_BLOCKS);
        if (tooLong != null) {
            throw tooLong;
        }
        byte[] plain;
        try {
            plain = keys.decrypt(Base64.getDecoder().decode(value));
        } catch (IllegalArgumentException e) {
            throw decryptFailed("illegal base64 data: " + e.getMessage());
        } catch (GeneralSecurityException e) {
            throw decryptFailed("crypto/rsa: decryption error (" + e.getMessage() + ")");
        }
        JsonNode node;
        try {
            node = JSON.readTree(plain);
        } catch (IOException e) {
            throw decryptFailed("the decrypted header is not JSON");
        }
        if (node == null || !node.isObject()) {
            throw decryptFailed("the decrypted header is not a JSON object");
        }
        String auth = null;
        String ts = null;
        String uri = null;
        String keysText = null;
        for (Map.Entry<String, JsonNode> f : node.properties()) {
            String name = f.getKey().toLowerCase(Locale.ROOT);
            switch (name) {
                case "auth" -> auth = once(auth, name, text(f.getValue(), name, false));
                case "ts" -> ts = once(ts, name, text(f.getValue(), name, true));
                case "uri" -> uri = once(uri, name, text(f.getValue(), name, false));
                case "keys" -> keysText = once(keysText, name, text(f.getValue(), name, false));
                default -> {
                    // obshell's own agents add session_id, Token, ForwardType, ...: ignored as obshell's json does
                }
            }
        }
        byte[] aes;
        try {
            aes = keysText == null ? new byte[0] : Base64.getDecoder().decode(keysText);
        } catch (IllegalArgumentException e) {
            throw decryptFailed("illegal base64 data in keys: " + e.getMessage());
        }
        return new Header(auth == null ? "" : auth, ts == null ? "" : ts, uri == null ? "" : uri, aes,
                Passwords.sha256(plain));
    }

    private static String once(String previous, String name, String value) throws AuthException {
        if (previous != null) {
            throw decryptFailed("the header has field '" + name + "' twice");
        }
        return value;
    }

    /** A string field; null JSON counts as absent; {@code ts} may also be an integer. */
    private static String text(JsonNode v, String name, boolean integerAllowed) throws AuthException {
        if (v.isNull()) {
            return "";
        }
        if (v.isTextual()) {
            return v.textValue();
        }
        if (integerAllowed && v.isIntegralNumber()) {
            return v.asText();
        }
        throw decryptFailed("json: cannot unmarshal " + v.getNodeType().name().toLowerCase(Locale.ROOT)
                + " into header field " + name + " of type string");
    }

    private static AuthException decryptFailed(String detail) {
        return AuthError.HEADER_DECRYPT_FAILED.exception("Decrypt http header failed: " + detail);
    }

    private static byte[] decryptBody(byte[] rawBody, byte[] keyAndIv) throws AuthException {
        String text = rawBody == null ? "" : new String(rawBody, StandardCharsets.ISO_8859_1).strip();
        if (text.isEmpty()) {
            return new byte[0];
        }
        if (keyAndIv.length != 2 * AES_KEY_BYTES) {
            throw AuthError.BODY_KEY_AND_IV_INVALID.exception("Unauthorized: AES key and IV size error ("
                    + keyAndIv.length + " bytes of keys, 32 needed: a 16-byte key and a 16-byte IV)");
        }
        byte[] cipherText;
        try {
            cipherText = Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw AuthError.UNAUTHORIZED.exception(
                    "Unauthorized: the request body is not base64 of AES ciphertext: " + e.getMessage());
        }
        if (cipherText.length == 0 || cipherText.length % AES_BLOCK != 0) {
            throw AuthError.BODY_CONTENT_LENGTH_INVALID.exception(
                    "Unauthorized: Decrypted string length is not a multiple of the block size");
        }
        try {
            Cipher c = Cipher.getInstance("AES/CBC/PKCS5Padding");
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(keyAndIv, 0, AES_KEY_BYTES, "AES"),
                    new IvParameterSpec(keyAndIv, AES_KEY_BYTES, AES_KEY_BYTES));
            return c.doFinal(cipherText);
        } catch (BadPaddingException e) {
            throw AuthError.UNAUTHORIZED.exception(
                    "Unauthorized: the request body does not decrypt with the header's keys (bad padding)");
        } catch (GeneralSecurityException e) {
            throw AuthError.UNAUTHORIZED.exception("Unauthorized: the request body does not decrypt: "
                    + e.getMessage());
        }
    }

    private static long parseTs(String ts) throws AuthException {
        try {
            return Long.parseLong(ts);
        } catch (NumberFormatException e) {
            throw AuthError.TIMESTAMP_INVALID.exception("Unauthorized: Invalid timestamp: " + ts
                    + ", err: not an integer number of seconds");
        }
    }

    private static String pathOf(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q);
    }
}
