package io.obplay.playbook;

import io.obplay.inventory.Server;
import io.obplay.inventory.Setting;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
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

    private sealed interface Part permits Text, Value, Section {
    }

    private record Text(String text, int offset) implements Part {
    }

    private record Value(String name, boolean raw, int offset, String tag) implements Part {
    }

    private record Section(String name, boolean inverted, int offset, String tag, List<Part> body) implements Part {
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
        Lexer.check(parts);
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
                    b.append(quote(value));
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

    /** Single-quotes a value for POSIX sh: one word, read literally wherever a command word may stand. */
    public static String quote(String value) {
        return "'" + value.replace("'", "'\\''") + "'";
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

    // ---------------------------------------------------------------------------------------------------------
    // Where a value stands: the command read as sh reads it

    /**
     * Reads a template's text as sh does, in every state it can be in (a section rendered or not; shells that
     * differ, bash and dash), and refuses a value that stands anywhere but in command text.
     */
    private static final class Lexer {
        private Lexer() {
        }

        static void check(List<Part> parts) {
            for (State s : run(parts, List.of(new State()))) {
                s.end();
            }
        }

        /** The states after {@code parts}, from the states {@code in} (which it may change). */
        private static List<State> run(List<Part> parts, List<State> in) {
            List<State> states = in;
            for (Part p : parts) {
                if (p instanceof Text t) {
                    int base = t.offset();
                    String s = t.text();
                    for (int i = 0; i < s.length(); i++) {
                        List<State> out = new ArrayList<>(states.size() + 1);
                        for (State st : states) {
                            st.step(s.charAt(i), base + i, out);
                        }
                        states = out.size() == states.size() ? out : distinct(out);  // only a fork adds a state
                    }
                } else if (p instanceof Value v) {
                    for (State st : states) {
                        st.value(v);
                    }
                } else {
                    Section sec = (Section) p;
                    List<State> body = new ArrayList<>();
                    for (State st : states) {
                        body.add(st.copy());
                    }
                    List<State> both = new ArrayList<>(states);
                    both.addAll(run(sec.body(), body));
                    states = distinct(both);  // rendered or not
                }
            }
            return states;
        }

        /** One of each state (by what it is now). */
        private static List<State> distinct(List<State> states) {
            Map<String, State> one = new LinkedHashMap<>();
            for (State s : states) {
                one.putIfAbsent(s.key(), s);
            }
            return new ArrayList<>(one.values());
        }
    }

    private enum K {
        /** Command text at the top. */
        CMD,
        /** Command text inside $( ... ). */
        SUB,
        SQ, DQ, BQ,
        /** $'...' (bash's ANSI-C quoting). */
        ANSI,
        /** ${ ... } */
        PARAM,
        /** $(( ... )) */
        ARITH,
        /** $[ ... ] (bash's old arithmetic) */
        BRACKET,
        COMMENT,
        /** The word after << */
        DOC_WORD,
        /** A here-document's body. */
        DOC
    }

    private record Doc(String delimiter, boolean quoted, boolean strip, int open) {
    }

    private static final class Frame {
        final K kind;
        final int open;
        int depth;
        /** Where the outermost '(' still open is (command frames). */
        int parenAt;
        int caseDepth;
        boolean inWord;
        boolean cmdPos = true;
        /** The current word while it is made of letters, { and ! (a possible reserved word); else null. */
        StringBuilder word;
        boolean wordCmdPos;
        // DOC_WORD
        StringBuilder delimiter;
        boolean quoted;
        boolean strip;
        char q;
        // DOC
        Doc doc;
        StringBuilder line;

        Frame(K kind, int open) {
            this.kind = kind;
            this.open = open;
        }

        Frame copy() {
            Frame f = new Frame(kind, open);
            f.depth = depth;
            f.parenAt = parenAt;
            f.caseDepth = caseDepth;
            f.inWord = inWord;
            f.cmdPos = cmdPos;
            f.word = word == null ? null : new StringBuilder(word);
            f.wordCmdPos = wordCmdPos;
            f.delimiter = delimiter == null ? null : new StringBuilder(delimiter);
            f.quoted = quoted;
            f.strip = strip;
            f.q = q;
            f.doc = doc;
            f.line = line == null ? null : new StringBuilder(line);
            return f;
        }

        void key(StringBuilder b) {
            b.append(kind.ordinal()).append(',').append(open).append(',').append(depth).append(',').append(parenAt).append(',').append(caseDepth).append(',')
                    .append(inWord ? 'w' : '-').append(cmdPos ? 'c' : '-').append(wordCmdPos ? 'p' : '-').append(',')
                    .append(word).append(',').append(delimiter).append(',').append(quoted ? 'q' : '-').append(strip ? 's' : '-')
                    .append((int) q).append(',').append(doc).append(',').append(line).append(';');
        }
    }

    private static final class State {
        final ArrayList<Frame> frames = new ArrayList<>();
        final ArrayList<Doc> pending = new ArrayList<>();
        boolean escape;
        int escapeAt;
        boolean dollar;
        int dollarAt;
        boolean dollarParen;
        int lt;
        int ltAt;

        State() {
            frames.add(new Frame(K.CMD, 0));
        }

        private State(State s) {
            for (Frame f : s.frames) {
                frames.add(f.copy());
            }
            pending.addAll(s.pending);
            escape = s.escape;
            escapeAt = s.escapeAt;
            dollar = s.dollar;
            dollarAt = s.dollarAt;
            dollarParen = s.dollarParen;
            lt = s.lt;
            ltAt = s.ltAt;
        }

        State copy() {
            return new State(this);
        }

        String key() {
            StringBuilder b = new StringBuilder();
            for (Frame f : frames) {
                f.key(b);
            }
            b.append(pending).append(escape).append(escapeAt).append(dollar).append(dollarAt).append(dollarParen).append(lt).append(ltAt);
            return b.toString();
        }

        Frame top() {
            return frames.get(frames.size() - 1);
        }

        void push(K kind, int open) {
            frames.add(new Frame(kind, open));
        }

        void pop() {
            frames.remove(frames.size() - 1);
        }

        int lastDoc() {
            for (int i = frames.size() - 1; i >= 0; i--) {
                if (frames.get(i).kind == K.DOC) {
                    return i;
                }
            }
            return -1;
        }

        /** The state after character {@code c} (at {@code off} in the template): into {@code out}, one or two (bash, dash). */
        void step(char c, int off, List<State> out) {
            int doc = lastDoc();
            if (doc >= 0) {
                if (c == '\n' && doc != frames.size() - 1) {
                    throw new TemplateException(frames.get(doc + 1).open, "this " + what(frames.get(doc + 1).kind)
                            + " inside a here-document goes on past the end of its line; shells disagree on where such a"
                            + " document ends: keep it on one line, or set a variable before the here-document");
                }
                if (c != '\n') {
                    frames.get(doc).line.append(c);
                }
            }
            if (escape) {
                escape = false;
                Frame f = top();
                switch (f.kind) {
                    case CMD, SUB -> {
                        if (c != '\n') {
                            beginWord(f, false, c);
                        }
                    }
                    case DOC_WORD -> {
                        f.delimiter.append(c);
                        f.quoted = true;
                    }
                    default -> {
                    }
                }
                out.add(this);
                return;
            }
            if (dollarParen) {
                dollarParen = false;
                if (c == '(') {
                    Frame a = new Frame(K.ARITH, dollarAt);
                    a.depth = 2;
                    frames.add(a);
                    out.add(this);
                    return;
                }
                push(K.SUB, dollarAt);
            }
            if (dollar) {
                dollar = false;
                Frame f = top();
                boolean command = f.kind == K.CMD || f.kind == K.SUB;
                if (c == '(') {
                    dollarParen = true;
                    out.add(this);
                    return;
                }
                if (c == '{') {
                    push(K.PARAM, dollarAt);
                    out.add(this);
                    return;
                }
                if (command && c == '\'') {
                    // bash: $'...' with backslash escapes; dash (before 0.5.12): $ and a single-quoted string
                    State dash = copy();
                    push(K.ANSI, dollarAt);
                    dash.push(K.SQ, off);
                    out.add(this);
                    out.add(dash);
                    return;
                }
                if (command && c == '"') {
                    push(K.DQ, off);
                    out.add(this);
                    return;
                }
                if (c == '[') {
                    // bash: $[...] is arithmetic; dash: text
                    State dash = copy();
                    Frame b = new Frame(K.BRACKET, dollarAt);
                    b.depth = 1;
                    frames.add(b);
                    out.add(this);
                    dash.plain(c, off, out);
                    return;
                }
            }
            plain(c, off, out);
        }

        /** {@code c} read in the frame on top, no pending {@code $}, {@code $(} or backslash. */
        private void plain(char c, int off, List<State> out) {
            Frame f = top();
            if (lt > 0 && (f.kind == K.CMD || f.kind == K.SUB)) {
                if (lt == 1) {
                    lt = c == '<' ? 2 : 0;
                    if (lt == 2) {
                        out.add(this);
                        return;
                    }
                } else {
                    lt = 0;
                    if (c == '<') {  // <<< here-string: a plain word follows
                        out.add(this);
                        return;
                    }
                    Frame w = new Frame(K.DOC_WORD, ltAt);
                    w.delimiter = new StringBuilder();
                    w.strip = c == '-';
                    frames.add(w);
                    if (c == '-') {
                        out.add(this);
                        return;
                    }
                    plain(c, off, out);
                    return;
                }
            }
            switch (f.kind) {
                case CMD, SUB -> command(f, c, off, out);
                case SQ -> {
                    if (c == '\'') {
                        pop();
                    }
                    out.add(this);
                }
                case DQ -> {
                    switch (c) {
                        case '\\' -> escape(off);
                        case '"' -> pop();
                        case '`' -> push(K.BQ, off);
                        case '$' -> dollar(off);
                        default -> {
                        }
                    }
                    out.add(this);
                }
                case BQ -> {
                    if (c == '\\') {
                        escape(off);
                    } else if (c == '`') {
                        pop();
                    }
                    out.add(this);
                }
                case ANSI -> {
                    if (c == '\\') {
                        escape(off);
                    } else if (c == '\'') {
                        pop();
                    }
                    out.add(this);
                }
                case PARAM -> {
                    switch (c) {
                        case '}' -> pop();
                        case '\\' -> escape(off);
                        case '$' -> dollar(off);
                        case '`' -> push(K.BQ, off);
                        case '"' -> push(K.DQ, off);
                        case '\'' -> {
                            if (frames.size() >= 2 && frames.get(frames.size() - 2).kind == K.DQ) {
                                // inside "${...}": bash reads a quote, dash a character
                                State dash = copy();
                                push(K.SQ, off);
                                out.add(dash);
                            } else {
                                push(K.SQ, off);
                            }
                        }
                        default -> {
                        }
                    }
                    out.add(this);
                }
                case ARITH, BRACKET -> {
                    char up = f.kind == K.ARITH ? '(' : '[';
                    char down = f.kind == K.ARITH ? ')' : ']';
                    if (c == up) {
                        f.depth++;
                    } else if (c == down) {
                        if (--f.depth == 0) {
                            pop();
                        }
                    } else {
                        switch (c) {
                            case '\\' -> escape(off);
                            case '$' -> dollar(off);
                            case '`' -> push(K.BQ, off);
                            case '"' -> push(K.DQ, off);
                            case '\'' -> push(K.SQ, off);
                            default -> {
                            }
                        }
                    }
                    out.add(this);
                }
                case COMMENT -> {
                    if (c == '\n') {
                        pop();
                        plain(c, off, out);
                        return;
                    }
                    out.add(this);
                }
                case DOC_WORD -> docWord(f, c, off, out);
                case DOC -> {
                    if (c == '\n') {
                        String line = f.line.toString();
                        if (f.doc.strip()) {
                            int k = 0;
                            while (k < line.length() && line.charAt(k) == '\t') {
                                k++;
                            }
                            line = line.substring(k);
                        }
                        if (line.equals(f.doc.delimiter())) {
                            pop();
                            startDoc();
                        } else {
                            f.line.setLength(0);
                        }
                    } else if (!f.doc.quoted()) {
                        switch (c) {
                            case '\\' -> escape(off);
                            case '$' -> dollar(off);
                            case '`' -> push(K.BQ, off);
                            default -> {
                            }
                        }
                    }
                    out.add(this);
                }
            }
        }

        private void command(Frame f, char c, int off, List<State> out) {
            switch (c) {
                case '\\' -> {
                    beginWord(f, false, c);
                    escape(off);
                }
                case '\'' -> {
                    beginWord(f, false, c);
                    push(K.SQ, off);
                }
                case '"' -> {
                    beginWord(f, false, c);
                    push(K.DQ, off);
                }
                case '`' -> {
                    beginWord(f, false, c);
                    push(K.BQ, off);
                }
                case '$' -> {
                    beginWord(f, false, c);
                    dollar(off);
                }
                case '#' -> {
                    if (f.inWord) {
                        beginWord(f, false, c);
                    } else {
                        push(K.COMMENT, off);
                    }
                }
                case ' ', '\t' -> endWord(f);
                case '\n' -> {
                    endWord(f);
                    f.cmdPos = true;
                    startDoc();
                }
                case ';', '&', '|' -> {
                    endWord(f);
                    f.cmdPos = true;
                }
                case '<' -> {
                    endWord(f);
                    lt = 1;
                    ltAt = off;
                }
                case '>' -> endWord(f);
                case '(' -> {
                    endWord(f);
                    if (f.depth++ == 0) {
                        f.parenAt = off;
                    }
                    f.cmdPos = true;
                }
                case ')' -> {
                    endWord(f);
                    f.cmdPos = true;
                    if (f.depth > 0) {
                        f.depth--;
                    } else if (f.caseDepth > 0) {
                        // the end of a case pattern
                    } else if (f.kind == K.SUB) {
                        pop();
                    } else {
                        throw new TemplateException(off, "this ')' closes nothing; it would end the subshell obplay runs the"
                                + " command in");
                    }
                }
                default -> beginWord(f, true, c);
            }
            out.add(this);
        }

        private static void beginWord(Frame f, boolean plain, char c) {
            if (!f.inWord) {
                f.inWord = true;
                f.wordCmdPos = f.cmdPos;
                f.word = new StringBuilder();
            }
            if (f.word != null) {
                if (plain && (Character.isLetter(c) || c == '{' || c == '!')) {
                    f.word.append(c);
                } else {
                    f.word = null;
                }
            }
        }

        private static void endWord(Frame f) {
            if (!f.inWord) {
                return;
            }
            f.inWord = false;
            String w = f.word == null ? null : f.word.toString();
            boolean wasCmd = f.wordCmdPos;
            f.word = null;
            f.cmdPos = false;
            if (wasCmd && w != null) {
                switch (w) {
                    case "case" -> f.caseDepth++;
                    case "esac" -> {
                        if (f.caseDepth > 0) {
                            f.caseDepth--;
                        }
                    }
                    case "then", "do", "else", "elif", "if", "while", "until", "!", "{", "time" -> f.cmdPos = true;
                    default -> {
                    }
                }
            }
        }

        private void docWord(Frame f, char c, int off, List<State> out) {
            if (f.q == '\'') {
                if (c == '\'') {
                    f.q = 0;
                } else {
                    f.delimiter.append(c);
                }
            } else if (f.q == '"') {
                if (c == '\\') {
                    escape(off);
                } else if (c == '"') {
                    f.q = 0;
                } else {
                    f.delimiter.append(c);
                }
            } else if ((c == ' ' || c == '\t') && f.delimiter.length() == 0 && !f.quoted) {
                // blanks before the word
            } else if (" \t\n;&|<>()".indexOf(c) >= 0) {
                if (f.delimiter.length() == 0 && !f.quoted) {
                    throw new TemplateException(f.open, "this '<<' has no delimiter word; expected e.g. <<EOF");
                }
                pending.add(new Doc(f.delimiter.toString(), f.quoted, f.strip, f.open));
                pop();
                plain(c, off, out);
                return;
            } else if (c == '\'' || c == '"') {
                f.q = c;
                f.quoted = true;
            } else if (c == '\\') {
                escape(off);
            } else {
                f.delimiter.append(c);
            }
            out.add(this);
        }

        private void startDoc() {
            if (!pending.isEmpty()) {
                Frame d = new Frame(K.DOC, pending.get(0).open());
                d.doc = pending.remove(0);
                d.line = new StringBuilder();
                frames.add(d);
            }
        }

        private void escape(int off) {
            escape = true;
            escapeAt = off;
        }

        private void dollar(int off) {
            dollar = true;
            dollarAt = off;
        }

        /** A value (quoted or raw) at this state: refused where it cannot stand; else the state after it. */
        void value(Value v) {
            String tag = v.tag();
            if (dollar) {
                throw new TemplateException(v.offset(), tag + " follows a '$': the shell would read the value as part of a"
                        + " parameter's name; write ${NAME} or \"$NAME\" for shell variables, and the value apart");
            }
            if (escape) {
                throw new TemplateException(v.offset(), tag + " follows a backslash, which would take away the quoting of the"
                        + " value's first character");
            }
            if (lt == 2 || top().kind == K.DOC_WORD) {
                throw new TemplateException(v.offset(), tag + " stands in a here-document's delimiter; expected a fixed word such as EOF");
            }
            if (dollarParen) {
                dollarParen = false;
                push(K.SUB, dollarAt);
            }
            lt = 0;
            for (int i = frames.size() - 1; i >= 0; i--) {
                Frame f = frames.get(i);
                switch (f.kind) {
                    case DOC -> throw new TemplateException(v.offset(), tag + " stands in a here-document, where the shell runs $(...)"
                            + " and backquotes of a value; pass it as an argument or a variable instead (x=" + "{{"
                            + v.name() + "}} before the here-document, $x in it)");
                    case PARAM -> throw new TemplateException(v.offset(), tag + " stands inside ${...}; expected it outside, e.g."
                            + " x={{" + v.name() + "}}; then ${x...}");
                    case ARITH, BRACKET -> throw new TemplateException(v.offset(), tag + " stands inside shell arithmetic, which"
                            + " evaluates what a value names; expected it outside, e.g. x={{" + v.name() + "}}; then $((x))");
                    default -> {
                    }
                }
            }
            Frame f = top();
            if (!v.raw()) {
                String fix = "obplay quotes each value itself: put " + tag + " outside the quotes, e.g. ";
                String problem = switch (f.kind) {
                    case SQ -> "inside a single-quoted string ('...'), where obplay's quotes around the value would end the"
                            + " string instead: its $(...) or backquotes would run as code. " + fix + "'msg: '" + tag;
                    case DQ -> "inside a double-quoted string (\"...\"), where obplay's quotes around the value are read as"
                            + " characters: its $(...) or backquotes would run as code. " + fix + "\"msg: \"" + tag;
                    case ANSI -> "inside $'...', where obplay's quotes around the value would end the string instead. " + fix
                            + "$'\\t'" + tag;
                    case BQ -> "inside backquotes (`...`), which the shell reads twice, taking obplay's quoting of the value"
                            + " away; use $(...) instead, e.g. $(echo " + tag + ")";
                    case COMMENT -> "in a shell comment, which a line break in the value would end (what follows it would run);"
                            + " take it out of the comment, or write the comment as {{! ... }}";
                    default -> null;
                };
                if (problem != null) {
                    throw new TemplateException(v.offset(), tag + " stands " + problem);
                }
                if (f.kind == K.CMD || f.kind == K.SUB) {
                    beginWord(f, false, '\'');
                }
            }
            // a raw value may be empty: for the words around it, it is as if it were not there
        }

        /** At the end of the command: refuses one that leaves anything open. */
        void end() {
            if (escape) {
                throw new TemplateException(escapeAt, "the command ends with a backslash, which would join it to the line obplay"
                        + " puts after it");
            }
            if (dollarParen) {
                throw new TemplateException(dollarAt, "this '$(' is never closed; expected ')'");
            }
            if (lt == 2 || top().kind == K.DOC_WORD && top().delimiter.length() == 0 && !top().quoted) {
                throw new TemplateException(lt == 2 ? ltAt : top().open, "this '<<' has no delimiter word; expected e.g. <<EOF");
            }
            if (top().kind == K.DOC_WORD) {
                pending.add(new Doc(top().delimiter.toString(), top().quoted, top().strip, top().open));
                pop();
            }
            if (!pending.isEmpty()) {
                throw new TemplateException(pending.get(0).open(), "this here-document has no body: the command ends before the"
                        + " line after '<<" + pending.get(0).delimiter() + "'");
            }
            for (int i = frames.size() - 1; i >= 1; i--) {
                Frame f = frames.get(i);
                if (f.kind == K.COMMENT && i == frames.size() - 1) {
                    continue;  // the line break obplay puts after the command ends it
                }
                if (f.kind == K.DOC) {
                    throw new TemplateException(f.open, "this here-document never ends: no line of the command is '"
                            + f.doc.delimiter() + "' after it");
                }
                throw new TemplateException(f.open, "this " + what(f.kind) + " is never closed: the command ends inside it, and"
                        + " so would the lines obplay puts after it; expected " + closer(f.kind));
            }
            if (frames.get(0).depth > 0) {
                throw new TemplateException(frames.get(0).parenAt, "this '(' is never closed; expected ')'");
            }
        }

        private static String what(K k) {
            return switch (k) {
                case SQ -> "single quote";
                case DQ -> "double quote";
                case BQ -> "backquote";
                case ANSI -> "$'";
                case SUB -> "'$('";
                case PARAM -> "'${'";
                case ARITH -> "'$(('";
                case BRACKET -> "'$['";
                case COMMENT -> "comment";
                case DOC_WORD -> "'<<'";
                case DOC -> "here-document";
                case CMD -> "command";
            };
        }

        private static String closer(K k) {
            return switch (k) {
                case SQ, ANSI -> "a closing '";
                case DQ -> "a closing \"";
                case BQ -> "a closing `";
                case SUB -> "')'";
                case PARAM -> "'}'";
                case ARITH -> "'))'";
                case BRACKET -> "']'";
                default -> "its end";
            };
        }
    }
}
