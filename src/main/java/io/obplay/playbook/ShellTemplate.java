package io.obplay.playbook;

import com.github.mustachejava.DefaultMustacheFactory;
import com.github.mustachejava.Mustache;
import com.github.mustachejava.MustacheException;
import io.obplay.inventory.Server;
import io.obplay.inventory.Setting;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A shell command template: Mustache over a server's settings, where {@code {{name}}} inserts the value
 * shell-quoted (never HTML-escaped) and {@code {{{name}}}} inserts it raw (for operators who know why).
 */
public final class ShellTemplate {
    private static final Pattern VARIABLE = Pattern.compile("\\{\\{\\{?\\s*&?\\s*([A-Za-z_][A-Za-z0-9_.]*)\\s*}?}}");

    /** Mustache, loaded when a template needs it (simple templates do not). */
    private static final class Factory {
        static final DefaultMustacheFactory FACTORY = new DefaultMustacheFactory() {
            @Override
            public void encode(String value, Writer writer) {
                try {
                    writer.write(quote(value));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }

    private final String text;
    /** Null for a simple template until Mustache is needed (a caller's own scope). */
    private Mustache mustache;
    /** A simple template (text and plain variables only) as its parts: String text, Var variables; else null. */
    private final List<Object> parts;

    private ShellTemplate(String text, Mustache mustache, List<Object> parts) {
        this.text = text;
        this.mustache = mustache;
        this.parts = parts;
    }

    /** A variable of a simple template: {@code {{name}}} (shell-quoted) or {@code {{{name}}}} / {@code {{&name}}} (raw). */
    private record Var(String name, boolean raw) {
    }

    /** Compiles a template; throws IllegalArgumentException with Mustache's reason when it is malformed. */
    public static ShellTemplate compile(String text) {
        List<Object> parts = simple(text);
        if (parts != null) {
            return new ShellTemplate(text, null, parts);  // Mustache compiles every simple template
        }
        return new ShellTemplate(text, mustache(text), null);
    }

    private static Mustache mustache(String text) {
        try {
            return Factory.FACTORY.compile(new StringReader(text), "shell");
        } catch (MustacheException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * The parts of a simple template: text without {@code {{}, and variables {@code {{ name }}}, {@code {{{ name }}}}
     * or {@code {{& name }}} where name is a plain identifier (not {@code ssh}) or {@code ssh.}identifier. Null for
     * anything else (sections, comments, partials, delimiters, other names, a carriage return anywhere), which
     * Mustache itself renders. For these templates Mustache's output is plain: the text as it is, each variable's
     * value, shell-quoted unless raw.
     */
    static List<Object> simple(String text) {
        if (text.indexOf('\r') >= 0) {
            return null;  // Mustache writes a text's newlines as the first line end it met ("\r\n" or "\n")
        }
        List<Object> parts = new ArrayList<>();
        int i = 0;
        int n = text.length();
        while (i < n) {
            int open = text.indexOf("{{", i);
            if (open < 0) {
                parts.add(text.substring(i));
                break;
            }
            if (open > i) {
                parts.add(text.substring(i, open));
            }
            boolean triple = text.startsWith("{{{", open);
            boolean amp = !triple && text.startsWith("{{&", open);
            int from = open + (triple || amp ? 3 : 2);
            String close = triple ? "}}}" : "}}";
            int end = text.indexOf(close, from);
            if (end < 0) {
                return null;
            }
            String name = stripSpaces(text.substring(from, end));
            if (!plainName(name)) {
                return null;
            }
            parts.add(new Var(name, triple || amp));
            i = end + close.length();
        }
        return parts;
    }

    private static String stripSpaces(String s) {
        int a = 0;
        int b = s.length();
        while (a < b && s.charAt(a) == ' ') {
            a++;
        }
        while (b > a && s.charAt(b - 1) == ' ') {
            b--;
        }
        return s.substring(a, b);
    }

    private static boolean plainName(String name) {
        String id = name.startsWith("ssh.") ? name.substring(4) : name;
        if (id.isEmpty() || name.equals("ssh")) {
            return false;
        }
        for (int k = 0; k < id.length(); k++) {
            char c = id.charAt(k);
            boolean letter = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_';
            if (!(letter || k > 0 && c >= '0' && c <= '9')) {
                return false;
            }
        }
        return true;
    }

    /** The plain variable names the template uses (sections are not counted). */
    public Set<String> variables() {
        Set<String> names = new TreeSet<>();
        Matcher m = VARIABLE.matcher(text);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    public String render(Map<String, Object> scope) {
        Mustache m = mustache;
        if (m == null) {
            m = mustache = mustache(text);
        }
        StringWriter out = new StringWriter();
        m.execute(out, scope);
        return out.toString();
    }

    /**
     * {@code render(PlaybookLoader.scope(s))}: for a simple template, without the scope and without Mustache
     * (the names are looked up in the server's settings as the scope holds them).
     */
    String render(Server s) {
        if (parts == null) {
            return render(PlaybookLoader.scope(s));
        }
        StringBuilder b = new StringBuilder(text.length() + 64);
        for (Object part : parts) {
            if (part instanceof Var v) {
                String value;
                if (v.name().equals("name")) {
                    value = s.name();
                } else {
                    Setting setting = s.settings().get(v.name());
                    if (setting == null) {
                        return render(PlaybookLoader.scope(s));  // not in the scope: as Mustache has it
                    }
                    value = String.valueOf(setting.value());
                }
                b.append(v.raw() ? value : quote(value));
            } else {
                b.append((String) part);
            }
        }
        return b.toString();
    }

    /** Single-quotes a value for POSIX sh. */
    public static String quote(String value) {
        return "'" + value.replace("'", "'\\''") + "'";
    }
}
