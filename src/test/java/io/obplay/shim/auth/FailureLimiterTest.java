package io.obplay.shim.auth;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class FailureLimiterTest {

    private final TestClock clock = new TestClock(Instant.parse("2025-01-01T00:00:00Z"));
    private final FailureLimiter limiter = new FailureLimiter(clock);

    @Test
    void blocksAfterFiveFailuresAndRecoversAsTheClockMoves() throws Exception {
        for (int i = 0; i < 5; i++) {
            assertEquals(0, limiter.retryAfterSeconds("a"), "attempt " + (i + 1) + " allowed");
            limiter.recordFailure("a");
        }
        assertEquals(12, limiter.retryAfterSeconds("a"));
        AuthException e = assertThrows(AuthException.class, () -> limiter.check("a"));
        assertEquals(429, e.httpStatus());
        assertEquals("Security.Authentication.TooManyFailures", e.errCode());
        assertEquals(0, e.legacyCode());
        assertEquals(12, e.retryAfterSeconds());

        clock.advance(Duration.ofSeconds(5));
        assertEquals(7, limiter.retryAfterSeconds("a"));
        clock.advance(Duration.ofSeconds(7));
        assertDoesNotThrow(() -> limiter.check("a"));

        // One token came back: one more failure blocks again.
        limiter.recordFailure("a");
        assertEquals(12, limiter.retryAfterSeconds("a"));

        // After a minute the bucket is full and the client is forgotten.
        clock.advance(Duration.ofMinutes(1));
        assertEquals(0, limiter.retryAfterSeconds("a"));
        assertEquals(0, limiter.trackedClients());
    }

    @Test
    void fiveFailuresSpreadOverAMinuteDoNotBlock() {
        for (int i = 0; i < 20; i++) {
            assertEquals(0, limiter.retryAfterSeconds("slow"));
            limiter.recordFailure("slow");
            clock.advance(Duration.ofSeconds(12));
        }
        assertEquals(0, limiter.retryAfterSeconds("slow"));
    }

    @Test
    void clientsAreIndependent() {
        for (int i = 0; i < 5; i++) {
            limiter.recordFailure("10.0.0.1");
        }
        assertTrue(limiter.retryAfterSeconds("10.0.0.1") > 0);
        assertEquals(0, limiter.retryAfterSeconds("10.0.0.2"));
        assertEquals(0, limiter.retryAfterSeconds(null));
    }

    @Test
    void memoryIsBounded() {
        FailureLimiter small = new FailureLimiter(clock, 5, Duration.ofSeconds(12), 3);
        for (int i = 0; i < 100; i++) {
            small.recordFailure("10.0.0." + i);
        }
        assertEquals(3, small.trackedClients());
    }

    @Test
    void clockSteppingBackRefillsNothing() {
        for (int i = 0; i < 5; i++) {
            limiter.recordFailure("a");
        }
        clock.advance(Duration.ofHours(-1));
        assertEquals(12, limiter.retryAfterSeconds("a"));
    }

    @Test
    void settingsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new FailureLimiter(clock, 0, Duration.ofSeconds(1), 1));
        assertThrows(IllegalArgumentException.class, () -> new FailureLimiter(clock, 1, Duration.ZERO, 1));
    }
}
