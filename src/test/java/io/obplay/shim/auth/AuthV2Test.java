package io.obplay.shim.auth;

import static io.obplay.shim.ObshellTestClient.OCS_AGENT_HEADER;
import static io.obplay.shim.ObshellTestClient.OCS_HEADER;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.obplay.shim.ObshellTestClient;
import io.obplay.shim.ObshellTestClient.BodyTamper;
import io.obplay.shim.ObshellTestClient.HeaderTamper;
import io.obplay.shim.ObshellTestClient.Options;
import io.obplay.shim.ObshellTestClient.Signed;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class AuthV2Test {

    private static final RsaKeys KEYS = RsaKeys.generate();
    private static final String ROOT = "rootPW";
    private static final String AGENT = "agentPW";
    private static final String STOP = "/api/v1/ob/stop";
    private static final String STOP_BODY =
            "{\"scope\": {\"type\": \"ZONE\", \"target\": [\"zone1\"]}, \"force\": false, \"terminate\": false}";
    private static final String CLIENT = "192.0.2.7";
    private static final Options PY = Options.python(null, null);

    private final TestClock clock = new TestClock(Instant.parse("2025-03-20T07:20:30Z"));
    private final FailureLimiter limiter = new FailureLimiter(clock);
    private AuthV2 auth = new AuthV2(KEYS, Secrets.of(ROOT, AGENT, null, null), clock, limiter);

    private Signed sign(String header, String password, String uri, String body, Options o) {
        return ObshellTestClient.sign(KEYS.publicKey(), header, password, uri, body, o, clock.epochSecond());
    }

    private Verified verify(Signed s, String uri, boolean needsAgent) throws AuthException {
        return auth.verify(CLIENT, "POST", uri, Map.of(s.headerName(), List.of(s.headerValue())), s.body(),
                needsAgent);
    }

    private static AuthException refused(int status, String errCode, int legacy, Executable call) {
        AuthException e = assertThrows(AuthException.class, call);
        assertEquals(status, e.httpStatus(), e.toString());
        assertEquals(errCode, e.errCode(), e.toString());
        assertEquals(legacy, e.legacyCode(), e.toString());
        return e;
    }

    // ------------------------------------------------------------------ accepted

    @Test
    void pythonStyleRootHeaderVerifiesAndBodyDecrypts() throws Exception {
        Signed s = sign(OCS_HEADER, ROOT, STOP, STOP_BODY, PY);
        assertTrue(s.headerJson().startsWith("{\"auth\": \"rootPW\", \"ts\": \"" + (clock.epochSecond() + 60) + "\""),
                s.headerJson());
        Verified v = verify(s, STOP, false);
        assertEquals(Identity.ROOT, v.who());
        assertEquals(STOP_BODY, v.bodyText());
    }

    @Test
    void pythonStyleAgentHeaderVerifies() throws Exception {
        Signed s = sign(OCS_AGENT_HEADER, AGENT, "/api/v1/obproxy/stop", null, PY);
        Verified v = verify(s, "/api/v1/obproxy/stop", true);
        assertEquals(Identity.AGENT, v.who());
        assertEquals("{}", v.bodyText());
        // The agent header is good on ordinary routes too (the Python SDK signs everything with it when
        // /api/v1/info says security: true).
        Verified w = verify(sign(OCS_AGENT_HEADER, AGENT, STOP, STOP_BODY, PY), STOP, false);
        assertEquals(Identity.AGENT, w.who());
        assertEquals(STOP_BODY, w.bodyText());
    }

    @Test
    void goStyleFieldNamesVerify() throws Exception {
        Options go = PY.goStyle();
        Signed get = sign(OCS_HEADER, ROOT, "/api/v1/task/dag/1?show_details=true", null, go);
        assertTrue(get.headerJson().startsWith("{\"Auth\":\"rootPW\",\"Ts\":\"" + (clock.epochSecond() + 10) + "\""),
                get.headerJson());
        assertTrue(get.headerJson().endsWith("\"Keys\":null}"), get.headerJson());
        assertEquals(Identity.ROOT, verify(get, "/api/v1/task/dag/1?show_details=true", false).who());

        Signed post = sign(OCS_AGENT_HEADER, AGENT, STOP, STOP_BODY, go);
        Verified v = verify(post, STOP, false);
        assertEquals(Identity.AGENT, v.who());
        assertEquals(STOP_BODY, v.bodyText());
    }

    @Test
    void fieldNamesInAnyCaseAndUnknownFieldsIgnored() throws Exception {
        long ts = clock.epochSecond() + 30;
        String json = "{\"AUTH\":\"rootPW\",\"tS\":" + ts + ",\"URI\":\"/api/v1/info\",\"session_id\":\"\","
                + "\"ForwardType\":0,\"Keys\":null}";
        Verified v = verify(rawHeader(OCS_HEADER, json), "/api/v1/info", false);
        assertEquals(Identity.ROOT, v.who());
    }

    @Test
    void emptyBodyMeansEmptyObject() throws Exception {
        Signed s = sign(OCS_HEADER, ROOT, STOP, null, PY);
        assertEquals(null, s.body());
        assertEquals("{}", verify(s, STOP, false).bodyText());
        Signed t = sign(OCS_HEADER, ROOT, STOP, null, PY);
        Verified v = auth.verify(CLIENT, "GET", STOP, Map.of(OCS_HEADER, List.of(t.headerValue())), new byte[0],
                false);
        assertEquals("{}", v.bodyText());
    }

    @Test
    void unicodeBodyAndPasswordSurvive() throws Exception {
        auth = new AuthV2(KEYS, Secrets.of("pässwörd-密码", AGENT, null, null), clock, limiter);
        String body = "{\"name\": \"zöne-一\"}";
        Signed s = sign(OCS_HEADER, "pässwörd-密码", STOP, body, PY);
        assertTrue(s.headerJson().contains("\\u00e4"), "Python's json.dumps escapes non-ASCII: " + s.headerJson());
        assertEquals(body, verify(s, STOP, false).bodyText());
    }

    @Test
    void headerNamesAreCaseInsensitiveAndTheAgentHeaderIsCheckedFirst() throws Exception {
        Signed root = sign(OCS_HEADER, ROOT, STOP, null, PY);
        Verified v = auth.verify(CLIENT, "GET", STOP, Map.of("x-ocs-header", List.of(root.headerValue())), null,
                false);
        assertEquals(Identity.ROOT, v.who());

        // Both headers: the agent one decides, even when the root one is good.
        Signed goodRoot = sign(OCS_HEADER, ROOT, STOP, null, PY);
        Signed badAgent = sign(OCS_AGENT_HEADER, "wrong", STOP, null, PY);
        Map<String, List<String>> both = new HashMap<>();
        both.put(OCS_HEADER, List.of(goodRoot.headerValue()));
        both.put("X-OCS-AGENT-HEADER", List.of(badAgent.headerValue()));
        refused(401, "Security.Authentication.IncorrectAgentPassword", 10008,
                () -> auth.verify(CLIENT, "GET", STOP, both, null, false));

        Signed goodAgent = sign(OCS_AGENT_HEADER, AGENT, STOP, null, PY);
        Map<String, List<String>> both2 = Map.of(OCS_HEADER, List.of("garbage"),
                OCS_AGENT_HEADER, List.of(goodAgent.headerValue()));
        assertEquals(Identity.AGENT, auth.verify(CLIENT, "GET", STOP, both2, null, false).who());
    }

    @Test
    void whatTheClientsSendIsAcceptedUpToNinetySecondsAhead() throws Exception {
        // expiring now; obshell's agents (now + 10 s), obshell-sdk-python before 2025 (+ 5 s) and since (+ 60 s);
        // and 90 s, the SDK's 60 s from a clock 30 s ahead
        for (int lifetime : new int[] {0, 5, 10, 60, 90}) {
            assertEquals(Identity.ROOT, verify(sign(OCS_HEADER, ROOT, STOP, null, PY.withLifetime(lifetime)), STOP, false).who(),
                    "lifetime " + lifetime);
        }
    }

    // ------------------------------------------------------------------ refused, with obshell's codes

    @Test
    void missingHeaderIs400() {
        AuthException e = refused(400, "Request.Header.NotFound", 0,
                () -> auth.verify(CLIENT, "GET", STOP, Map.of("Content-Type", List.of("application/json")), null,
                        false));
        assertEquals("X-OCS-Agent-Header or X-OCS-Header not found in http request header", e.getMessage());
        assertFalse(e.errorObject().containsKey("code"), "legacy code 0 is left out");
        refused(400, "Request.Header.NotFound", 0,
                () -> auth.verify(CLIENT, "GET", STOP, Map.of(OCS_HEADER, List.of("")), null, false));
    }

    @Test
    void agentRoutesNeedTheAgentHeader() {
        Signed root = sign(OCS_HEADER, ROOT, "/api/v1/obproxy", null, PY);
        refused(400, "Request.Header.NotFound", 0, () -> verify(root, "/api/v1/obproxy", true));
    }

    @Test
    void headerThatDoesNotDecryptIs401WithLegacyCode1() {
        for (HeaderTamper t : new HeaderTamper[] {HeaderTamper.CORRUPT_CIPHERTEXT, HeaderTamper.TRUNCATED,
                HeaderTamper.NOT_BASE64}) {
            Signed s = sign(OCS_HEADER, ROOT, STOP, null, PY.withHeaderTamper(t));
            AuthException e = refused(401, "Security.Authentication.Header.DecryptFailed", 1,
                    () -> verify(s, STOP, false));
            assertTrue(e.getMessage().startsWith("Decrypt http header failed: "), e.getMessage());
            assertEquals(1, e.errorObject().get("code"));
        }
        // Encrypted for another key (the client cached the key of a previous server).
        Signed stale = ObshellTestClient.sign(RsaKeys.generate().publicKey(), OCS_HEADER, ROOT, STOP, null, PY,
                clock.epochSecond());
        refused(401, "Security.Authentication.Header.DecryptFailed", 1, () -> verify(stale, STOP, false));
    }

    @Test
    void headerPlaintextThatIsNotTheJsonIsDecryptFailed() {
        refused(401, "Security.Authentication.Header.DecryptFailed", 1,
                () -> verify(rawHeader(OCS_HEADER, "hello"), STOP, false));
        refused(401, "Security.Authentication.Header.DecryptFailed", 1,
                () -> verify(rawHeader(OCS_HEADER, "[\"rootPW\"]"), STOP, false));
        long ts = clock.epochSecond() + 60;
        refused(401, "Security.Authentication.Header.DecryptFailed", 1, () -> verify(rawHeader(OCS_HEADER,
                "{\"auth\":\"x\",\"Auth\":\"rootPW\",\"ts\":\"" + ts + "\",\"uri\":\"" + STOP + "\"}"), STOP, false));
        refused(401, "Security.Authentication.Header.DecryptFailed", 1, () -> verify(rawHeader(OCS_HEADER,
                "{\"auth\":123,\"ts\":\"" + ts + "\",\"uri\":\"" + STOP + "\"}"), STOP, false));
        refused(401, "Security.Authentication.Header.DecryptFailed", 1, () -> verify(rawHeader(OCS_HEADER,
                "{\"auth\":\"rootPW\",\"ts\":\"" + ts + "\",\"uri\":\"" + STOP + "\",\"keys\":\"!!\"}"), STOP, false));
    }

    @Test
    void uriMismatch() {
        Signed s = sign(OCS_HEADER, ROOT, STOP, null, PY.withUri("/api/v1/ob/start"));
        AuthException e = refused(401, "Security.Authentication.Header.UriMismatch", 10008,
                () -> verify(s, STOP, false));
        assertEquals("URI mismatch", e.getMessage());
        // The query is part of the uri.
        Signed noQuery = sign(OCS_HEADER, ROOT, "/api/v1/task/dag/1", null, PY);
        refused(401, "Security.Authentication.Header.UriMismatch", 10008,
                () -> verify(noQuery, "/api/v1/task/dag/1?show_details=true", false));
    }

    @Test
    void expiredHeader() {
        Signed s = sign(OCS_HEADER, ROOT, STOP, null, PY);
        clock.advance(Duration.ofSeconds(61));
        refused(401, "Security.Authentication.Expired", 10008, () -> verify(s, STOP, false));
        Signed past = sign(OCS_HEADER, ROOT, STOP, null, PY.withLifetime(-1));
        refused(401, "Security.Authentication.Expired", 10008, () -> verify(past, STOP, false));
    }

    @Test
    void expiryFarInTheFutureIsRefused() {
        Signed s = sign(OCS_HEADER, ROOT, STOP, null, PY.withLifetime(91));
        AuthException e = refused(401, "Security.Authentication.Timestamp.Invalid", 10008,
                () -> verify(s, STOP, false));
        assertTrue(e.getMessage().contains("more than the 90 s allowed"), e.getMessage());
        refused(401, "Security.Authentication.Timestamp.Invalid", 10008,
                () -> verify(sign(OCS_HEADER, ROOT, STOP, null, PY.withLifetime(300)), STOP, false));
        Signed years = sign(OCS_HEADER, ROOT, STOP, null, PY.withTs("99999999999"));
        refused(401, "Security.Authentication.Timestamp.Invalid", 10008, () -> verify(years, STOP, false));
    }

    @Test
    void timestampThatIsNotANumber() {
        Signed s = sign(OCS_HEADER, ROOT, STOP, null, PY.withTs("soon"));
        refused(401, "Security.Authentication.Timestamp.Invalid", 10008, () -> verify(s, STOP, false));
        Signed empty = sign(OCS_HEADER, ROOT, STOP, null, PY.withTs(""));
        refused(401, "Security.Authentication.Timestamp.Invalid", 10008, () -> verify(empty, STOP, false));
    }

    @Test
    void wrongPasswords() {
        AuthException e = refused(401, "Security.Authentication.IncorrectOceanbasePassword", 10008,
                () -> verify(sign(OCS_HEADER, "wrong", STOP, null, PY), STOP, false));
        assertEquals("Unauthorized: OceanBase password is incorrect", e.getMessage());
        refused(401, "Security.Authentication.IncorrectAgentPassword", 10008,
                () -> verify(sign(OCS_AGENT_HEADER, "wrong", STOP, null, PY), STOP, false));
        // The agent password is not the root password and the other way round.
        refused(401, "Security.Authentication.IncorrectOceanbasePassword", 10008,
                () -> verify(sign(OCS_HEADER, AGENT, STOP, null, PY), STOP, false));
        refused(401, "Security.Authentication.IncorrectAgentPassword", 10008,
                () -> verify(sign(OCS_AGENT_HEADER, ROOT, STOP, null, PY), STOP, false));
    }

    @Test
    void passwordsOfAnyLengthCompareWithoutError() {
        // Constant-time comparison is over SHA-256 digests of equal length: a shorter, longer, empty or
        // prefix password is just "incorrect".
        for (String p : new String[] {"", "r", "rootP", "rootPW ", "rootPWrootPW", "x".repeat(5000)}) {
            refused(401, "Security.Authentication.IncorrectOceanbasePassword", 10008,
                    () -> verify(sign(OCS_HEADER, p, STOP, null, PY), STOP, false));
            clock.advance(Duration.ofSeconds(13)); // keep the limiter out of it
        }
        assertTrue(Passwords.matches("rootPW", Passwords.digest("rootPW")));
        assertFalse(Passwords.matches("rootPW", Passwords.digest("rootPw")));
        assertFalse(Passwords.matches(null, Passwords.digest("x")));
        assertEquals(32, Passwords.digest("").length);
        assertEquals(32, Passwords.digest("x".repeat(5000)).length);
    }

    @Test
    void missingPasswordsRefuseEverything() {
        AuthV2 rootOnly = new AuthV2(KEYS, Secrets.of(ROOT, null, null, null), clock, limiter);
        refused(401, "Security.Authentication.AgentPasswordNotInitialized", 10008, () -> rootOnly.verify(CLIENT,
                "POST", "/api/v1/obproxy/stop", headers(sign(OCS_AGENT_HEADER, "", "/api/v1/obproxy/stop", null, PY)),
                null, true));
        refused(401, "Security.Authentication.WithOceanBasePassword", 10008, () -> rootOnly.verify(CLIENT,
                "POST", STOP, headers(sign(OCS_AGENT_HEADER, "", STOP, null, PY)), null, false));

        AuthV2 agentOnly = new AuthV2(KEYS, Secrets.of(null, AGENT, null, null), clock, limiter);
        refused(401, "Security.Authentication.WithAgentPassword", 10008, () -> agentOnly.verify(CLIENT,
                "POST", STOP, headers(sign(OCS_HEADER, "", STOP, null, PY)), null, false));

        clock.advance(Duration.ofMinutes(1));
        AuthV2 none = new AuthV2(KEYS, Secrets.of(null, null, null, null), clock, limiter);
        refused(401, "Security.Authentication.IncorrectOceanbasePassword", 10008, () -> none.verify(CLIENT,
                "POST", STOP, headers(sign(OCS_HEADER, "", STOP, null, PY)), null, false));
    }

    @Test
    void bodyThatDoesNotDecrypt() {
        // No keys in the header but a body: obshell's KeyAndIv error (a 500 there).
        AuthException noKeys = refused(500, "Request.Body.Decrypt.AES.KeyAndIv.Invalid", 0,
                () -> verify(sign(OCS_HEADER, ROOT, STOP, STOP_BODY, PY.withHeaderTamper(HeaderTamper.NO_KEYS)),
                        STOP, false));
        assertTrue(noKeys.getMessage().startsWith("Unauthorized: AES key and IV size error"), noKeys.getMessage());
        refused(500, "Request.Body.Decrypt.AES.ContentLength.Invalid", 0,
                () -> verify(sign(OCS_HEADER, ROOT, STOP, STOP_BODY, PY.withBodyTamper(BodyTamper.TRUNCATED)),
                        STOP, false));
        refused(401, "Common.Unauthorized", 10008,
                () -> verify(sign(OCS_HEADER, ROOT, STOP, STOP_BODY, PY.withBodyTamper(BodyTamper.BAD_PADDING)),
                        STOP, false));
        refused(401, "Common.Unauthorized", 10008,
                () -> verify(sign(OCS_HEADER, ROOT, STOP, STOP_BODY, PY.withBodyTamper(BodyTamper.NOT_BASE64)),
                        STOP, false));
        refused(401, "Common.Unauthorized", 10008,
                () -> verify(sign(OCS_HEADER, ROOT, STOP, STOP_BODY, PY.withBodyTamper(BodyTamper.PLAIN)),
                        STOP, false));
        // Without a body, missing keys are fine.
        clock.advance(Duration.ofMinutes(1));
        assertEquals("{}", assertDoesNotThrowVerify(
                sign(OCS_HEADER, ROOT, STOP, null, PY.withHeaderTamper(HeaderTamper.NO_KEYS))).bodyText());
    }

    private Verified assertDoesNotThrowVerify(Signed s) {
        try {
            return verify(s, STOP, false);
        } catch (AuthException e) {
            throw new AssertionError("refused: " + e, e);
        }
    }

    // ------------------------------------------------------------------ replay

    @Test
    void replayIsRefusedAndAFreshHeaderIsAccepted() throws Exception {
        Signed s = sign(OCS_HEADER, ROOT, STOP, STOP_BODY, PY);
        assertEquals(Identity.ROOT, verify(s, STOP, false).who());
        AuthException e = refused(401, "Security.Authentication.Header.Replayed", 10008, () -> verify(s, STOP, false));
        assertTrue(e.getMessage().contains("already used"), e.getMessage());

        Signed fresh = sign(OCS_HEADER, ROOT, STOP, STOP_BODY, PY);
        assertNotEquals(s.headerValue(), fresh.headerValue());
        assertEquals(Identity.ROOT, verify(fresh, STOP, false).who());

        // Once the first header has expired it is refused as expired, and the cache has let it go.
        clock.advance(Duration.ofSeconds(61));
        refused(401, "Security.Authentication.Expired", 10008, () -> verify(s, STOP, false));
    }

    @Test
    void reEncryptingTheSameHeaderIsStillAReplay() throws Exception {
        Signed s = sign(OCS_HEADER, ROOT, STOP, null, PY);
        verify(s, STOP, false);
        // A different ciphertext of the same plaintext (RSA PKCS#1 v1.5 padding is random).
        String again = Base64.getEncoder().encodeToString(ObshellTestClient.rsaChunks(KEYS.publicKey(),
                s.headerJson().getBytes(StandardCharsets.UTF_8)));
        assertNotEquals(s.headerValue(), again);
        refused(401, "Security.Authentication.Header.Replayed", 10008,
                () -> auth.verify(CLIENT, "GET", STOP, Map.of(OCS_HEADER, List.of(again)), null, false));
    }

    @Test
    void replayCacheFullRefusesWith429() throws Exception {
        ReplayCache tiny = new ReplayCache(clock, 2, 1000);
        auth = new AuthV2(KEYS, Secrets.of(ROOT, AGENT, null, null), clock, limiter, tiny);
        verify(sign(OCS_HEADER, ROOT, STOP, null, PY), STOP, false);
        verify(sign(OCS_HEADER, ROOT, STOP, null, PY), STOP, false);
        AuthException e = refused(429, "Security.Authentication.TooManyRequests", 0,
                () -> verify(sign(OCS_HEADER, ROOT, STOP, null, PY), STOP, false));
        assertEquals(61, e.retryAfterSeconds());
        clock.advance(Duration.ofSeconds(61));
        assertEquals(Identity.ROOT, verify(sign(OCS_HEADER, ROOT, STOP, null, PY), STOP, false).who());
    }

    // ------------------------------------------------------------------ rate limiting

    @Test
    void failedLoginsAreRateLimitedPerClientAndRecover() throws Exception {
        for (int i = 0; i < 5; i++) {
            refused(401, "Security.Authentication.IncorrectOceanbasePassword", 10008,
                    () -> verify(sign(OCS_HEADER, "guess", STOP, null, PY), STOP, false));
        }
        // Even the right password is refused now, before any checking.
        AuthException e = refused(429, "Security.Authentication.TooManyFailures", 0,
                () -> verify(sign(OCS_HEADER, ROOT, STOP, null, PY), STOP, false));
        assertEquals(12, e.retryAfterSeconds());
        assertTrue(e.getMessage().contains(CLIENT), e.getMessage());

        // Another address is not affected.
        Signed other = sign(OCS_HEADER, ROOT, STOP, null, PY);
        assertEquals(Identity.ROOT, auth.verify("198.51.100.9", "GET", STOP, headers(other), null, false).who());

        clock.advance(Duration.ofSeconds(12));
        assertEquals(Identity.ROOT, verify(sign(OCS_HEADER, ROOT, STOP, null, PY), STOP, false).who());
    }

    @Test
    void decryptFailuresCountButMissingHeadersDoNot() {
        for (int i = 0; i < 10; i++) {
            refused(400, "Request.Header.NotFound", 0,
                    () -> auth.verify(CLIENT, "GET", STOP, Map.of(), null, false));
        }
        for (int i = 0; i < 5; i++) {
            refused(401, "Security.Authentication.Header.DecryptFailed", 1, () -> verify(
                    sign(OCS_HEADER, ROOT, STOP, null, PY.withHeaderTamper(HeaderTamper.CORRUPT_CIPHERTEXT)), STOP,
                    false));
        }
        refused(429, "Security.Authentication.TooManyFailures", 0,
                () -> verify(sign(OCS_HEADER, ROOT, STOP, null, PY), STOP, false));
    }

    // ------------------------------------------------------------------ helpers

    private static Map<String, List<String>> headers(Signed s) {
        return Map.of(s.headerName(), List.of(s.headerValue()));
    }

    /** A header whose plaintext is exactly {@code json}, encrypted like the SDKs do. */
    private static Signed rawHeader(String name, String json) throws Exception {
        byte[] blocks = ObshellTestClient.rsaChunks(KEYS.publicKey(), json.getBytes(StandardCharsets.UTF_8));
        return new Signed(name, Base64.getEncoder().encodeToString(blocks), null, json, new byte[0]);
    }
}
