package io.obplay.plan;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * A streaming JSON writer whose output is byte for byte what {@link ObshellJson#MAPPER} (Jackson with
 * {@code INDENT_OUTPUT}, i.e. its {@code DefaultPrettyPrinter}) writes for the same maps, lists, strings, whole
 * numbers, booleans and nulls: objects one entry per line indented by two spaces, arrays inline
 * ({@code [ "a", "b" ]}), {@code [ ]} and {@code { }} when empty, {@code " : "} between name and value, and
 * Jackson's escapes ({@code \" \\ \b \t \n \f \r}, other control characters as backslash-u-00XX).
 *
 * <p>It exists so that a plan of 50,000 sub-tasks goes out as it is made, without a map per sub-task, without
 * Jackson's databind (and its start-up cost), and (to stdout) without a second pass through a charset encoder.
 * Two sinks: UTF-8 bytes to an {@link OutputStream}, encoded as {@code OutputStreamWriter} would (a lone
 * surrogate becomes {@code ?}), or chars to a {@link Writer}. Neither is closed.
 */
abstract class JsonText {
    /** Jackson's escapes for ASCII: 0 none, -1 a six-character escape (backslash, u, 00, two hex digits), else the letter after the backslash. */
    static final int[] ESCAPES = new int[128];
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    static {
        for (int i = 0; i < 32; i++) {
            ESCAPES[i] = -1;
        }
        ESCAPES['"'] = '"';
        ESCAPES['\\'] = '\\';
        ESCAPES['\b'] = 'b';
        ESCAPES['\t'] = 't';
        ESCAPES['\f'] = 'f';
        ESCAPES['\n'] = 'n';
        ESCAPES['\r'] = 'r';
    }

    /** Per open container: true for an array. */
    private boolean[] array = new boolean[32];
    /** Per open container: entries or values written so far. */
    private int[] count = new int[32];
    private int depth;
    /** Objects open (arrays are inline and do not indent). */
    private int nesting;
    /** A field name was just written: the value follows it without a separator. */
    private boolean afterName;

    // ---------------------------------------------------------------------------------------------------- sinks

    /** Writes ASCII text as it is. */
    abstract void raw(String ascii);

    abstract void raw(char ascii);

    /** Writes {@code s} quoted and escaped. */
    abstract void quoted(String s);

    /** Writes what is buffered to the sink and flushes it. */
    abstract void flush();

    // ------------------------------------------------------------------------------------------------ structure

    private void indent() {
        indent(nesting);
    }

    /** A line end and {@code nesting} levels of indentation. */
    void indent(int nesting) {
        raw('\n');
        for (int i = 0; i < nesting; i++) {
            raw("  ");
        }
    }

    /** {@code ,} when not the first entry, the indentation, the quoted name and {@code " : "}. */
    void fieldName(boolean first, int nesting, String name) {
        if (!first) {
            raw(',');
        }
        indent(nesting);
        quoted(name);
        raw(" : ");
    }

    private void beforeValue() {
        if (afterName) {
            afterName = false;
            return;
        }
        if (depth > 0 && array[depth - 1]) {
            raw(count[depth - 1]++ == 0 ? " " : ", ");
        }
    }

    private void push(boolean isArray) {
        if (depth == array.length) {
            array = java.util.Arrays.copyOf(array, depth * 2);
            count = java.util.Arrays.copyOf(count, depth * 2);
        }
        array[depth] = isArray;
        count[depth] = 0;
        depth++;
    }

    final JsonText startObject() {
        beforeValue();
        raw('{');
        push(false);
        nesting++;
        return this;
    }

    final JsonText endObject() {
        nesting--;
        if (count[--depth] > 0) {
            indent();
        } else {
            raw(' ');
        }
        raw('}');
        return this;
    }

    final JsonText startArray() {
        beforeValue();
        raw('[');
        push(true);
        return this;
    }

    final JsonText endArray() {
        depth--;
        raw(" ]");
        return this;
    }

    /** The name of the next entry of the open object. */
    final JsonText name(String name) {
        fieldName(count[depth - 1]++ == 0, nesting, name);
        afterName = true;
        return this;
    }

    final JsonText value(String s) {
        beforeValue();
        if (s == null) {
            raw("null");
        } else {
            quoted(s);
        }
        return this;
    }

    /** The string {@code prefix + middle + suffix}, where prefix and suffix recur (the sink may keep them escaped). */
    final JsonText value(String prefix, String middle, String suffix) {
        beforeValue();
        quoted(prefix, middle, suffix);
        return this;
    }

