package io.obplay.plan;

import java.nio.charset.Charset;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Values as a terminal shows them, for the text plan, the recap and the progress lines: an operator approves a plan
 * by reading it, so nothing in a value may move the cursor, recolour, overwrite or reorder what is shown, nor print
 * as the same {@code ?} as another value.
 *
 * <p>Written as <code>&#92;u{HEX}</code> (the code point): control characters (C0, DEL, C1; a line break and a tab only where
 * lines of text are shown, as in commands and scripts), Unicode format characters (the bidirectional controls
 * U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C, zero-width characters, U+FEFF...), line and paragraph
 * separators, unassigned and private-use code points and lone surrogates, and every character the terminal's
 * charset cannot show (all of non-ASCII under a C/POSIX locale, so that {@code /data/é} and {@code /data/ü} stay
 * distinct). A backslash that would read as the start of such an escape is written <code>&#92;u{5C}</code>, so the text
 * shown is unambiguous. JSON output is not made with this: JSON escapes as JSON does.
 */
public final class Printable {
    private final List<Charset> charsets;
    private final boolean unicode;

    private Printable(List<Charset> charsets) {
        this.charsets = List.copyOf(charsets);
        boolean all = true;
        for (Charset c : charsets) {
            all &= c.equals(StandardCharsets.UTF_8) || c.name().startsWith("UTF-") || c.name().equals("GB18030");
        }
        this.unicode = all;
    }

    /** For text shown in charsets that can show all of Unicode (UTF-8). */
    public static final Printable UNICODE = new Printable(List.of(StandardCharsets.UTF_8));
    /** For text shown in US-ASCII (a C/POSIX locale). */
    public static final Printable ASCII = new Printable(List.of(StandardCharsets.US_ASCII));

    /** Shows what every one of these charsets can encode. */
    public static Printable of(Charset... charsets) {
        return new Printable(List.of(charsets));
    }

    private static volatile Printable terminal;

    /**
     * For this process's terminal: what both the locale's charset ({@code stdout.encoding} where the JDK sets it,
     * else {@code native.encoding}) and the default charset (which obplay's writers encode with) can show.
     */
    public static Printable terminal() {
        Printable t = terminal;
        if (t == null) {
            List<Charset> list = new ArrayList<>();
            list.add(Charset.defaultCharset());
            for (String p : List.of("stdout.encoding", "sun.stdout.encoding", "native.encoding")) {
                String name = System.getProperty(p);
                if (name != null) {
                    try {
                        list.add(Charset.forName(name));
                        break;
                    } catch (RuntimeException e) {
                        // not a charset this JDK knows: the default charset decides
                    }
                }
            }
            terminal = t = new Printable(list);
        }
        return t;
    }

    /** Whether {@code s} is shown as it is (for obplay's own decorations, such as a middle dot, and their ASCII stand-ins). */
    public boolean shows(String s) {
        return line(s).equals(s);
    }

    /** One line of text: a line break or a tab in the value is escaped too. */
    public String line(Object value) {
        return escape(String.valueOf(value), false);
    }

    /** Lines of text: line breaks and tabs stay (the caller indents the lines); the rest is escaped as {@link #line}. */
    public String lines(Object value) {
        return escape(String.valueOf(value), true);
    }

    private String escape(String s, boolean lines) {
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (c < 0x20 || c >= 0x7f || c == '\\') {
                break;
            }
            i++;
        }
        if (i == n) {
            return s;  // printable ASCII without a backslash: the common case
        }
        StringBuilder b = new StringBuilder(n + 16).append(s, 0, i);
        CharsetEncoder[] encoders = null;
        while (i < n) {
            int cp = s.codePointAt(i);
            int len = Character.charCount(cp);
            boolean show;
            if (cp == '\\') {
                show = !s.startsWith("u{", i + 1);
            } else if (cp >= 0x20 && cp < 0x7f) {
                show = true;
            } else if (cp == '\n' || cp == '\t') {
                show = lines;
            } else if (hidden(cp)) {
                show = false;
            } else if (unicode) {
                show = true;
            } else {
                if (encoders == null) {
                    encoders = new CharsetEncoder[charsets.size()];
                    for (int k = 0; k < encoders.length; k++) {
                        encoders[k] = charsets.get(k).newEncoder();
                    }
                }
                show = true;
                for (CharsetEncoder e : encoders) {
                    show &= e.canEncode(s.substring(i, i + len));
                }
            }
            if (show) {
                b.append(s, i, i + len);
            } else {
                b.append("\\u{").append(Integer.toHexString(cp).toUpperCase()).append('}');
            }
            i += len;
        }
        return b.toString();
    }

    /** Characters no terminal should get raw, whatever its charset. */
    static boolean hidden(int cp) {
        if (cp < 0x20 || cp >= 0x7f && cp < 0xa0) {
            return true;
        }
        return switch (Character.getType(cp)) {
            case Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.UNASSIGNED,
                 Character.PRIVATE_USE, Character.SURROGATE, Character.CONTROL -> true;
            default -> false;
        };
    }
}
