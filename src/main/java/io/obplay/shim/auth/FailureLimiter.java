package io.obplay.shim.auth;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Rate-limits failed logins per client address with a token bucket. Each client starts with
 * {@code burst} tokens (default 5); every failed authentication takes one; one token comes back every
 * {@code refill} (default 12 s, so at most 5 failures a minute are sustained, about 7,200 guesses a day per
 * address). A client with no token left is refused before any checking, even with the right password,
 * with 429 {@code Security.Authentication.TooManyFailures} and a {@code Retry-After} of the seconds until a
 * token is back (at most 12 s by default).
 *
 * <p>Why 429 and not obshell's 401/10008: the SDKs treat 401/10008 as "password or key changed" and refetch
 * {@code /api/v1/info} and {@code /api/v1/secret} before retrying, while any other error is retried once as
 * is; either way the client gives up after one retry, and 429 says plainly what happened.
 *
 * <p>Memory is bounded: a client whose bucket is full again is forgotten, and at most {@code maxClients}
 * addresses are tracked (the least recently seen is dropped first). Time comes from the given {@link Clock}.
 * Thread-safe.
 */
public final class FailureLimiter {

    public static final int DEFAULT_BURST = 5;
    public static final Duration DEFAULT_REFILL = Duration.ofSeconds(12);
    public static final int DEFAULT_MAX_CLIENTS = 10_000;

    private final Clock clock;
    private final int burst;
    private final long refillMillis;
    private final Map<String, Bucket> buckets;

    private static final class Bucket {
        double tokens;
        long lastMillis;

        Bucket(double tokens, long lastMillis) {
            this.tokens = tokens;
            this.lastMillis = lastMillis;
        }
    }

    public FailureLimiter(Clock clock) {
        this(clock, DEFAULT_BURST, DEFAULT_REFILL, DEFAULT_MAX_CLIENTS);
    }

    public FailureLimiter(Clock clock, int burst, Duration refill, int maxClients) {
        this.clock = Objects.requireNonNull(clock, "clock");
        if (burst < 1 || refill.isNegative() || refill.isZero() || maxClients < 1) {
            throw new IllegalArgumentException("burst and maxClients must be >= 1 and refill positive");
        }
        this.burst = burst;
        this.refillMillis = refill.toMillis();
        this.buckets = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
                return size() > maxClients;
            }
        };
    }

    /** Seconds until {@code client} may try again; 0 when it may try now. */
    public synchronized long retryAfterSeconds(String client) {
        Bucket b = refilled(client);
        if (b == null || b.tokens >= 1) {
            return 0;
        }
        long millis = (long) Math.ceil((1 - b.tokens) * refillMillis);
        return Math.max(1, (millis + 999) / 1000);
    }

    /** Throws 429 {@code Security.Authentication.TooManyFailures} when {@code client} has no token left. */
    public void check(String client) throws AuthException {
        long wait = retryAfterSeconds(client);
        if (wait > 0) {
            throw AuthError.TOO_MANY_FAILURES.exception("Too many failed authentications from " + client
                    + "; retry in " + wait + " s", wait);
        }
    }

    /** Takes one token from {@code client}. */
    public synchronized void recordFailure(String client) {
        Bucket b = refilled(client);
        if (b == null) {
            b = new Bucket(burst, clock.millis());
            buckets.put(key(client), b);
        }
        b.tokens = Math.max(0, b.tokens - 1);
    }

    /** How many client addresses are tracked now (those with a bucket not full). */
    public synchronized int trackedClients() {
        buckets.entrySet().removeIf(e -> refill(e.getValue()) >= burst);
        return buckets.size();
    }

    private Bucket refilled(String client) {
        String k = key(client);
        Bucket b = buckets.get(k);
        if (b != null && refill(b) >= burst) {
            buckets.remove(k);
            return null;
        }
        return b;
    }

    private double refill(Bucket b) {
        long now = clock.millis();
        long elapsed = Math.max(0, now - b.lastMillis); // a clock stepping back refills nothing
        b.tokens = Math.min(burst, b.tokens + (double) elapsed / refillMillis);
        b.lastMillis = Math.max(now, b.lastMillis);
        return b.tokens;
    }

    private static String key(String client) {
        return client == null ? "" : client;
    }
}
