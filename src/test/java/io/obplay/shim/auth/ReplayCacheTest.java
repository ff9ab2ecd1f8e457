package io.obplay.shim.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ReplayCacheTest {

    private static final String A = "192.0.2.1";
    private static final String B = "192.0.2.2";
    private static final String C = "192.0.2.3";

    private final TestClock clock = new TestClock(Instant.ofEpochSecond(1_000_000));

    private static byte[] d(String s) {
        return Passwords.sha256(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void secondUseIsAReplayUntilTheExpiryPassesFromAnyClient() {
        ReplayCache c = new ReplayCache(clock);
        assertEquals(ReplayCache.Result.FIRST, c.record(A, d("a"), 1_000_060));
        assertEquals(ReplayCache.Result.REPLAY, c.record(A, d("a"), 1_000_060));
        assertEquals(ReplayCache.Result.REPLAY, c.record(B, d("a"), 1_000_060), "a replay from another address");
        assertEquals(ReplayCache.Result.FIRST, c.record(A, d("b"), 1_000_010));
        assertEquals(2, c.size());

        clock.set(Instant.ofEpochSecond(1_000_010)); // b's last valid second: still held
        assertEquals(2, c.size());
        clock.advance(Duration.ofSeconds(1));
        assertEquals(1, c.size(), "b evicted after its ts");
        clock.set(Instant.ofEpochSecond(1_000_061));
        assertEquals(0, c.size(), "a evicted after its ts");
        assertEquals(0, c.size(A));
    }

    @Test
    void aFullClientIsRefusedUntilOneOfItsOwnExpiresAndOthersGoOn() {
        ReplayCache c = new ReplayCache(clock, 2, 1000);
        assertEquals(ReplayCache.Result.FIRST, c.record(A, d("a"), 1_000_030));
        assertEquals(ReplayCache.Result.FIRST, c.record(A, d("b"), 1_000_060));
        assertEquals(ReplayCache.Result.FULL, c.record(A, d("c"), 1_000_060));
        assertEquals(ReplayCache.Result.REPLAY, c.record(A, d("a"), 1_000_030), "a full client still has replays spotted");
        assertEquals(ReplayCache.Result.FIRST, c.record(B, d("x"), 1_000_060), "another client is not affected");
        assertEquals(31, c.secondsUntilRoom(A));
        clock.advance(Duration.ofSeconds(31));
        assertEquals(ReplayCache.Result.FIRST, c.record(A, d("c"), 1_000_090));
        assertEquals(2, c.size(A));
        assertEquals(3, c.size());
    }

    @Test
    void whenAllIsFullTheHeaviestClientGivesWayNotALightOne() {
        ReplayCache c = new ReplayCache(clock, 100, 10);
        for (int i = 0; i < 9; i++) {
            assertEquals(ReplayCache.Result.FIRST, c.record(A, d("a" + i), 1_000_050 + i));
        }
        assertEquals(ReplayCache.Result.FIRST, c.record(B, d("b0"), 1_000_060));
        assertEquals(10, c.size());
        assertEquals(ReplayCache.Result.FULL, c.record(A, d("a9"), 1_000_060), "A holds more than its share");
        assertEquals(ReplayCache.Result.FIRST, c.record(B, d("b1"), 1_000_060), "B under its share takes A's soonest place");
        assertEquals(ReplayCache.Result.FIRST, c.record(C, d("c0"), 1_000_060));
        assertEquals(7, c.size(A));
        assertEquals(2, c.size(B));
        assertEquals(1, c.size(C));
        assertEquals(10, c.size());
    }

    @Test
    void anIpv6ClientIsItsSlash64AndAMappedIpv4ItsAddress() {
        assertEquals("2001:db8:1:2::/64", ReplayCache.clientKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
        assertEquals("2001:db8:1:2::/64", ReplayCache.clientKey("2001:db8:1:2::1"));
        assertEquals("192.0.2.1", ReplayCache.clientKey("::ffff:192.0.2.1"));
        assertEquals("192.0.2.1", ReplayCache.clientKey("192.0.2.1"));
        ReplayCache c = new ReplayCache(clock, 1, 1000);
        assertEquals(ReplayCache.Result.FIRST, c.record("2001:db8:1:2::1", d("a"), 1_000_060));
        assertEquals(ReplayCache.Result.FULL, c.record("2001:db8:1:2::2", d("b"), 1_000_060), "the same /64");
        assertEquals(ReplayCache.Result.FIRST, c.record("2001:db8:1:3::1", d("b"), 1_000_060));
    }
}
