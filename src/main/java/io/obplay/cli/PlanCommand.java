package io.obplay.cli;

import io.obplay.plan.Dag;
import io.obplay.plan.DotRenderer;
import io.obplay.plan.HtmlRenderer;
import io.obplay.plan.LazyPlan;
import io.obplay.plan.Node;
import io.obplay.plan.ObshellJson;
import io.obplay.plan.OcpJson;
import io.obplay.plan.Plan;
import io.obplay.plan.Printable;
import io.obplay.plan.SubTask;
import io.obplay.plan.TaskData;
import io.obplay.plan.TextRenderer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code obplay plan}: compiles a playbook into the exact DAG a run would execute, and shows it. Touches no host. */
@Command(name = "plan", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Compile inventory + playbook into a DAG in obshell's format and show it: every stage, host, signal and path. Touches no host.")
public final class PlanCommand implements Callable<Integer> {
    @Mixin
    Inputs inputs;

    @Parameters(paramLabel = "PLAYBOOK", description = "The playbook (YAML).")
    Path playbook;

    @Option(names = {"-f", "--format"}, defaultValue = "text", paramLabel = "FORMAT",
            description = "text (default, for people), obshell (DagDetailDTO JSON), ocp (OCP task JSON), dot (Graphviz),"
                    + " html (the plan as a self-contained page: stages left to right, servers top to bottom).")
    String format;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", description = "Also write the plan (obshell JSON) to FILE, for 'obplay run --plan FILE';"
            + " with --format html, write the HTML page to FILE instead.")
    Path out;

    @Option(names = "--show-scripts", description = "With --format text: print every sub-task's full script.")
    boolean showScripts;

    @Option(names = "--list-hosts", description = "Print only the servers the plan acts on, one per line.")
    boolean listHosts;

    @Option(names = "--list-steps", description = "Print only the stages, one per line.")
    boolean listSteps;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        return run(spec.commandLine().getOut(), spec.commandLine().getErr());
    }

    /** The command, its output to {@code stdout} and its messages to {@code err}; returns the exit code. */
    int run(PrintWriter stdout, PrintWriter err) throws IOException {
        Plan plan;
        if ("obshell".equals(format) && out == null && !listHosts && !listSteps) {
            // The machine-readable plan of a large fleet: each sub-task is written as it is made, straight to
            // stdout (as UTF-8 bytes when stdout is the process's and UTF-8 is the default charset).
            LazyPlan lazy = inputs.compile(playbook, err);
            if (lazy.streamable()) {
                stdout.flush();
                if (stdout instanceof Main.Stdout s && StandardCharsets.UTF_8.equals(Charset.defaultCharset())) {
                    try (WriteBehind behind = new WriteBehind(s.stream())) {  // written while the next is made
                        lazy.writeObshell(behind);
                    }
                } else {
                    lazy.writeObshell(stdout);
                }
                stdout.flush();
                return ExitCodes.OK;
            }
            plan = Inputs.plan(lazy);  // fails as planning would
        } else {
            plan = inputs.plan(playbook, err);
        }
        Dag dag = plan.dag();
        if ("html".equals(format) && !listHosts && !listSteps) {
            String html = HtmlRenderer.plan(dag);
            if (out != null) {
                writeAtomically(out, html);
                err.println("plan written to " + out + " as HTML (open it in a browser; nothing was run)");
            } else {
                stdout.print(html);
            }
            stdout.flush();
            return ExitCodes.OK;
        }
        if (out != null) {
            writeAtomically(out, w -> ObshellJson.write(dag, w));
            err.println("plan written to " + out + " (run it with: obplay run --plan " + out + ")");
        }
        if (listHosts) {
            Map<String, String> servers = new LinkedHashMap<>();
            for (Node n : dag.nodes()) {
                for (SubTask t : n.subTasks()) {
                    TaskData d = t.data();
                    servers.putIfAbsent(d.server(), d.host());
                }
            }
            servers.forEach((name, host) -> stdout.println(Printable.terminal().line(name)));
            stdout.flush();
            return ExitCodes.OK;
        }
        if (listSteps) {
            for (int i = 0; i < dag.nodes().size(); i++) {
                Node n = dag.nodes().get(i);
                stdout.println((i + 1) + "\t" + Printable.terminal().line(n.name()) + "\t" + n.subTasks().size() + " servers\t"
                        + Printable.terminal().line(io.obplay.plan.NodeData.of(n.additionalData()).tags()));
            }
            stdout.flush();
            return ExitCodes.OK;
        }
        switch (format) {
            case "text" -> {
                stdout.print(TextRenderer.render(dag, showScripts, false));
                stdout.println("Nothing was run. Full scripts: --show-scripts; machine-readable: --format obshell.");
            }
            case "obshell" -> ObshellJson.write(dag, stdout);
            case "ocp" -> stdout.print(OcpJson.write(dag, System.getProperty("user.name", "obplay"), inputs.agent));
            case "dot" -> stdout.print(DotRenderer.render(dag));
            default -> throw new CliException(ExitCodes.INVALID, "--format must be text, obshell, ocp, dot or html, not '" + format + "'");
        }
        stdout.flush();
        return ExitCodes.OK;
    }

    /** Writes a file whole or not at all: a temporary file in the same directory, then an atomic rename. */
    static void writeAtomically(Path file, String content) throws IOException {
        writeAtomically(file, w -> w.write(content));
    }

    /** Something that writes a file's content. */
    interface Content {
        void writeTo(java.io.Writer w) throws IOException;
    }

    static void writeAtomically(Path file, Content content) throws IOException {
        Path abs = file.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName(), ".tmp");
        try {
            try (java.io.Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                content.writeTo(w);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
