package io.obplay.inventory;

/** Values in messages: control and invisible characters escaped, so that a message shows what the file holds. */
public final class Show {
    private Show() {
    }

    public static String escaped(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            String esc = null;
            if (cp == '\n') {
                esc = "\\n";
            } else if (cp == '\r') {
                esc = "\\r";
            } else if (cp == '\t') {
                esc = "\\t";
            } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
                esc = String.format("\\x%02x", cp);
            } else if (Character.getType(cp) == Character.FORMAT || cp == 0x2028 || cp == 0x2029) {
                esc = String.format("\\u%04x", cp);
            }
            if (esc != null && out == null) {
                out = new StringBuilder(s.substring(0, i));
            }
            if (out != null) {
                out.append(esc != null ? esc : new String(Character.toChars(cp)));
            }
            i += Character.charCount(cp);
        }
        return out == null ? s : out.toString();
    }
}
