package io.obplay.playbook;

import com.github.mustachejava.DefaultMustacheFactory;
import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.Server;
import io.obplay.plan.StepScripts;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every Mustache form and every shell context a value can stand in: what is accepted renders values that stay data
 * when the step's script runs under dash and bash (a marker file the values try to create never appears), and what
 * is refused is refused at the tag.
 */
class ShellTemplateTest {
    @TempDir
    static Path dir;
    static Path marker;
    static Server server;
    /** Values that try to run {@code touch MARKER} in every way a shell could be made to. */
    static List<String> hostile;
    static List<String> shells;

    @BeforeAll
    static void setUp() throws Exception {
        Inventory inv = InventoryLoader.load(Path.of("inventories/demo.yaml"));
        server = inv.observers().get(0);
        marker = dir.resolve("marker");
        String m = marker.toString();
        hostile = List.of(
                "hi $(touch " + m + ")",
                "`touch " + m + "`",
                "'; touch " + m + "; '",
                "\"; touch " + m + "; \"",
                "it's \"quoted\" $(touch " + m + ") `touch " + m + "`",
                "a\ntouch " + m + "\n",
                "x\\",
                "\\'$(touch " + m + ")\\'",
                "$HOME * ; # | & > " + m + ".redirect",
                "",
                "é 字 😀 $((1+1)) ${HOME}",
                "'\"'\"'$(touch " + m + ")");
        shells = new ArrayList<>();
        java.util.Set<Path> seen = new java.util.HashSet<>();
        for (String sh : List.of("/bin/sh", "/bin/dash", "/bin/bash")) {
            if (Files.isExecutable(Path.of(sh)) && seen.add(Path.of(sh).toRealPath())) {
                shells.add(sh);
            }
        }
        assertFalse(shells.isEmpty());
    }

    record Ran(int exit, String out) {
    }

