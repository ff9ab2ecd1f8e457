package io.obplay.inventory;

import java.util.Locale;

/**
 * One host, one spelling. Every host obplay reads (inventory {@code host:}, {@code jump:}, targets,
 * {@code --limit}, {@code --agent}) goes through {@link #parse}, which gives its canonical form or says why the
 * spelling is refused:
 * <ul>
 *   <li>IPv4: four decimal numbers 0-255 without leading zeros ({@code 10.0.1.1}); shorthand ({@code 10.1}),
 *       octal-looking ({@code 010.0.1.1}), hexadecimal or single-number spellings, which {@code inet_aton}
 *       reads as other addresses, are refused;</li>
 *   <li>IPv6: RFC 5952's form (lower case, no leading zeros, the longest run of zero groups as {@code ::});
 *       {@code [...]} brackets are accepted and dropped; an IPv4-mapped address ({@code ::ffff:10.0.1.1}) is its
 *       IPv4 host; zone ids ({@code %eth0}) are refused;</li>
 *   <li>names: ASCII letters, digits, {@code -} and {@code _}, labels of 1 to 63 characters, 253 at most in all,
 *       compared in lower case, a final dot dropped; a name whose last label is a number is refused (no
 *       top-level domain is numeric: it is a mistyped address).</li>
 * </ul>
 * A port in a host ({@code host:port}), white space, control, invisible or other non-ASCII characters are refused.
 */
public final class HostName {
    private HostName() {
    }

    /** A canonical host, or why the spelling is refused (then {@code host} is null). */
    public record Parsed(String host, String error) {
        public boolean ok() {
            return error == null;
        }

        public boolean ipv6() {
            return host != null && host.indexOf(':') >= 0;
        }
    }

    /** A host and a port, as in {@code 10.0.1.1:2886} or {@code [2001:db8::1]:2886}; port 0 when none was given. */
    public record HostPort(String host, int port, String error) {
        public boolean ok() {
            return error == null;
        }
    }

