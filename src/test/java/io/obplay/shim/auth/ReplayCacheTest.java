package io.obplay.shim.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ReplayCacheTest {

    private final TestClock clock = new TestClock(Instant.ofEpochSecond(1_000_000));

    private static byte[] d(String s) {
        return Passwords.sha256(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void secondUseIsAReplayUntilTheExpiryPasses() {
        ReplayCache c = new ReplayCache(clock);
        assertEquals(ReplayCache.Result.FIRST, c.record(d("a"), 1_000_060));
        assertEquals(ReplayCache.Result.REPLAY, c.record(d("a"), 1_000_060));
        assertEquals(ReplayCache.Result.FIRST, c.record(d("b"), 1_000_010));
        assertEquals(2, c.size());

        clock.set(Instant.ofEpochSecond(1_000_010)); // b's last valid second: still held
        assertEquals(2, c.size());
        clock.advance(Duration.ofSeconds(1));
        assertEquals(1, c.size(), "b evicted after its ts");
        clock.set(Instant.ofEpochSecond(1_000_061));
        assertEquals(0, c.size(), "a evicted after its ts");
    }

    @Test
    void fullCacheRefusesNewEntriesUntilOneExpires() {
        ReplayCache c = new ReplayCache(clock, 2);
        assertEquals(ReplayCache.Result.FIRST, c.record(d("a"), 1_000_030));
        assertEquals(ReplayCache.Result.FIRST, c.record(d("b"), 1_000_060));
        assertEquals(ReplayCache.Result.FULL, c.record(d("c"), 1_000_060));
        assertEquals(ReplayCache.Result.REPLAY, c.record(d("a"), 1_000_030), "a full cache still spots replays");
        assertEquals(31, c.secondsUntilRoom());
        clock.advance(Duration.ofSeconds(31));
        assertEquals(ReplayCache.Result.FIRST, c.record(d("c"), 1_000_090));
        assertEquals(2, c.size());
    }
}
