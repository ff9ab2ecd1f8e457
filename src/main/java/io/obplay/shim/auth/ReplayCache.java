package io.obplay.shim.auth;

import java.time.Clock;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;

/**
 * Remembers the headers already accepted until they expire, so a captured header cannot be replayed
 * (obshell keeps no nonce: there a header replays until its {@code ts}). Entries are keyed by a digest and
 * kept until the clock passes their expiry (epoch seconds, the header's {@code ts}); after that the
 * expiry check refuses the header anyway. At most {@code maxEntries} are kept: when that many unexpired
 * headers are held, new ones are refused ({@link Result#FULL}) rather than forgetting one that could then be
 * replayed. Since {@code ts} is at most 5 minutes ahead, the default 100,000 allows ~330 requests a second.
 * Thread-safe.
 */
public final class ReplayCache {

    public static final int DEFAULT_MAX_ENTRIES = 100_000;

    public enum Result { FIRST, REPLAY, FULL }

    private record Entry(long expires, String key) {
    }

    private final Clock clock;
    private final int maxEntries;
    private final Map<String, Long> seen = new HashMap<>();
    private final PriorityQueue<Entry> byExpiry = new PriorityQueue<>((a, b) -> Long.compare(a.expires, b.expires));

    public ReplayCache(Clock clock) {
        this(clock, DEFAULT_MAX_ENTRIES);
    }

    public ReplayCache(Clock clock, int maxEntries) {
        this.clock = Objects.requireNonNull(clock, "clock");
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be >= 1");
        }
        this.maxEntries = maxEntries;
    }

    /** Records {@code digest}, valid until {@code expiresEpochSecond}; says whether it was new. */
    public synchronized Result record(byte[] digest, long expiresEpochSecond) {
        evictExpired();
        String key = Base64.getEncoder().encodeToString(digest);
        if (seen.containsKey(key)) {
            return Result.REPLAY;
        }
        if (seen.size() >= maxEntries) {
            return Result.FULL;
        }
        seen.put(key, expiresEpochSecond);
        byExpiry.add(new Entry(expiresEpochSecond, key));
        return Result.FIRST;
    }

    /** Seconds until the soonest entry expires (how long a FULL cache stays full at most). */
    public synchronized long secondsUntilRoom() {
        evictExpired();
        Entry first = byExpiry.peek();
        return first == null ? 0 : Math.max(1, first.expires - nowSeconds() + 1);
    }

    public synchronized int size() {
        evictExpired();
        return seen.size();
    }

    private void evictExpired() {
        long now = nowSeconds();
        while (!byExpiry.isEmpty() && byExpiry.peek().expires < now) {
            seen.remove(byExpiry.poll().key);
        }
    }

    private long nowSeconds() {
        return Math.floorDiv(clock.millis(), 1000L);
    }
}
