package io.obplay.playbook;

import io.obplay.inventory.Server;
import io.obplay.inventory.Setting;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A shell step's command: a Mustache template over a server's settings, of which obplay takes only what has a
 * meaning in a shell script, and lets a value stand only where the shell reads it as data.
 *
 * <p>The tags: {@code {{name}}} inserts the value as one single-quoted word; {@code {{{name}}}} and {@code {{&name}}}
 * insert it as it is, for values made only of letters, digits and {@code _ . / : @ , + -} (any other value is refused
 * at plan time); {@code {{#name}}...{{/name}}} renders its body when the value is not empty and not {@code false},
 * {@code no} or {@code off} (any case), {@code {{^name}}...{{/name}}} when it is; {@code {{! comment}}} renders
 * nothing. A section does not change what names mean inside it (there is no {@code {{.}}}). Every name must be a
 * setting of each server (or {@code name}, the server's name). A line holding only a section or comment tag is
 * removed with its line break, as Mustache does. Refused, as having no meaning here: partials ({@code {{> file}}},
 * which would read a local file into the remote script), changed delimiters ({@code {{=<% %>=}}}), template
 * inheritance, pragmas; there are no lambdas (values are strings).
 *
 * <p>Where a value may stand is decided by reading the command as {@code sh} does (quotes, {@code $(...)},
 * backquotes, {@code ${...}}, {@code $((...))}, comments, here-documents; every way a section may be rendered or
 * not): a quoted value only in command text (at the top or inside {@code $(...)}, also within double quotes),
 * never inside quotes, backquotes, a comment, {@code ${...}}, arithmetic or a here-document, nor after {@code $} or
 * a backslash. Quoting for the context instead was not chosen: a context is not always known before the value is
 * (a here-document's end, {@code eval}), and a refusal with the place and the fix is plain. A command that ends
 * inside a quote or a here-document, or has a {@code )} that closes nothing, is refused too: it would swallow the
 * lines obplay puts around it.
 */
public final class ShellTemplate {
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_-]*(?:\\.[A-Za-z_][A-Za-z0-9_-]*)*");
    /** What a raw value may hold: nothing that any shell context reads as syntax. */
    private static final Pattern RAW_SAFE = Pattern.compile("[A-Za-z0-9_./:@,+-]*");
    private static final Set<String> RESERVED = Set.of("if", "then", "else", "elif", "fi", "do", "done", "case", "esac",
            "while", "until", "for", "in", "function", "select", "time");

    /** A mistake in a template: what, and the offset in the template's text of the character it is about. */
    public static final class TemplateException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        private final int offset;

        TemplateException(int offset, String message) {
            super(message);
            this.offset = offset;
        }

        /** The offset in the template's text of the character (usually a tag's first brace) the mistake is at. */
        public int offset() {
            return offset;
        }
    }

    /** A use of a name: where its tag starts and the tag as written. */
    public record Ref(String name, int offset, String tag) {
    }

    sealed interface Part permits Text, Value, Section {
    }

    record Text(String text, int offset) implements Part {
    }

    record Value(String name, boolean raw, int offset, String tag) implements Part {
    }

    record Section(String name, boolean inverted, int offset, String tag, List<Part> body) implements Part {
    }

    private final String text;
    private final List<Part> parts;
    private final List<Ref> refs;

    private ShellTemplate(String text, List<Part> parts, List<Ref> refs) {
        this.text = text;
        this.parts = parts;
        this.refs = refs;
    }

    /** Reads a template and checks where each value stands; throws {@link TemplateException} for what it refuses. */
    public static ShellTemplate compile(String text) {
        List<Ref> refs = new ArrayList<>();
        List<Part> parts = parse(text, refs);
        ShellReading.check(parts);
        return new ShellTemplate(text, parts, List.copyOf(refs));
    }

    public String text() {
        return text;
    }

    /** Every use of a name (values and sections), in the order they are written. */
    public List<Ref> references() {
        return refs;
    }

    /** The names the template uses. */
    public Set<String> names() {
        Set<String> names = new LinkedHashSet<>();
        for (Ref r : refs) {
            names.add(r.name());
        }
        return names;
    }

    /** The value of a name for a server: its name, or a setting's value; null when it has no such setting. */
    public static String value(Server s, String name) {
        if (name.equals("name")) {
            return s.name();
        }
        Setting setting = s.settings().get(name);
        return setting == null ? null : String.valueOf(setting.value());
    }

    /** The command for one server; throws {@link TemplateException} for a name it lacks or a raw value it refuses. */
    public String render(Server s) {
        return render(name -> value(s, name));
    }

    /** The command with values from {@code values} (null for a name without a value). */
    public String render(Function<String, String> values) {
        StringBuilder b = new StringBuilder(text.length() + 64);
        render(parts, values, b);
        return b.toString();
    }

    private static void render(List<Part> parts, Function<String, String> values, StringBuilder b) {
        for (Part p : parts) {
            if (p instanceof Text t) {
                b.append(t.text());
            } else if (p instanceof Value v) {
                String value = values.apply(v.name());
                if (value == null) {
                    throw new TemplateException(v.offset(), v.tag() + " names no value");
                }
                if (v.raw()) {
                    String problem = rawProblem(value);
                    if (problem != null) {
                        throw new TemplateException(v.offset(), v.tag() + " inserts '" + v.name() + "' unquoted, and its value '"
                                + value + "' " + problem + "; use {{" + v.name() + "}}, which quotes it (outside quotes)");
                    }
                    b.append(value);
                } else {
                    b.append(ShellQuote.quote(value));
                }
            } else {
                Section s = (Section) p;
                String value = values.apply(s.name());
                if (value == null) {
                    throw new TemplateException(s.offset(), s.tag() + " names no value");
                }
                if (truthy(value) != s.inverted()) {
                    render(s.body(), values, b);
                }
            }
        }
    }

    /** Whether a section renders for a value: not empty and not false, no or off (in any case). */
    static boolean truthy(String value) {
        return !value.isEmpty() && !value.equalsIgnoreCase("false") && !value.equalsIgnoreCase("no") && !value.equalsIgnoreCase("off");
    }

    /** Why a value cannot be inserted raw, or null when it can. */
    static String rawProblem(String value) {
        if (!RAW_SAFE.matcher(value).matches()) {
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (!RAW_SAFE.matcher(String.valueOf(c)).matches()) {
                    return "holds " + describe(c) + ", which the shell could read as syntax (raw values may hold only letters,"
                            + " digits and _ . / : @ , + -)";
                }
            }
        }
        if (RESERVED.contains(value)) {
            return "is a shell reserved word";
        }
        return null;
    }

    private static String describe(char c) {
        if (c == ' ') {
            return "a space";
        }
        if (c == '\n') {
            return "a newline";
        }
        if (c < 0x20 || c == 0x7f) {
            return String.format("the control character U+%04X", (int) c);
        }
        return "'" + c + "'";
    }

    // ---------------------------------------------------------------------------------------------------------
    // Mustache tags

    private enum Kind { VALUE, RAW, COMMENT, SECTION, INVERTED, CLOSE }

    private record Tag(Kind kind, String name, int start, int end) {
    }

    private static List<Part> parse(String text, List<Ref> refs) {
        List<Tag> tags = tags(text);
        // standalone tags (a section, inverted, closing or comment tag alone on its line, but for blanks) take their
        // line with them, as Mustache has it: [cutFrom, cutTo) per tag, or -1
        int[] cutFrom = new int[tags.size()];
        int[] cutTo = new int[tags.size()];
        for (int k = 0; k < tags.size(); k++) {
            Tag t = tags.get(k);
            cutFrom[k] = -1;
            if (t.kind() == Kind.VALUE || t.kind() == Kind.RAW) {
                continue;
            }
            int lineStart = t.start();
            while (lineStart > 0 && (text.charAt(lineStart - 1) == ' ' || text.charAt(lineStart - 1) == '\t')) {
                lineStart--;
            }
            if (lineStart > 0 && text.charAt(lineStart - 1) != '\n') {
                continue;
            }
            int lineEnd = t.end();
            while (lineEnd < text.length() && (text.charAt(lineEnd) == ' ' || text.charAt(lineEnd) == '\t')) {
                lineEnd++;
            }
            if (lineEnd < text.length() && text.startsWith("\r\n", lineEnd)) {
                lineEnd += 2;
            } else if (lineEnd < text.length() && text.charAt(lineEnd) == '\n') {
                lineEnd++;
            } else if (lineEnd < text.length()) {
                continue;
            }
            cutFrom[k] = lineStart;
            cutTo[k] = lineEnd;
        }
        record Open(Tag tag, List<Part> parts) {
        }
        Deque<Open> open = new ArrayDeque<>();
        List<Part> root = new ArrayList<>();
        List<Part> current = root;
        int at = 0;  // the text before tags.get(k) starts here
        for (int k = 0; k <= tags.size(); k++) {
            Tag t = k < tags.size() ? tags.get(k) : null;
            int textEnd = t == null ? text.length() : cutFrom[k] >= 0 ? cutFrom[k] : t.start();
            if (textEnd > at) {
                current.add(new Text(text.substring(at, textEnd), at));
            }
            if (t == null) {
                break;
            }
            at = cutFrom[k] >= 0 ? Math.max(cutTo[k], t.end()) : t.end();
            String written = text.substring(t.start(), t.end());
            switch (t.kind()) {
                case VALUE, RAW -> {
                    current.add(new Value(t.name(), t.kind() == Kind.RAW, t.start(), written));
                    refs.add(new Ref(t.name(), t.start(), written));
                }
                case COMMENT -> {
                }
                case SECTION, INVERTED -> {
                    refs.add(new Ref(t.name(), t.start(), written));
                    open.push(new Open(t, current));
                    current = new ArrayList<>();
                }
                case CLOSE -> {
                    if (open.isEmpty()) {
                        throw new TemplateException(t.start(), written + " closes no section; expected {{#" + t.name() + "}} or {{^"
                                + t.name() + "}} before it");
                    }
                    Open o = open.pop();
                    if (!o.tag().name().equals(t.name())) {
                        throw new TemplateException(t.start(), written + " closes " + text.substring(o.tag().start(), o.tag().end())
                                + "; expected {{/" + o.tag().name() + "}} first");
                    }
                    Section s = new Section(o.tag().name(), o.tag().kind() == Kind.INVERTED, o.tag().start(),
                            text.substring(o.tag().start(), o.tag().end()), current);
                    current = o.parts();
                    current.add(s);
                }
            }
        }
        if (!open.isEmpty()) {
            Tag t = open.peek().tag();
            throw new TemplateException(t.start(), text.substring(t.start(), t.end()) + " is never closed; expected {{/" + t.name() + "}}");
        }
        return root;
    }

    private static List<Tag> tags(String text) {
        List<Tag> tags = new ArrayList<>();
        int i = 0;
        int n = text.length();
        while (true) {
            int open = text.indexOf("{{", i);
            if (open < 0) {
                return tags;
            }
            char sigil = open + 2 < n ? text.charAt(open + 2) : 0;
            String close = sigil == '{' ? "}}}" : "}}";
            int end = text.indexOf(close, open + 2);
            if (end < 0) {
                throw new TemplateException(open, "'" + (sigil == '{' ? "{{{" : "{{") + "' opens a tag that is never closed (expected '"
                        + close + "'); obplay reads every '{{' as a Mustache tag");
            }
            int after = end + close.length();
            String written = text.substring(open, after);
            Kind kind;
            String body;
            switch (sigil) {
                case '{' -> {
                    kind = Kind.RAW;
                    body = text.substring(open + 3, end);
                }
                case '&' -> {
                    kind = Kind.RAW;
                    body = text.substring(open + 3, end);
                }
                case '!' -> {
                    kind = Kind.COMMENT;
                    body = "";
                }
                case '#' -> {
                    kind = Kind.SECTION;
                    body = text.substring(open + 3, end);
                }
                case '^' -> {
                    kind = Kind.INVERTED;
                    body = text.substring(open + 3, end);
                }
                case '/' -> {
                    kind = Kind.CLOSE;
                    body = text.substring(open + 3, end);
                }
                case '>' -> throw new TemplateException(open, written + " is a Mustache partial, which would read a local file into"
                        + " the remote script and the stored plan; obplay does not read partials: write the commands in the step");
                case '=' -> throw new TemplateException(open, written + " changes Mustache's delimiters; obplay refuses it, so that"
                        + " every tag is written {{...}} and checked");
                case '<', '$' -> throw new TemplateException(open, written + " is Mustache template inheritance, which reads other"
                        + " templates; obplay does not allow it: write the commands in the step");
                case '%' -> throw new TemplateException(open, written + " is a Mustache pragma; obplay supports none");
                default -> {
                    kind = Kind.VALUE;
                    body = text.substring(open + 2, end);
                }
            }
            if (kind != Kind.COMMENT) {
                String name = body.strip();
                if (name.equals(".")) {
                    throw new TemplateException(open, written + " (the current item) has no meaning here: a section does not"
                            + " change what names mean; name the value, e.g. {{home_path}}");
                }
                if (!NAME.matcher(name).matches()) {
                    throw new TemplateException(open, "'" + written + "' is not a tag obplay reads; expected {{name}}, {{{name}}},"
                            + " {{&name}}, {{#name}}...{{/name}}, {{^name}}...{{/name}} or {{! comment}}, with a setting's name"
                            + " such as home_path or ssh.user");
                }
                body = name;
            }
            tags.add(new Tag(kind, body, open, after));
            i = after;
        }
    }
}
