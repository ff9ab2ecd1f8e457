package io.obplay.shim.auth;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;

/**
 * Remembers the headers already accepted until they expire, so a captured header cannot be replayed
 * (obshell keeps no nonce: there a header replays until its {@code ts}). Entries are keyed by a digest and
 * kept until the clock passes their expiry (epoch seconds, the header's {@code ts}); after that the
 * expiry check refuses the header anyway. A replay is spotted whichever client sends it.
 *
 * <p>Bounded per client, so that one client's flood costs only that client: a client (an IPv4 address, or an
 * IPv6 /64, the block one host is usually given) holds at most {@code perClient} unexpired headers; beyond that its
 * new headers are refused ({@link Result#FULL}, answered 429 with the seconds until its oldest expires) rather
 * than forgetting one that could then be replayed, and every other client goes on. Since an accepted {@code ts} is
 * at most {@link AuthV2#MAX_FUTURE} ahead, the default 50,000 lets one client make about 550 requests a second
 * for ever (with the SDK's 60 s lifetime about 830, some 70% of what the shim's RSA decryption allows in all;
 * see BENCHMARKS.md). Memory is bounded too: at most {@code maxEntries} in all (200,000, some 30 MB). When that
 * many are held, a client that holds its fair share (all entries / clients) or more is refused, and a client
 * under it takes the place of the soonest-expiring header of the client holding the most, which has flooded.
 * Thread-safe.
 */
public final class ReplayCache {

    public static final int DEFAULT_PER_CLIENT = 50_000;
    public static final int DEFAULT_MAX_ENTRIES = 200_000;

    public enum Result { FIRST, REPLAY, FULL }

    /** A digest as a map key (the first 16 bytes of a SHA-256: 128 bits are plenty against collisions). */
    private record Key(long hi, long lo) {
        static Key of(byte[] d) {
            byte[] b = Arrays.copyOf(d, 16);
            long hi = 0;
            long lo = 0;
            for (int i = 0; i < 8; i++) {
                hi = (hi << 8) | (b[i] & 0xff);
                lo = (lo << 8) | (b[i + 8] & 0xff);
            }
            return new Key(hi, lo);
        }
    }

    private static final class Entry {
        final Key key;
        final String client;
        final long expires;
        boolean gone;

        Entry(Key key, String client, long expires) {
            this.key = key;
            this.client = client;
            this.expires = expires;
        }
    }

    /** One client's entries, by expiry (headers arrive roughly in expiry order; a queue sorted on insert). */
    private static final class Held {
        final PriorityQueue<Entry> byExpiry = new PriorityQueue<>((a, b) -> Long.compare(a.expires, b.expires));
    }

    private final Clock clock;
    private final int perClient;
    private final int maxEntries;
    private final Map<Key, Entry> seen = new HashMap<>();
    private final PriorityQueue<Entry> byExpiry = new PriorityQueue<>((a, b) -> Long.compare(a.expires, b.expires));
    private final Map<String, Held> clients = new HashMap<>();

    public ReplayCache(Clock clock) {
        this(clock, DEFAULT_PER_CLIENT, DEFAULT_MAX_ENTRIES);
    }

    public ReplayCache(Clock clock, int perClient, int maxEntries) {
        this.clock = Objects.requireNonNull(clock, "clock");
        if (perClient < 1 || maxEntries < 1) {
            throw new IllegalArgumentException("perClient and maxEntries must be >= 1");
        }
        this.perClient = perClient;
        this.maxEntries = maxEntries;
    }

    /** Records {@code digest} for {@code clientAddress}, valid until {@code expiresEpochSecond}; says whether it was new. */
    public synchronized Result record(String clientAddress, byte[] digest, long expiresEpochSecond) {
        evictExpired();
        Key key = Key.of(digest);
        if (seen.containsKey(key)) {
            return Result.REPLAY;
        }
        String client = clientKey(clientAddress);
        Held mine = clients.get(client);
        int held = mine == null ? 0 : mine.byExpiry.size();
        if (held >= perClient) {
            return Result.FULL;
        }
        if (seen.size() >= maxEntries) {
            if (held >= Math.max(1, seen.size() / Math.max(1, clients.size()))) {
                return Result.FULL;
            }
            evictOneOfTheHeaviest();
        }
        Entry e = new Entry(key, client, expiresEpochSecond);
        seen.put(key, e);
        byExpiry.add(e);
        clients.computeIfAbsent(client, k -> new Held()).byExpiry.add(e);
        return Result.FIRST;
    }

    /** Seconds until the soonest entry of this client expires (how long its FULL lasts at most); 1 at least. */
    public synchronized long secondsUntilRoom(String clientAddress) {
        evictExpired();
        Held h = clients.get(clientKey(clientAddress));
        Entry first = h == null ? byExpiry.peek() : h.byExpiry.peek();
        return first == null ? 1 : Math.max(1, first.expires - nowSeconds() + 1);
    }

    public synchronized int size() {
        evictExpired();
        return seen.size();
    }

    /** Unexpired headers held for this client. */
    public synchronized int size(String clientAddress) {
        evictExpired();
        Held h = clients.get(clientKey(clientAddress));
        return h == null ? 0 : h.byExpiry.size();
    }

    /**
     * Whom a header counts against: an IPv4 address as it is; an IPv6 address by its /64 (one host is usually
     * given a whole /64, and could otherwise rotate through it); an IPv4-mapped IPv6 address as its IPv4.
     */
    static String clientKey(String address) {
        if (address == null || address.indexOf(':') < 0) {
            return address == null ? "-" : address;
        }
        try {
            byte[] b = InetAddress.getByName(address).getAddress(); // a literal: no lookup
            if (b.length == 4) {
                return InetAddress.getByAddress(b).getHostAddress();
            }
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < 8; i += 2) {
                s.append(Integer.toHexString(((b[i] & 0xff) << 8) | (b[i + 1] & 0xff))).append(':');
            }
            return s.append(":/64").toString();
        } catch (UnknownHostException | SecurityException e) {
            return address;
        }
    }

    private void evictOneOfTheHeaviest() {
        Held heaviest = null;
        for (Held h : clients.values()) {
            if (heaviest == null || h.byExpiry.size() > heaviest.byExpiry.size()) {
                heaviest = h;
            }
        }
        if (heaviest != null && !heaviest.byExpiry.isEmpty()) {
            remove(heaviest.byExpiry.poll());
        }
    }

    private void remove(Entry e) {
        e.gone = true; // left in the global queue, skipped when it comes up
        seen.remove(e.key);
        Held h = clients.get(e.client);
        if (h != null) {
            h.byExpiry.remove(e);
            if (h.byExpiry.isEmpty()) {
                clients.remove(e.client);
            }
        }
    }

    private void evictExpired() {
        long now = nowSeconds();
        while (!byExpiry.isEmpty() && (byExpiry.peek().gone || byExpiry.peek().expires < now)) {
            Entry e = byExpiry.poll();
            if (!e.gone) {
                e.gone = true;
                seen.remove(e.key);
                Held h = clients.get(e.client);
                if (h != null) {
                    h.byExpiry.poll(); // its soonest: this one, or one expiring at the same second
                    if (h.byExpiry.isEmpty()) {
                        clients.remove(e.client);
                    }
                }
            }
        }
    }

    private long nowSeconds() {
        return Math.floorDiv(clock.millis(), 1000L);
    }
}