    void quoted(String prefix, String middle, String suffix) {
        quoted(prefix + middle + suffix);
    }

    final JsonText value(long n) {
        beforeValue();
        number(n);
        return this;
    }

    void number(long n) {
        raw(Long.toString(n));
    }

    // ------------------------------------------------------------------------------------------------ templates

    /**
     * A value written many times with the same text around it, recorded once: the text between its holes, and
     * which hole is which. See {@link #recorder} and {@link #fill}.
     */
    static final class Template {
        final byte[][] between;
        final Object[] holes;

        Template(byte[][] between, Object[] holes) {
            this.between = between;
            this.holes = holes;
        }
    }

    /**
     * A writer that records a {@link Template} of one value of an array that already has values, at {@code nesting}:
     * where it is asked to write one of the strings {@code holes} (by identity, as a string or as the middle of
     * {@link #value(String, String, String)}) or one of the numbers {@code numberHoles}, it leaves a hole. Null when
     * this sink writes no templates.
     */
    JsonText recorder(int nesting, String[] holes, long[] numberHoles) {
        return null;
    }

    /** The template this recorder made; null when it did not go as expected. */
    Template template() {
        return null;
    }

    /**
     * Writes the next value of the open array from a template of this sink's {@link #recorder}: the recorded text,
     * with {@code values[i]} (a String, escaped; a Long; or an ASCII String given as {@code raw}) in hole i.
     */
    void fill(Template t, Object[] values) {
        throw new UnsupportedOperationException();
    }

    /** Marks the next value of the open array as written (by {@link #fill}). */
    final void countValue() {
        count[depth - 1]++;
    }

    /** Sets the state to "inside an array that has values, at {@code nesting}" (for a recorder). */
    final void inArray(int nesting) {
        push(true);
        count[depth - 1] = 1;
        this.nesting = nesting;
    }

    final JsonText value(boolean b) {
        beforeValue();
        raw(b ? "true" : "false");
        return this;
    }

    final JsonText nullValue() {
        beforeValue();
        raw("null");
        return this;
    }

    final JsonText field(String name, String value) {
        return name(name).value(value);
    }

    final JsonText field(String name, long value) {
        return name(name).value(value);
    }

    final JsonText strings(List<String> values) {
        startArray();
        for (String v : values) {
            value(v);
        }
        return endArray();
    }

