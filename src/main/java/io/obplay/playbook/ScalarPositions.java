package io.obplay.playbook;

import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.nodes.ScalarNode;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a character of a YAML scalar's value stands in its file, so that a mistake inside a shell command is
 * reported at its line and column rather than at the command's start.
 *
 * <p>The scalar's source text is read from SnakeYAML's marks (each holds the window of the stream it was read from;
 * a scalar that spans more than the windows of its two marks, some kilobytes, is not found). The n-th occurrence of a
 * character in the value is the n-th in the source once the scalar's style is undone (quotes, {@code ''} and
 * {@code \"} escapes, a block scalar's header); folding and indentation change only blanks and line breaks. When the
 * counts do not agree (an escape such as {@code \x7b}), the scalar's start is given.
 */
final class ScalarPositions {
    private ScalarPositions() {
    }

    /** 1-based {line, column} of {@code value.charAt(offset)} in the file; the scalar's start when it is not known. */
    static int[] of(ScalarNode node, int offset) {
        Mark start = node.getStartMark();
        int[] fallback = {start.getLine() + 1, start.getColumn() + 1};
        String value = node.getValue();
        if (offset < 0 || offset >= value.length()) {
            return fallback;
        }
        char c = value.charAt(offset);
        if (Character.isWhitespace(c) || Character.isSurrogate(c)) {
            return fallback;
        }
        int[] raw = source(node);
        if (raw == null) {
            return fallback;
        }
        int nth = 0;
        int total = 0;
        for (int i = 0; i < value.length(); i++) {
            if (value.charAt(i) == c) {
                if (i < offset) {
                    nth++;
                }
                total++;
            }
        }
        List<Integer> at = occurrences(raw, c, node.getScalarStyle());
        if (at == null || at.size() != total) {
            return fallback;
        }
        int r = at.get(nth);
        int line = start.getLine();
        int column = start.getColumn();
        for (int i = 0; i < r; i++) {
            if (raw[i] == '\n') {
                line++;
                column = 0;
            } else {
                column++;
            }
        }
        return new int[]{line + 1, column + 1};
    }

    /** The indices in the scalar's source of the characters that are {@code c} in its value. */
    private static List<Integer> occurrences(int[] raw, char c, DumperOptions.ScalarStyle style) {
        List<Integer> at = new ArrayList<>();
        switch (style) {
            case PLAIN -> {
                for (int i = 0; i < raw.length; i++) {
                    if (raw[i] == c) {
                        at.add(i);
                    }
                }
            }
            case SINGLE_QUOTED -> {
                int open = first(raw, '\'');  // after an anchor or a tag, if any
                if (open < 0) {
                    return null;
                }
                for (int i = open + 1; i < raw.length - 1; i++) {
                    if (raw[i] == '\'' && raw[i + 1] == '\'') {
                        if (c == '\'') {
                            at.add(i);
                        }
                        i++;
                    } else if (raw[i] == c) {
                        at.add(i);
                    }
                }
            }
            case DOUBLE_QUOTED -> {
                int open = first(raw, '"');
                if (open < 0) {
                    return null;
                }
                for (int i = open + 1; i < raw.length - 1; i++) {
                    if (raw[i] == '\\') {
                        int e = i + 1 < raw.length ? raw[i + 1] : 0;
                        if (e == c && (e == '"' || e == '\\' || e == '/')) {
                            at.add(i);
                        }
                        i++;
                    } else if (raw[i] == c) {
                        at.add(i);
                    }
                }
            }
            default -> {  // literal and folded block scalars: the header line, then the text
                int i = 0;
                while (i < raw.length && raw[i] != '\n') {
                    i++;
                }
                for (; i < raw.length; i++) {
                    if (raw[i] == c) {
                        at.add(i);
                    }
                }
            }
        }
        return at;
    }

    private static int first(int[] raw, char c) {
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == c) {
                return i;
            }
        }
        return -1;
    }

    /** The scalar's source text as code points, from its start mark to its end mark; null when the marks do not hold it. */
    private static int[] source(ScalarNode node) {
        Mark s = node.getStartMark();
        Mark e = node.getEndMark();
        int from = s.getIndex();
        int to = e.getIndex();
        if (s.getBuffer() == null || e.getBuffer() == null || to < from) {
            return null;
        }
        int[] out = new int[to - from];
        // the start mark's window: buffer[0] is at index (s.getIndex() - s.getPointer()) of the stream
        int sBase = s.getIndex() - s.getPointer();
        int sEnd = sBase + filled(s.getBuffer());
        int k = 0;
        for (int i = from; i < to && i < sEnd; i++) {
            out[k++] = s.getBuffer()[i - sBase];
        }
        if (k < out.length) {
            int eBase = e.getIndex() - e.getPointer();
            if (eBase > from + k || e.getPointer() > filled(e.getBuffer())) {
                return null;  // a window between the two is not held
            }
            for (int i = from + k; i < to; i++) {
                out[k++] = e.getBuffer()[i - eBase];
            }
        }
        return out;
    }

    /** A window's length: SnakeYAML sizes it for UTF-16 units and fills it with code points (a NUL is never read). */
    private static int filled(int[] buffer) {
        int n = buffer.length;
        while (n > 0 && buffer[n - 1] == 0) {
            n--;
        }
        return n;
    }
}
