package io.obplay.plan;

/**
 * The one HTML escaping of obplay's pages (the DAG page of {@code obplay serve}, {@code plan --format html}): every
 * value from an inventory, a playbook, a host's log or a request goes through {@link #text} or {@link #lines} before
 * it is put in a page, as element text or as a quoted attribute value alike. Control, bidirectional and other
 * invisible characters are first written <code>&#92;u{HEX}</code> as the terminal shows them ({@link Printable#UNICODE}), so
 * a name cannot hide or reorder what the page says; then {@code & < > " '} become character references.
 */
public final class Html {
    private Html() {
    }

    /** One line: a line break or tab in the value is written <code>&#92;u{A}</code> / <code>&#92;u{9}</code>. */
    public static String text(Object value) {
        return escape(Printable.UNICODE.line(value));
    }

    /** Lines (for a {@code <pre>}): line breaks and tabs stay. */
    public static String lines(Object value) {
        return escape(Printable.UNICODE.lines(value));
    }

    private static String escape(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String r = switch (c) {
                case '&' -> "&amp;";
                case '<' -> "&lt;";
                case '>' -> "&gt;";
                case '"' -> "&quot;";
                case '\'' -> "&#39;";
                default -> null;
            };
            if (r != null && b == null) {
                b = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (b != null) {
                if (r != null) {
                    b.append(r);
                } else {
                    b.append(c);
                }
            }
        }
        return b == null ? s : b.toString();
    }
}
