package io.obplay.shim.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class BasicAuthTest {

    private static final String CLIENT = "203.0.113.5";

    private final TestClock clock = new TestClock(Instant.parse("2025-01-01T00:00:00Z"));
    private final FailureLimiter limiter = new FailureLimiter(clock);
    private final BasicAuth basic = new BasicAuth(Secrets.of(null, null, "admin", "0cp:pässword"), limiter);

    private static Map<String, List<String>> auth(String user, String password) {
        String token = Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        return Map.of("Authorization", List.of("Basic " + token));
    }

    private static AuthException refused(int status, String errCode, Executable call) {
        AuthException e = assertThrows(AuthException.class, call);
        assertEquals(status, e.httpStatus(), e.toString());
        assertEquals(errCode, e.errCode(), e.toString());
        return e;
    }

    @Test
    void rightCredentialsGiveTheOcpIdentity() throws Exception {
        assertEquals(Identity.ocp("admin"), basic.verify(CLIENT, auth("admin", "0cp:pässword")));
        String token = Base64.getEncoder().encodeToString("admin:0cp:pässword".getBytes(StandardCharsets.UTF_8));
        assertEquals(Identity.ocp("admin"),
                basic.verify(CLIENT, Map.of("authorization", List.of("basic " + token))), "case-insensitive");
    }

    @Test
    void wrongCredentialsOfAnyLengthAre401() {
        for (String[] c : new String[][] {{"admin", "0cp"}, {"admin", ""}, {"adm", "0cp:pässword"},
                {"admin", "0cp:pässword" + "x".repeat(3000)}}) {
            AuthException e = refused(401, "Common.Unauthorized", () -> basic.verify(CLIENT, auth(c[0], c[1])));
            assertEquals(10008, e.legacyCode());
            clock.advance(Duration.ofSeconds(12));
        }
    }

    @Test
    void malformedHeadersAre401() {
        refused(401, "Common.Unauthorized",
                () -> basic.verify(CLIENT, Map.of("Authorization", List.of("Bearer abc"))));
        refused(401, "Common.Unauthorized",
                () -> basic.verify(CLIENT, Map.of("Authorization", List.of("Basic %%%"))));
        String noColon = Base64.getEncoder().encodeToString("admin".getBytes(StandardCharsets.UTF_8));
        refused(401, "Common.Unauthorized",
                () -> basic.verify(CLIENT, Map.of("Authorization", List.of("Basic " + noColon))));
    }

    @Test
    void missingHeaderOrNoConfiguredUserIsRefusedWithoutCounting() {
        for (int i = 0; i < 10; i++) {
            AuthException e = refused(401, "Common.Unauthorized", () -> basic.verify(CLIENT, Map.of()));
            assertTrue(e.getMessage().contains("credentials required"), e.getMessage());
        }
        BasicAuth none = new BasicAuth(Secrets.of("root", null, null, null), limiter);
        refused(401, "Common.Unauthorized", () -> none.verify(CLIENT, auth("admin", "x")));
        assertEquals(0, limiter.retryAfterSeconds(CLIENT));
    }

    @Test
    void rateLimitedAfterFiveFailuresAndRecovers() throws Exception {
        for (int i = 0; i < 5; i++) {
            refused(401, "Common.Unauthorized", () -> basic.verify(CLIENT, auth("admin", "guess")));
        }
        AuthException e = refused(429, "Security.Authentication.TooManyFailures",
                () -> basic.verify(CLIENT, auth("admin", "0cp:pässword")));
        assertEquals(12, e.retryAfterSeconds());
        clock.advance(Duration.ofSeconds(12));
        assertEquals(Identity.ocp("admin"), basic.verify(CLIENT, auth("admin", "0cp:pässword")));
    }
}
