package io.obplay.playbook;

import com.github.mustachejava.DefaultMustacheFactory;
import com.github.mustachejava.Mustache;
import com.github.mustachejava.MustacheException;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
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
    private static final DefaultMustacheFactory FACTORY = new DefaultMustacheFactory() {
        @Override
        public void encode(String value, Writer writer) {
            try {
                writer.write(quote(value));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private final String text;
    private final Mustache mustache;

    private ShellTemplate(String text, Mustache mustache) {
        this.text = text;
        this.mustache = mustache;
    }

    /** Compiles a template; throws IllegalArgumentException with Mustache's reason when it is malformed. */
    public static ShellTemplate compile(String text) {
        try {
            return new ShellTemplate(text, FACTORY.compile(new StringReader(text), "shell"));
        } catch (MustacheException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
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
        StringWriter out = new StringWriter();
        mustache.execute(out, scope);
        return out.toString();
    }

    /** Single-quotes a value for POSIX sh. */
    public static String quote(String value) {
        return "'" + value.replace("'", "'\\''") + "'";
    }
}