    /**
     * Whether {@link #any} writes {@code v} as Jackson would: null, strings, booleans, whole numbers (Integer,
     * Long, Short, Byte), lists and sets of these, maps with string keys of these. Anything else (a Double, a
     * record, an array) is left to Jackson.
     */
    static boolean supported(Object v) {
        if (v == null || v instanceof String || v instanceof Integer || v instanceof Long || v instanceof Boolean
                || v instanceof Short || v instanceof Byte) {
            return true;
        }
        if (v instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!(e.getKey() instanceof String) || !supported(e.getValue())) {
                    return false;
                }
            }
            return true;
        }
        if (v instanceof Collection<?> c) {
            for (Object o : c) {
                if (!supported(o)) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    /** Writes a value that {@link #supported} accepts. */
    final JsonText any(Object v) {
        if (v == null) {
            return nullValue();
        }
        if (v instanceof String s) {
            return value(s);
        }
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            return value(((Number) v).longValue());
        }
        if (v instanceof Boolean b) {
            return value(b.booleanValue());
        }
        if (v instanceof Map<?, ?> m) {
            startObject();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                name((String) e.getKey());
                any(e.getValue());
            }
            return endObject();
        }
        if (v instanceof Collection<?> c) {
            startArray();
            for (Object o : c) {
                any(o);
            }
            return endArray();
        }
        throw new IllegalArgumentException("not written as JSON here: " + v.getClass().getName());
    }

    // ------------------------------------------------------------------------------------------------ the sinks

    static JsonText to(OutputStream out) {
        return new Utf8(out);
    }

    static JsonText to(Writer out) {
        return new Chars(out);
    }

    /** UTF-8 bytes into a buffer, written to the stream when it fills. */
    private static final class Utf8 extends JsonText {
        private final OutputStream out;
        private final byte[] buf;
        private int at;

        Utf8(OutputStream out) {
            this(out, 1 << 16);
        }

        Utf8(OutputStream out, int size) {
            this.out = out;
            this.buf = new byte[size];
        }

        private void drain() {
            if (holeOrder != null) {
                holesWrong = true;  // a recorder's value does not fit: no template
                at = 0;
                return;
            }
            try {
                out.write(buf, 0, at);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            at = 0;
        }

        @Override
        @SuppressWarnings("deprecation")
        void raw(String ascii) {
            int n = ascii.length();
            if (at + n > buf.length) {
                drain();
            }
            ascii.getBytes(0, n, buf, at);  // ASCII only: the deprecated method is exactly right and fast
            at += n;
        }

        @Override
        void raw(char ascii) {
            if (at == buf.length) {
                drain();
            }
            buf[at++] = (byte) ascii;
        }

        // ---- templates: a recorder leaves holes where it is asked to write these
        private String[] holeStrings;
        private long[] holeNumbers;
        private java.util.List<Object> holeOrder;
        private java.util.List<Integer> holeAt;
        private boolean holesWrong;

        @Override
        JsonText recorder(int nesting, String[] holes, long[] numberHoles) {
            Utf8 r = new Utf8(OutputStream.nullOutputStream(), 1 << 16);
            r.holeStrings = holes;
            r.holeNumbers = numberHoles;
            r.holeOrder = new ArrayList<>();
            r.holeAt = new ArrayList<>();
            r.inArray(nesting);
            return r;
        }

        private boolean hole(Object o) {
            if (holeStrings != null) {
                for (String h : holeStrings) {
                    if (h == o) {
                        holeOrder.add(h);
                        holeAt.add(at);
                        return true;
                    }
                }
            }
            return false;
        }

        @Override
        Template template() {
            if (holeOrder == null || holesWrong || at >= buf.length) {
                return null;
            }
            int n = holeOrder.size();
            byte[][] between = new byte[n + 1][];
            int from = 0;
            for (int i = 0; i < n; i++) {
                between[i] = java.util.Arrays.copyOfRange(buf, from, holeAt.get(i));
                from = holeAt.get(i);
            }
            between[n] = java.util.Arrays.copyOfRange(buf, from, at);
            return new Template(between, holeOrder.toArray());
        }

        @Override
        void number(long n) {
            if (holeNumbers != null) {
                for (long h : holeNumbers) {
                    if (h == n) {
                        holeOrder.add(h);
                        holeAt.add(at);
                        return;
                    }
                }
            }
            if (n >= 0 && n < 10) {
                raw((char) ('0' + n));
            } else {
                raw(Long.toString(n));
            }
        }

        @Override
        void fill(Template t, Object[] values) {
            byte[][] between = t.between;
            for (int i = 0; i < values.length; i++) {
                bytes(between[i]);
                Object v = values[i];
                if (v instanceof Long n) {
                    number(n);
                } else {
                    String s = (String) v;
                    if (at + 6L * s.length() > buf.length) {
                        drain();
                    }
                    at = escape(s, buf, at);
                }
            }
            bytes(between[values.length]);
            countValue();
        }

        /** Per nesting: the indentation's bytes. */
        private final byte[][] indents = new byte[16][];
        /** Per nesting and first-or-not: a field's bytes up to its value, by name (names are few). */
        private final java.util.Map<String, byte[]>[] names = newMaps(32);

        @SuppressWarnings("unchecked")
        private static java.util.Map<String, byte[]>[] newMaps(int n) {
            java.util.Map<String, byte[]>[] maps = new java.util.Map[n];
            for (int i = 0; i < n; i++) {
                maps[i] = new java.util.HashMap<>();
            }
            return maps;
        }

        private void bytes(byte[] bytes) {
            if (at + bytes.length > buf.length) {
                drain();
            }
            System.arraycopy(bytes, 0, buf, at, bytes.length);
            at += bytes.length;
        }

        @Override
        void indent(int nesting) {
            if (nesting >= indents.length) {
                super.indent(nesting);
                return;
            }
            byte[] b = indents[nesting];
            if (b == null) {
                b = new byte[1 + 2 * nesting];
                java.util.Arrays.fill(b, (byte) ' ');
                b[0] = '\n';
                indents[nesting] = b;
            }
            bytes(b);
        }

        @Override
        void fieldName(boolean first, int nesting, String name) {
            int slot = 2 * nesting + (first ? 1 : 0);
            if (slot >= names.length || name.length() > 64) {
                super.fieldName(first, nesting, name);
                return;
            }
            byte[] b = names[slot].get(name);
            if (b == null) {
                // the generic way into a scratch buffer, kept
                Utf8 scratch = new Utf8(java.io.OutputStream.nullOutputStream(), 256 + 2 * nesting);
                scratch.fieldNameUncached(first, nesting, name);
                b = java.util.Arrays.copyOf(scratch.buf, scratch.at);
                if (names[slot].size() < 256) {
                    names[slot].put(name, b);
                }
            }
            bytes(b);
        }

        private void fieldNameUncached(boolean first, int nesting, String name) {
            super.fieldName(first, nesting, name);
        }

        /** The last strings {@link #quoted(String, String, String)} escaped, and their bytes (by identity). */
        private final String[] keptText = new String[4];
        private final byte[][] keptBytes = new byte[4][];
        private int keptNext;

        @Override
        void quoted(String prefix, String middle, String suffix) {
            if (holeStrings != null) {
                for (String h : holeStrings) {
                    if (h == prefix || h == suffix) {
                        holesWrong = true;  // only a middle may be a hole
                    }
                }
                byte[] pre = kept(prefix);
                byte[] post = kept(suffix);
                if (pre == null || post == null || at + pre.length + post.length + 6L * middle.length() + 2 > buf.length) {
                    holesWrong = true;
                    return;
                }
                raw('"');
                bytes(pre);
                if (!hole(middle)) {
                    at = escape(middle, buf, at);
                }
                bytes(post);
                raw('"');
                return;
            }
            byte[] pre = kept(prefix);
            byte[] post = kept(suffix);
            if (pre == null || post == null || 6L * middle.length() + 2 + pre.length + post.length > buf.length) {
                super.quoted(prefix, middle, suffix);
                return;
            }
            raw('"');
            bytes(pre);
            if (at + 6L * middle.length() > buf.length) {
                drain();
            }
            at = escape(middle, buf, at);
            bytes(post);
            raw('"');
        }

        /** A string's escaped bytes, kept for the next time; null when it is too long to keep. */
        private byte[] kept(String s) {
            for (int i = 0; i < keptText.length; i++) {
                if (keptText[i] == s) {
                    return keptBytes[i];
                }
            }
            if (6L * s.length() > buf.length) {
                return null;
            }
            Utf8 scratch = new Utf8(java.io.OutputStream.nullOutputStream(), 6 * s.length() + 8);
            scratch.at = escape(s, scratch.buf, 0);
            byte[] b = java.util.Arrays.copyOf(scratch.buf, scratch.at);
            keptText[keptNext] = s;
            keptBytes[keptNext] = b;
            keptNext = (keptNext + 1) % keptText.length;
            return b;
        }

        @Override
        void quoted(String s) {
            if (holeStrings != null) {
                if (at + 6L * s.length() + 2 > buf.length) {
                    holesWrong = true;
                    return;
                }
                raw('"');
                if (!hole(s)) {
                    at = escape(s, buf, at);
                }
                raw('"');
                return;
            }
            int n = s.length();
            if (at + 6L * n + 2 > buf.length) {
                drain();
                if (6L * n + 2 > buf.length) {
                    quotedLong(s);
                    return;
                }
            }
            buf[at++] = '"';
            at = escape(s, buf, at);
            buf[at++] = '"';
        }

        /** Writes {@code s} escaped (no quotes) at {@code p} of {@code b}, which has room for 6 bytes a char. */
        private static int escape(String s, byte[] b, int p) {
            int n = s.length();
            for (int i = 0; i < n; i++) {
                char c = s.charAt(i);
                if (c < 0x80 && ESCAPES[c] == 0) {
                    b[p++] = (byte) c;
                } else {
                    p = escape(s, i, c, b, p);
                    if (p < 0) {
                        p = -p;
                        i++;  // the pair's low surrogate is written too
                    }
                }
            }
            return p;
        }

        /**
         * Writes char {@code c} (at {@code i} of {@code s}), which is not plain ASCII, at {@code p}; returns the
         * new position, negated when it consumed a surrogate pair.
         */
        private static int escape(String s, int i, char c, byte[] b, int p) {
            if (c < 0x80) {
                int e = ESCAPES[c];
                if (e > 0) {
                    b[p++] = '\\';
                    b[p++] = (byte) e;
                } else {
                    b[p++] = '\\';
                    b[p++] = 'u';
                    b[p++] = '0';
                    b[p++] = '0';
                    b[p++] = (byte) HEX[c >> 4];
                    b[p++] = (byte) HEX[c & 0xF];
                }
                return p;
            }
            if (c < 0x800) {
                b[p++] = (byte) (0xC0 | (c >> 6));
                b[p++] = (byte) (0x80 | (c & 0x3F));
                return p;
            }
            if (!Character.isSurrogate(c)) {
                b[p++] = (byte) (0xE0 | (c >> 12));
                b[p++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                b[p++] = (byte) (0x80 | (c & 0x3F));
                return p;
            }
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(i + 1));
                b[p++] = (byte) (0xF0 | (cp >> 18));
                b[p++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                b[p++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                b[p++] = (byte) (0x80 | (cp & 0x3F));
                return -p;
            }
            b[p++] = '?';  // a lone surrogate: what the UTF-8 encoder of an OutputStreamWriter puts
            return p;
        }

        /** {@link #quoted} for a string longer than the buffer can take at once. */
        private void quotedLong(String s) {
            byte[] b = buf;
            int p = at;
            int n = s.length();
            if (p + 2 > b.length) {
                at = p;
                drain();
                p = 0;
            }
            b[p++] = '"';
            for (int i = 0; i < n; i++) {
                if (p + 6 > b.length) {  // the longest a char becomes: a six-character escape
                    at = p;
                    drain();
                    p = 0;
                }
                char c = s.charAt(i);
                if (c < 0x80) {
                    int e = ESCAPES[c];
                    if (e == 0) {
                        b[p++] = (byte) c;
                    } else if (e > 0) {
                        b[p++] = '\\';
                        b[p++] = (byte) e;
                    } else {
                        b[p++] = '\\';
                        b[p++] = 'u';
                        b[p++] = '0';
                        b[p++] = '0';
                        b[p++] = (byte) HEX[c >> 4];
                        b[p++] = (byte) HEX[c & 0xF];
                    }
                } else if (c < 0x800) {
                    b[p++] = (byte) (0xC0 | (c >> 6));
                    b[p++] = (byte) (0x80 | (c & 0x3F));
                } else if (!Character.isSurrogate(c)) {
                    b[p++] = (byte) (0xE0 | (c >> 12));
                    b[p++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                    b[p++] = (byte) (0x80 | (c & 0x3F));
                } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    int cp = Character.toCodePoint(c, s.charAt(++i));
                    b[p++] = (byte) (0xF0 | (cp >> 18));
                    b[p++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                    b[p++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                    b[p++] = (byte) (0x80 | (cp & 0x3F));
                } else {
                    b[p++] = '?';  // a lone surrogate: what the UTF-8 encoder of an OutputStreamWriter puts
                }
            }
            if (p + 1 > b.length) {
                at = p;
                drain();
                p = 0;
            }
            b[p++] = '"';
            at = p;
        }

        @Override
        void flush() {
            drain();
            try {
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** Chars into a buffer, written to the writer when it fills. */
    private static final class Chars extends JsonText {
        private final Writer out;
        private final char[] buf = new char[1 << 14];
        private int at;

        Chars(Writer out) {
            this.out = out;
        }

        private void drain() {
            try {
                out.write(buf, 0, at);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            at = 0;
        }

        @Override
        void raw(String ascii) {
            int n = ascii.length();
            if (at + n > buf.length) {
                drain();
            }
            ascii.getChars(0, n, buf, at);
            at += n;
        }

        @Override
        void raw(char ascii) {
            if (at == buf.length) {
                drain();
            }
            buf[at++] = ascii;
        }

        @Override
        void quoted(String s) {
            char[] b = buf;
            int p = at;
            int n = s.length();
            if (p + 2 > b.length) {
                at = p;
                drain();
                p = 0;
            }
            b[p++] = '"';
            for (int i = 0; i < n; i++) {
                if (p + 6 > b.length) {
                    at = p;
                    drain();
                    p = 0;
                }
                char c = s.charAt(i);
                int e = c < 0x80 ? ESCAPES[c] : 0;
                if (e == 0) {
                    b[p++] = c;
                } else if (e > 0) {
                    b[p++] = '\\';
                    b[p++] = (char) e;
                } else {
                    b[p++] = '\\';
                    b[p++] = 'u';
                    b[p++] = '0';
                    b[p++] = '0';
                    b[p++] = HEX[c >> 4];
                    b[p++] = HEX[c & 0xF];
                }
            }
            if (p + 1 > b.length) {
                at = p;
                drain();
                p = 0;
            }
            b[p++] = '"';
            at = p;
        }

        @Override
        void flush() {
            drain();
            try {
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
