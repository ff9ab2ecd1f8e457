package io.obplay.plan;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * obshell's generic ids: a string of digits. {@code 1}+local id is a cluster-wide task; {@code 2} + the
 * agent's IPv4 as a 10-digit zero-padded unsigned int + its port as 5 digits + the local id is a task local
 * to one agent ({@code 22130706433028869} = 127.0.0.1:2886, id 9); {@code 4} is the same layout for obproxy
 * tasks.
 */
public record GenericId(char kind, long ipv4, int port, long localId) {

    public static final char CLUSTER = '1';
    public static final char AGENT = '2';
    public static final char OBPROXY = '4';

    public static GenericId agent(String ip, int port, long localId) {
        return new GenericId(AGENT, ipv4(ip), port, localId);
    }

    public static GenericId obproxy(String ip, int port, long localId) {
        return new GenericId(OBPROXY, ipv4(ip), port, localId);
    }

    @Override
    public String toString() {
        if (kind == CLUSTER) {
            return "1" + localId;
        }
        if (ipv4 < 0 || ipv4 > 9_999_999_999L || port < 0 || port > 99_999) {
            return kind + String.format("%010d%05d", ipv4, port) + localId;
        }
        StringBuilder b = new StringBuilder(36).append(kind);
        zeroPadded(b, ipv4, 10);
        zeroPadded(b, port, 5);
        return b.append(localId).toString();
    }

    /** {@code String.format("%0<width>d", n)} for 0 <= n < 10^width, without a Formatter. */
    private static void zeroPadded(StringBuilder b, long n, int width) {
        String digits = Long.toString(n);
        for (int i = digits.length(); i < width; i++) {
            b.append('0');
        }
        b.append(digits);
    }

    /** Parses an id; throws IllegalArgumentException when it is not one of obshell's forms. */
    public static GenericId parse(String s) {
        if (s == null || s.isEmpty() || !s.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("not a generic id: " + s);
        }
        char kind = s.charAt(0);
        if (kind == CLUSTER) {
            if (s.length() < 2) throw new IllegalArgumentException("not a generic id: " + s);
            return new GenericId(kind, 0, 0, Long.parseLong(s.substring(1)));
        }
        if (kind != AGENT && kind != OBPROXY) {
            throw new IllegalArgumentException("unsupported generic id kind '" + kind + "': " + s);
        }
        if (s.length() < 17 || s.length() > 35) {
            throw new IllegalArgumentException("not a generic id: " + s);
        }
        long ip = Long.parseLong(s.substring(1, 11));
        int port = Integer.parseInt(s.substring(11, 16));
        if (ip > 0xFFFFFFFFL || port > 65535) {
            throw new IllegalArgumentException("not a generic id: " + s);
        }
        return new GenericId(kind, ip, port, Long.parseLong(s.substring(16)));
    }

    public static long ipv4(String ip) {
        try {
            InetAddress a = InetAddress.getByName(ip);
            if (!(a instanceof Inet4Address)) {
                throw new IllegalArgumentException("not an IPv4 address: " + ip);
            }
            byte[] b = a.getAddress();
            return ((b[0] & 0xFFL) << 24) | ((b[1] & 0xFFL) << 16) | ((b[2] & 0xFFL) << 8) | (b[3] & 0xFFL);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IPv4 address: " + ip, e);
        }
    }

    public String ip() {
        return ((ipv4 >> 24) & 0xFF) + "." + ((ipv4 >> 16) & 0xFF) + "." + ((ipv4 >> 8) & 0xFF) + "." + (ipv4 & 0xFF);
    }
}
