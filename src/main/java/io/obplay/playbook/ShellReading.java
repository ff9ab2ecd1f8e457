package io.obplay.playbook;

import io.obplay.playbook.ShellTemplate.Part;
import io.obplay.playbook.ShellTemplate.Section;
import io.obplay.playbook.ShellTemplate.TemplateException;
import io.obplay.playbook.ShellTemplate.Text;
import io.obplay.playbook.ShellTemplate.Value;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a shell template's text as sh does, in every state it can be in (each section rendered or not; bash and
 * dash where they differ: {@code $'...'}, {@code '} inside {@code "${...}"}, {@code $[...]}), and refuses a value
 * that stands anywhere but in command text (see {@link ShellTemplate}), or a command that leaves a quote, an
 * expansion or a here-document open.
 */
final class ShellReading {

    private ShellReading() {
    }

    /** Refuses what the parts' text does with their values, or leaves open, at the offset of the character. */
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