    /** The canonical form of {@code raw}, or why it is refused. */
    public static Parsed parse(String raw) {
        if (raw == null || raw.isEmpty()) {
            return bad("it is empty; expected an IP address or a host name");
        }
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c < 0x21 || c == 0x7f) {
                return bad("it holds " + (c == ' ' ? "a space" : "the control character " + String.format("U+%04X", (int) c))
                        + " at character " + (i + 1) + "; expected an IP address or a host name");
            }
            if (c > 0x7e) {
                int cp = raw.codePointAt(i);
                String ascii = asciiForm(raw);
                return bad("it holds the " + (invisible(cp) ? "invisible " : "non-ASCII ") + "character " + String.format("U+%04X", cp)
                        + " at character " + (i + 1) + "; expected an ASCII host name"
                        + (ascii != null && !invisible(cp) ? " (an internationalized name is written in its ASCII form: " + ascii + ")" : ""));
            }
        }
        String s = raw;
        if (s.startsWith("[")) {
            if (!s.endsWith("]")) {
                return bad(s.indexOf("]:") > 0 ? "it holds a port (host:port); expected the host alone (ports are separate settings)"
                        : "it opens '[' without closing it; expected [IPv6 address]");
            }
            s = s.substring(1, s.length() - 1);
            if (s.indexOf(':') < 0) {
                return bad("brackets are for IPv6 addresses; expected the host without them");
            }
        }
        if (s.indexOf('%') >= 0) {
            return bad("it holds an IPv6 zone id ('%'); expected an address without one");
        }
        if (s.indexOf(':') >= 0) {
            return ipv6(s);
        }
        return ipv4OrName(s);
    }

    /** Parses {@code host}, {@code host:port}, {@code [ipv6]}, {@code [ipv6]:port} or a bare IPv6 address (no port). */
    public static HostPort parseWithPort(String raw) {
        if (raw == null || raw.isEmpty()) {
            return new HostPort(null, 0, "it is empty; expected HOST or HOST:PORT");
        }
        String host = raw;
        String port = null;
        if (raw.startsWith("[")) {
            int close = raw.indexOf(']');
            if (close > 0 && close + 1 < raw.length()) {
                if (raw.charAt(close + 1) != ':') {
                    return new HostPort(null, 0, "expected [IPv6]:PORT");
                }
                host = raw.substring(0, close + 1);
                port = raw.substring(close + 2);
            }
        } else {
            int first = raw.indexOf(':');
            if (first >= 0 && first == raw.lastIndexOf(':')) {
                host = raw.substring(0, first);
                port = raw.substring(first + 1);
            }
        }
        Parsed h = parse(host);
        if (!h.ok()) {
            return new HostPort(null, 0, h.error());
        }
        int p = 0;
        if (port != null) {
            p = port(port);
            if (p == 0) {
                return new HostPort(null, 0, "the port '" + port + "' is not a port number from 1 to 65535");
            }
        }
        return new HostPort(h.host(), p, null);
    }

    /** A port from 1 to 65535 written plainly, or 0. */
    public static int port(String s) {
        if (s.isEmpty() || s.length() > 5 || (s.length() > 1 && s.charAt(0) == '0')) {
            return 0;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return 0;
            }
        }
        int p = Integer.parseInt(s);
        return p >= 1 && p <= 65535 ? p : 0;
    }

    /** {@code host:port}, with brackets around an IPv6 host. */
    public static String withPort(String host, int port) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    private static Parsed bad(String why) {
        return new Parsed(null, why);
    }

    private static boolean invisible(int cp) {
        int type = Character.getType(cp);
        return type == Character.FORMAT || type == Character.CONTROL || Character.isWhitespace(cp) || Character.isSpaceChar(cp)
                || type == Character.UNASSIGNED || type == Character.PRIVATE_USE;
    }

    private static String asciiForm(String raw) {
        try {
            return java.net.IDN.toASCII(raw, java.net.IDN.USE_STD3_ASCII_RULES).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static Parsed ipv4OrName(String s) {
        String name = s.endsWith(".") && s.length() > 1 ? s.substring(0, s.length() - 1) : s;
        String[] labels = name.split("\\.", -1);
        boolean allNumeric = true;
        for (String l : labels) {
            allNumeric &= digits(l) || hex(l);
        }
        if (allNumeric) {
            if (labels.length == 4 && s.equals(name)) {
                StringBuilder out = new StringBuilder();
                for (String l : labels) {
                    if (!digits(l)) {
                        return bad("'" + l + "' is hexadecimal; expected an IPv4 address as four decimal numbers, such as 10.0.1.1");
                    }
                    if (l.length() > 1 && l.charAt(0) == '0') {
                        return bad("'" + l + "' has a leading zero (some tools read it as octal); expected an IPv4 address as four "
                                + "decimal numbers without leading zeros, such as 10.0.1.1");
                    }
                    if (l.length() > 3 || Integer.parseInt(l) > 255) {
                        return bad("'" + l + "' is over 255; expected an IPv4 address as four numbers from 0 to 255");
                    }
                    if (out.length() > 0) {
                        out.append('.');
                    }
                    out.append(l);
                }
                return new Parsed(out.toString(), null);
            }
            return bad("it is " + (labels.length < 4 ? "a shorthand IPv4 address" : "not an IPv4 address") + " (" + labels.length
                    + (labels.length == 1 ? " number" : " numbers") + "), which tools read differently; expected four decimal numbers, such as 10.0.1.1");
        }
        if (name.length() > 253) {
            return bad("the name is " + name.length() + " characters long; expected at most 253");
        }
        for (String l : labels) {
            if (l.isEmpty()) {
                return bad("it has an empty label ('..' or a leading dot); expected a host name such as db1.example.com");
            }
            if (l.length() > 63) {
                return bad("the label '" + l.substring(0, 12) + "...' is " + l.length() + " characters long; expected at most 63");
            }
            for (int i = 0; i < l.length(); i++) {
                char c = l.charAt(i);
                boolean okChar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
                if (!okChar) {
                    return bad("it holds '" + c + "'; expected a host name of letters, digits, '-' and '.', or an IP address");
                }
            }
            if (l.startsWith("-") || l.endsWith("-")) {
                return bad("the label '" + l + "' starts or ends with '-'; expected a host name such as db1.example.com");
            }
        }
        String last = labels[labels.length - 1];
        if (digits(last)) {
            return bad("it ends in the number '" + last + "', like a mistyped IPv4 address; expected four decimal numbers "
                    + "such as 10.0.1.1, or a host name");
        }
        return new Parsed(name.toLowerCase(Locale.ROOT), null);
    }

    private static boolean digits(String l) {
        if (l.isEmpty()) {
            return false;
        }
        for (int i = 0; i < l.length(); i++) {
            if (l.charAt(i) < '0' || l.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    /** 0x followed by hexadecimal digits (or none), as inet_aton reads it. */
    private static boolean hex(String l) {
        if (l.length() < 2 || l.charAt(0) != '0' || (l.charAt(1) != 'x' && l.charAt(1) != 'X')) {
            return false;
        }
        for (int i = 2; i < l.length(); i++) {
            if (Character.digit(l.charAt(i), 16) < 0) {
                return false;
            }
        }
        return true;
    }

    private static Parsed ipv6(String s) {
        if (s.indexOf(':') == s.lastIndexOf(':')) {
            return bad("it holds a port (host:port); expected the host alone (ports are separate settings)");
        }
        int[] groups = new int[8];
        String text = s;
        int count = 0;
        int ipv4Tail = 0;
        boolean hasTail = false;
        // an embedded IPv4 tail (::ffff:10.0.1.1) stands for the last two groups
        int lastColon = text.lastIndexOf(':');
        String tail = text.substring(lastColon + 1);
        if (tail.indexOf('.') >= 0) {
            Parsed v4 = ipv4OrName(tail);
            if (!v4.ok() || v4.host().chars().anyMatch(c -> c != '.' && (c < '0' || c > '9'))) {
                return bad("its IPv4 part '" + tail + "' is not an IPv4 address" + (v4.ok() ? "" : ": " + v4.error()));
            }
            String[] p = v4.host().split("\\.");
            ipv4Tail = (Integer.parseInt(p[0]) << 24) | (Integer.parseInt(p[1]) << 16) | (Integer.parseInt(p[2]) << 8) | Integer.parseInt(p[3]);
            hasTail = true;
            text = text.substring(0, lastColon + 1) + "0:0";
        }
        int gap = text.indexOf("::");
        if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) {
            return bad("it has '::' twice; expected one at most");
        }
        String head = gap >= 0 ? text.substring(0, gap) : text;
        String rest = gap >= 0 ? text.substring(gap + 2) : "";
        String[] a = head.isEmpty() ? new String[0] : head.split(":", -1);
        String[] b = rest.isEmpty() ? new String[0] : rest.split(":", -1);
        if (a.length + b.length > (gap >= 0 ? 7 : 8) || (gap < 0 && a.length != 8)) {
            return bad("it has " + (a.length + b.length) + " groups; expected an IPv6 address of 8 groups (or fewer with '::')");
        }
        for (String g : a) {
            int v = group(g);
            if (v < 0) {
                return bad("'" + g + "' is not a group of 1 to 4 hexadecimal digits; expected an IPv6 address");
            }
            groups[count++] = v;
        }
        int at = 8 - b.length;
        for (String g : b) {
            int v = group(g);
            if (v < 0) {
                return bad("'" + g + "' is not a group of 1 to 4 hexadecimal digits; expected an IPv6 address");
            }
            groups[at++] = v;
        }
        if (hasTail) {
            groups[6] = (ipv4Tail >>> 16) & 0xffff;
            groups[7] = ipv4Tail & 0xffff;
        }
        boolean mapped = groups[0] == 0 && groups[1] == 0 && groups[2] == 0 && groups[3] == 0 && groups[4] == 0 && groups[5] == 0xffff;
        if (mapped) {
            return new Parsed((groups[6] >> 8) + "." + (groups[6] & 0xff) + "." + (groups[7] >> 8) + "." + (groups[7] & 0xff), null);
        }
        return new Parsed(format(groups), null);
    }

    private static int group(String g) {
        if (g.isEmpty() || g.length() > 4) {
            return -1;
        }
        int v = 0;
        for (int i = 0; i < g.length(); i++) {
            int d = Character.digit(g.charAt(i), 16);
            if (d < 0) {
                return -1;
            }
            v = v * 16 + d;
        }
        return v;
    }

    /** RFC 5952: the longest run of two or more zero groups (the first of equals) becomes '::'. */
    private static String format(int[] g) {
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.append("::");
                i += bestLen - 1;
                continue;
            }
            if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
                out.append(':');
            }
            out.append(Integer.toHexString(g[i]));
        }
        return out.toString();
    }
}