    /** Runs a step's script (StepScripts.shell around the rendered command) with a shell, as a host would. */
    static Ran run(String shell, String command) throws Exception {
        Path script = Files.createTempFile(dir, "step", ".sh");
        Files.writeString(script, StepScripts.shell(server, command).text(), StandardCharsets.UTF_8);
        Process p = new ProcessBuilder(shell, script.toString()).directory(dir.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the script ended");
        return new Ran(p.exitValue(), out);
    }

    /** The lines a script printed after obplay's own echo of the command. */
    static String printed(String out) {
        StringBuilder b = new StringBuilder();
        for (String line : out.split("\n", -1)) {
            if (!line.startsWith("obplay: ")) {
                b.append(line).append('\n');
            }
        }
        return b.toString().replaceAll("\n+$", "");
    }

    static String render(String template, Map<String, String> values) {
        return ShellTemplate.compile(template).render(values::get);
    }

    static ShellTemplate.TemplateException refused(String template) {
        return assertThrows(ShellTemplate.TemplateException.class, () -> ShellTemplate.compile(template), template);
    }

    // ---------------------------------------------------------------------------------------------------------

    @Test
    void valuesStayDataInEveryAcceptedContext() throws Exception {
        // template -> what it prints for a value v (printf '[%s]' shows the value exactly, blanks and line breaks included)
        Map<String, java.util.function.Function<String, String>> templates = new LinkedHashMap<>();
        templates.put("printf '[%s]' {{v}}", v -> "[" + v + "]");
        templates.put("printf '[%s]' \"msg: \"{{v}}", v -> "[msg: " + v + "]");
        templates.put("printf '[%s]' 'msg: '{{v}}' end'", v -> "[msg: " + v + " end]");
        templates.put("x={{v}}; printf '[%s]' \"$x\"", v -> "[" + v + "]");
        templates.put("printf '[%s]' \"$(printf '%s.' {{v}})\"", v -> "[" + v + ".]");
        templates.put("printf '[%s]' $(printf '%s' {{v}} | wc -c)", v -> "[" + v.getBytes(StandardCharsets.UTF_8).length + "]");
        templates.put("case {{v}} in *) printf '[%s]' {{v}};; esac", v -> "[" + v + "]");
        templates.put("y=$(case a in a) printf '%s.' {{v}};; esac); printf '[%s]' \"$y\"", v -> "[" + v + ".]");
        templates.put("{{#on}}printf '[%s]' {{v}}{{/on}}{{^on}}touch " + "MARKER{{/on}}", v -> "[" + v + "]");
        templates.put("{{^off}}\nprintf '[%s]' {{v}}\n{{/off}}\n", v -> "[" + v + "]");
        templates.put("cat <<'EOF'\nno $(value) here\nEOF\nprintf '[%s]' {{v}}", v -> "no $(value) here\n[" + v + "]");
        templates.put("cat <<EOF\n$(printf %s ok) `echo ok`\nEOF\nprintf '[%s]' {{v}}", v -> "ok ok\n[" + v + "]");
        templates.put("printf '[%s]' {{v}} # a comment {{! and a Mustache one }}", v -> "[" + v + "]");
        templates.put("printf '[%s]' {{v}}{{v}}", v -> "[" + v + v + "]");
        templates.put("if [ -n {{v}} ] || true; then printf '[%s]' {{v}}; fi", v -> "[" + v + "]");
        templates.put("f() { printf '[%s]' \"$1\"; }; f {{v}}", v -> "[" + v + "]");
        templates.put("printf '[%s]' $'\\x41'{{v}}", v -> "[A" + v + "]");
        templates.put("( printf '[%s]' {{v}} )", v -> "[" + v + "]");
        templates.put("printf '[%s]' \"${HOME+set}\"{{v}}", v -> "[set" + v + "]");
        for (var t : templates.entrySet()) {
            ShellTemplate template = ShellTemplate.compile(t.getKey().replace("MARKER", marker.toString()));
            for (String v : hostile) {
                String command = template.render(n -> switch (n) {
                    case "v" -> v;
                    case "on" -> "yes";
                    case "off" -> "false";
                    default -> null;
                });
                for (String sh : shells) {
                    if (t.getKey().contains("$'") && !sh.endsWith("bash")) {
                        continue;  // $'...' is bash's (and recent dash's)
                    }
                    Ran r = run(sh, command);
                    String what = sh + " ran " + command;
                    assertFalse(Files.exists(marker), what + "\n" + r.out());
                    assertFalse(Files.exists(Path.of(marker + ".redirect")), what);
                    assertEquals(0, r.exit(), what + "\n" + r.out());
                    assertEquals(t.getValue().apply(v), printed(r.out()), what);
                }
            }
        }
    }

    @Test
    void randomCommandsThatAreAcceptedNeverRunAValue() throws Exception {
        // commands made at random from pieces of shell syntax (fixed seed): each one obplay accepts is run with
        // hostile values, its sections rendered and not, by every shell here; none may run a value
        String[] pieces = {"echo ", " ", "\"", "'", "$(", ")", "`", "#", "\n", "<<EOF\n", "EOF\n", "\\", "$", "{", "}", ";",
                "{{v}}", "{{v}}", "{{v}}", "{{{r}}}", "{{#on}}", "{{/on}}", "{{^on}}", "{{/on}}", "case x in x) ", ";; esac ",
                "${x:-", "$((1+", "))", "<<'Q'\n", "Q\n", "$'", "|", "&&", "(", "x", "=", "<", ">", "\t", "$[", "]",
                "<<-EOF\n", "\tEOF\n", "$\"", "\\\n"};
        java.util.Random random = new java.util.Random(20261203);
        List<String> values = List.of(hostile.get(0), hostile.get(2), hostile.get(3), hostile.get(5));
        int accepted = 0;
        for (int i = 0; i < 4000 && accepted < 25; i++) {
            StringBuilder t = new StringBuilder();
            for (int k = 1 + random.nextInt(14); k > 0; k--) {
                t.append(pieces[random.nextInt(pieces.length)]);
            }
            ShellTemplate template;
            try {
                template = ShellTemplate.compile(t.toString());
            } catch (ShellTemplate.TemplateException e) {
                continue;
            }
            if (!t.toString().contains("{{v}}")) {
                continue;
            }
            accepted++;
            for (String on : List.of("yes", "off")) {
                for (String v : values) {
                    String command = template.render(n -> n.equals("on") ? on : n.equals("r") ? "safe" : v);
                    for (String sh : shells) {
                        Process p = new ProcessBuilder(sh, "-c", "(\n" + command + "\n)\n").directory(dir.toFile())
                                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                        p.getOutputStream().close();
                        if (!p.waitFor(10, TimeUnit.SECONDS)) {
                            p.destroyForcibly().waitFor();
                        }
                        assertFalse(Files.exists(marker), sh + " ran a value of\n" + t + "\nas\n" + command);
                    }
                }
            }
        }
        assertTrue(accepted >= 10, "enough random commands were accepted to mean something: " + accepted);
    }

    @Test
    void aValueInsideTheUsersQuotesIsRefusedWhereItWouldRun() throws Exception {
        // what obplay used to render (the value quoted for an unquoted context) runs the value's $(...) there
        String value = "hi $(touch " + marker + ")";
        for (String template : List.of("echo \"msg: {{msg}}\"", "echo 'msg: {{msg}}'")) {
            String naive = template.replace("{{msg}}", ShellQuote.quote(value));
            run(shells.get(0), naive);
            assertTrue(Files.exists(marker), "the naive rendering of " + template + " runs the value: " + naive);
            Files.delete(marker);
            ShellTemplate.TemplateException e = refused(template);
            assertEquals(template.indexOf("{{"), e.offset());
        }
        assertTrue(refused("echo \"msg: {{msg}}\"").getMessage().startsWith("{{msg}} stands inside a double-quoted string"));
        assertTrue(refused("echo 'msg: {{msg}}'").getMessage().startsWith("{{msg}} stands inside a single-quoted string"));
    }

    @Test
    void everyContextAValueCannotStandInIsRefusedAtItsTag() {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("echo \"a {{v}}\"", "inside a double-quoted string");
        cases.put("echo 'a {{v}}'", "inside a single-quoted string");
        cases.put("echo \"$(echo \"{{v}}\")\"", "inside a double-quoted string");
        cases.put("echo `echo {{v}}`", "inside backquotes");
        cases.put("echo \"`echo {{v}}`\"", "inside backquotes");
        cases.put("echo x # {{v}}", "in a shell comment");
        cases.put("# {{v}}\necho x", "in a shell comment");
        cases.put("cat <<EOF\n{{v}}\nEOF", "in a here-document");
        cases.put("cat <<'EOF'\n{{v}}\nEOF", "in a here-document");
        cases.put("cat <<-EOF\n\t{{v}}\n\tEOF", "in a here-document");
        cases.put("cat <<EOF <<B\nx\nEOF\n{{v}}\nB", "in a here-document");
        cases.put("cat <<EOF\na\\\nEOF\n{{v}}\nEOF", "in a here-document");  // a\<newline>EOF is one line: aEOF
        cases.put("cat <<{{v}}\nx\n", "a here-document's delimiter");
        cases.put("cat << {{v}}\nx\n", "a here-document's delimiter");
        cases.put("echo ${x:-{{v}}}", "inside ${...}");
        cases.put("echo \"${x:-{{v}}}\"", "inside ${...}");
        cases.put("echo $(( {{v}} + 1 ))", "inside shell arithmetic");
        cases.put("echo $[ {{v}} ]", "inside shell arithmetic");
        cases.put("echo ${{v}}", "follows a '$'");
        cases.put("echo \"${{v}}\"", "follows a '$'");
        cases.put("echo \\{{v}}", "follows a backslash");
        cases.put("echo $'{{v}}'", "inside $'...'");
        cases.put("echo $'a\\'b {{v}}'", "inside $'...'");  // bash: $'a\'b ...' is still open there
        cases.put("echo $'a\\'b' {{v}}", "inside a single-quoted string");  // dash (before 0.5.12): 'a\' then b, then '
        cases.put("echo \"${u:-'}\" ' {{v}}'", "inside a single-quoted string");  // dash reads ' in "${...}" as a character
        cases.put("echo $'a\\'b' c' {{v}}", "inside a single-quoted string");  // bash: a'b, then ' c' ... opens a quote
        cases.put("echo {{#on}}\"{{/on}} {{v}}", "inside a double-quoted string");  // when on renders, v is quoted
        cases.put("echo {{^on}}'{{/on}} {{v}}'", "inside a single-quoted string");  // when on does not
        cases.put("echo {{#on}}a{{/on}}# {{v}}", "in a shell comment");  // when on does not render, # starts a comment
        for (var c : cases.entrySet()) {
            ShellTemplate.TemplateException e = refused(c.getKey());
            assertTrue(e.getMessage().startsWith("{{v}} ") && e.getMessage().contains(c.getValue()), c.getKey() + ": " + e.getMessage());
            assertEquals(c.getKey().lastIndexOf("{{v}}"), e.offset(), c.getKey());
        }
        // raw values: refused where no value may stand (whatever it is), and after a '$' or a backslash
        for (String t : List.of("cat <<EOF\n{{{v}}}\nEOF", "echo ${x:-{{{v}}}}", "echo $(({{&v}}))", "echo ${{{v}}}", "echo \\{{{v}}}")) {
            ShellTemplate.TemplateException e = refused(t);
            assertTrue(e.getMessage().startsWith("{{"), e.getMessage());
        }
    }

    @Test
    void commandsThatLeaveSomethingOpenAreRefused() {
        assertEquals("this single quote is never closed: the command ends inside it, and so would the lines obplay puts after"
                + " it; expected a closing '", refused("echo 'a").getMessage());
        assertEquals(5, refused("echo 'a").offset());
        assertTrue(refused("echo \"a").getMessage().startsWith("this double quote is never closed"));
        assertTrue(refused("echo $(ls").getMessage().startsWith("this '$(' is never closed"));
        assertTrue(refused("echo ${x").getMessage().startsWith("this '${' is never closed"));
        assertTrue(refused("echo `ls").getMessage().startsWith("this backquote is never closed"));
        assertTrue(refused("(echo").getMessage().startsWith("this '(' is never closed"));
        assertTrue(refused("echo a )").getMessage().startsWith("this ')' closes nothing"));
        assertEquals(7, refused("echo a )").offset());
        assertTrue(refused("cat <<EOF\nno end").getMessage().startsWith("this here-document never ends: no line of the command is 'EOF'"));
        assertTrue(refused("cat <<EOF").getMessage().startsWith("this here-document has no body"));
        assertTrue(refused("cat <<").getMessage().startsWith("this '<<' has no delimiter word"));
        assertTrue(refused("echo a \\").getMessage().startsWith("the command ends with a backslash"));
        assertTrue(refused("cat <<EOF\n$(echo\nEOF\n)\nEOF").getMessage().contains("shells disagree on where such a document ends"));
        // what is closed is accepted: a comment at the end (obplay's line break ends it), case patterns, <<<
        for (String ok : List.of("echo a # ends here", "case $x in a) echo a;; (b) echo b;; esac", "x=$(case a in a) echo;; esac)",
                "cat <<<{{v}}", "cat <<-EOF\n\tx\n\tEOF\necho {{v}}", "echo \"$(echo \")\")\" {{v}}", "echo $# {{v}}",
                "echo a#b {{v}}", "echo \\# {{v}}", "echo $((1 + (2 * 3))) {{v}}", "echo \"${x:-\"a b\"}\" {{v}}",
                "echo ${x:-'}'} {{v}}", "echo \"{{{v}}}\" '{{{v}}}' `echo {{{v}}}`")) {
            ShellTemplate.compile(ok);
        }
    }

    @Test
    void sectionsAndInvertedSections() {
        Map<String, String> v = new HashMap<>(Map.of("on", "yes", "off", "false", "empty", "", "no", "No", "x", "a b"));
        assertEquals("A", render("{{#on}}A{{/on}}{{^on}}B{{/on}}", v));
        assertEquals("B", render("{{#off}}A{{/off}}{{^off}}B{{/off}}", v));
        assertEquals("B", render("{{#empty}}A{{/empty}}{{^empty}}B{{/empty}}", v));
        assertEquals("B", render("{{#no}}A{{/no}}{{^no}}B{{/no}}", v));
        // a section does not change what names mean: x is x inside it
        assertEquals("echo 'a b'", render("{{#on}}echo {{x}}{{/on}}", v));
        assertEquals("in", render("{{#on}}{{#x}}in{{/x}}{{/on}}", v));
        // standalone lines go with their line break, as in Mustache
        assertEquals("rm -f x\necho done\n", render("{{^off}}\nrm -f x\n{{/off}}\n  {{! note }}  \necho done\n", v));
        assertEquals("a\n", render("a\n{{#off}}\nb\n{{/off}}", v));
        assertEquals("end", render("  {{#off}}\nz\n  {{/off}}  \nend", v));  // Mustache.java keeps the first "  "
        assertEquals("echo  x", render("echo {{#off}}a{{/off}} x", v));
        assertTrue(refused("{{#on}}a").getMessage().startsWith("{{#on}} is never closed; expected {{/on}}"));
        assertTrue(refused("a{{/on}}").getMessage().startsWith("{{/on}} closes no section"));
        assertTrue(refused("{{#a}}{{#b}}{{/a}}{{/b}}").getMessage().startsWith("{{/a}} closes {{#b}}; expected {{/b}} first"));
    }

    @Test
    void mustacheFeaturesWithoutMeaningHereAreRefused() throws Exception {
        Files.writeString(dir.resolve("secret.txt"), "a local secret");
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("cat {{> secret.txt}}", "is a Mustache partial, which would read a local file");
        cases.put("cat {{>pom.xml}}", "is a Mustache partial");
        cases.put("{{=<% %>=}}echo <%x%>", "changes Mustache's delimiters");
        cases.put("echo a {{= | | =}} |x|", "changes Mustache's delimiters");
        cases.put("{{<parent}}{{/parent}}", "is Mustache template inheritance");
        cases.put("{{$block}}x{{/block}}", "is Mustache template inheritance");
        cases.put("{{%IMPLICIT-ITERATOR}}", "is a Mustache pragma");
        cases.put("{{#on}}{{.}}{{/on}}", "(the current item) has no meaning here");
        cases.put("echo {{?x}}", "is not a tag obplay reads");
        cases.put("echo {{a b}}", "is not a tag obplay reads");
        cases.put("echo {{ }}", "is not a tag obplay reads");
        cases.put("echo {{x", "opens a tag that is never closed");
        cases.put("echo {{{x}}", "opens a tag that is never closed");
        cases.put("awk '{{print}}'", "stands inside a single-quoted string");  // every {{ is a tag: here a value
        for (var c : cases.entrySet()) {
            ShellTemplate.TemplateException e = refused(c.getKey());
            assertTrue(e.getMessage().contains(c.getValue()), c.getKey() + ": " + e.getMessage());
            assertEquals(c.getKey().indexOf(c.getKey().contains("{{.}}") ? "{{." : "{{"), e.offset(), c.getKey());
        }
        // {{{x}}}, {{&x}} and {{ x }} are the plain forms
        Map<String, String> v = Map.of("x", "a-b", "ssh.user", "admin");
        assertEquals("echo a-b a-b 'a-b' 'admin'", render("echo {{{x}}} {{& x }} {{ x }} {{ssh.user}}", v));
        assertEquals(List.of("x", "ssh.user"), List.copyOf(ShellTemplate.compile("echo {{{x}}} {{& x }} {{#x}}{{/x}} {{ssh.user}}").names()));
        assertEquals(List.of(new ShellTemplate.Ref("x", 5, "{{{x}}}"), new ShellTemplate.Ref("x", 15, "{{&x}}"),
                new ShellTemplate.Ref("x", 22, "{{^x}}")), ShellTemplate.compile("echo {{{x}}} a {{&x}} {{^x}}{{/x}}").references());
    }

    @Test
    void rawValuesOnlyWhenTheyHoldNoShellSyntax() {
        ShellTemplate t = ShellTemplate.compile("echo \"port={{{port}}}\" {{&dir}}");
        assertEquals("echo \"port=2881\" /data/1/ob-x_y.z:@,+", t.render(n -> n.equals("port") ? "2881" : "/data/1/ob-x_y.z:@,+"));
        for (String bad : List.of("a b", "$(id)", "`id`", "a;b", "a'b", "a\"b", "a\nb", "a\\b", "*", "~root", "a=b", "#x", "a|b")) {
            ShellTemplate.TemplateException e = assertThrows(ShellTemplate.TemplateException.class,
                    () -> t.render(n -> n.equals("port") ? bad : "x"), bad);
            assertTrue(e.getMessage().startsWith("{{{port}}} inserts 'port' unquoted, and its value"), e.getMessage());
            assertEquals(11, e.offset());
        }
        ShellTemplate.TemplateException e = assertThrows(ShellTemplate.TemplateException.class,
                () -> ShellTemplate.compile("{{{w}}} -n x").render(n -> "case"));
        assertTrue(e.getMessage().endsWith("is a shell reserved word; use {{w}}, which quotes it (outside quotes)"), e.getMessage());
    }

    @Test
    void unknownNamesAreNamedByRender() {
        ShellTemplate.TemplateException e = assertThrows(ShellTemplate.TemplateException.class,
                () -> ShellTemplate.compile("echo {{a}} {{^dry_rnu}}x{{/dry_rnu}}").render(n -> n.equals("a") ? "1" : null));
        assertEquals("{{^dry_rnu}} names no value", e.getMessage());
        assertEquals(11, e.offset());
    }

    @Test
    void rendersAsMustacheDoesForWhatItAccepts() {
        // Mustache.java with the shell's quoting as its escape, on templates obplay accepts and values whose truth
        // both read alike (not empty / empty). (Mustache.java keeps the blanks and line break of a line holding only
        // a comment tag, which the Mustache spec removes, as obplay does: see sectionsAndInvertedSections.)
        DefaultMustacheFactory mf = new DefaultMustacheFactory() {
            @Override
            public void encode(String value, Writer writer) {
                try {
                    writer.write(ShellQuote.quote(value));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
        Map<String, String> v = Map.of("x", "it's $(x)", "on", "yes", "off", "", "p", "2881", "home_path", "/h o/me");
        for (String t : List.of("echo {{x}} {{{p}}} {{&p}}",
                "{{#on}}\n  echo {{x}}\n{{/on}}\n{{^on}}\n  never\n{{/on}}\n",
                "a {{! inline }} b\n",
                "{{#on}}{{#off}}no{{/off}}{{^off}}yes {{home_path}}{{/off}}{{/on}}",
                "x\n{{#on}}\ny\n{{/on}}",
                "cd {{home_path}}/run && ls -l {{ home_path }}")) {
            StringWriter w = new StringWriter();
            mf.compile(new StringReader(t), "t").execute(w, new HashMap<>(v));
            assertEquals(w.toString(), render(t, v), t);
        }
    }
}
