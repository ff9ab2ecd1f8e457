package io.obplay.plan;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** obshell's time conventions: RFC 3339 with fraction and offset; an unset time is year 1. */
public final class Times {
    /** Go's zero time, which obshell sends for a time that is not set. */
    public static final OffsetDateTime UNSET = OffsetDateTime.of(1, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);

    /** Built when a time is set (a plan has none): java.time's formatting takes a while to load. */
    private static final class Rfc3339 {
        static final DateTimeFormatter FORMAT = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSSXXX");
    }

    private Times() {
    }

    public static String format(OffsetDateTime t) {
        if (t == null || t.equals(UNSET)) {
            return "0001-01-01T00:00:00Z";
        }
        return Rfc3339.FORMAT.format(t);
    }

    public static OffsetDateTime parse(String s) {
        if (s == null || s.isEmpty() || s.startsWith("0001-01-01")) {
            return UNSET;
        }
        return OffsetDateTime.parse(s);
    }

    public static OffsetDateTime now() {
        return OffsetDateTime.now();
    }
}
