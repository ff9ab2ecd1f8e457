package io.obplay.cli;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.InventoryLoader;
import io.obplay.inventory.YamlSource;
import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.Planner;
import io.obplay.plan.PlanOptions;
import io.obplay.plan.Printable;
import io.obplay.plan.State;
import io.obplay.plan.SubTask;
import io.obplay.plan.Times;
import io.obplay.playbook.PlaybookLoader;
import io.obplay.run.Outcome;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The recap and the progress lines show values escaped: log lines from hosts are not the terminal's to obey. */
class RecapTest {
    static final String HIDDEN = "\u001b\r\u0008\u0007\u009b\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200f";

    static void assertNothingHidden(String shown) {
        for (int i = 0; i < HIDDEN.length(); i++) {
            assertTrue(shown.indexOf(HIDDEN.charAt(i)) < 0, String.format("U+%04X reached the text: %s", (int) HIDDEN.charAt(i), shown));
        }
    }

    /** A run's DAG: the first sub-task failed with a log line a hostile host wrote, the others succeeded. */
    static Dag ranDag() throws Exception {
        Inventory inv = InventoryLoader.load(YamlSource.of("inv.yaml", """
                cluster: c
                transport: local
                zones:
                  z1:
                    servers:
                      - { host: 10.0.0.1, home_path: "/data/ob" }
                      - { host: 10.0.0.2, home_path: "/data/é" }
                """));
        Dag d = Planner.plan(inv, PlaybookLoader.load(YamlSource.of("pb.yaml",
                "name: Run\ntargets: { all: true }\nsteps:\n  - shell: \"ls {{home_path}}\"\n"), inv), PlanOptions.defaults()).dag();
        List<Node> nodes = new ArrayList<>();
        for (Node n : d.nodes()) {
            List<SubTask> tasks = new ArrayList<>();
            for (SubTask t : n.subTasks()) {
                tasks.add(t.taskId() == 1
                        ? t.withState(State.FAILED, Operator.RUN, Times.UNSET, Times.UNSET, 1,
                                List.of("obplay: $ ls", "FAILED: \u001b[2J\u001b[1;1Hall good\r\u202eko\u202c \u0007done"))
                        : t.withState(State.SUCCEED, Operator.RUN, Times.UNSET, Times.UNSET, 1, List.of("ok")));
            }
            nodes.add(n.withSubTasks(tasks).withState(State.FAILED, Operator.RUN, Times.UNSET, Times.UNSET));
        }
        // a name with bidi controls is refused at load; one can still come from a stored DAG
        Dag ran = d.withNodes(nodes).withState(1, State.FAILED, Operator.RUN, Times.UNSET, Times.UNSET);
        return new Dag(ran.id(), ran.dagId(), "Run \u2067x\u2069", ran.stage(), ran.maxStage(), ran.maintenanceType(),
                ran.maintenanceKey(), ran.state(), ran.operator(), ran.startTime(), ran.endTime(), ran.additionalData(), ran.nodes());
    }

    @Test
    void theRecapEscapesNamesAndLogLines() throws Exception {
        Dag d = ranDag();
        String recap = Recap.render(d, Printable.UNICODE);
        assertNothingHidden(recap);
        assertTrue(recap.contains("Recap of DAG " + d.id() + " \"Run \\u{2067}x\\u{2069}\": FAILED\n"), recap);
        assertTrue(recap.contains("  FAILED 10.0.0.1:2886 in \"Run command on observer\": FAILED: \\u{1B}[2J\\u{1B}[1;1Hall good\\u{D}"
                + "\\u{202E}ko\\u{202C} \\u{7}done\n"), recap);
        String text = io.obplay.plan.TextRenderer.render(d, false, true, Printable.ASCII);
        assertNothingHidden(text);
        assertTrue(text.contains("      log      FAILED: \\u{1B}[2J"), text);
        assertTrue(text.chars().allMatch(c -> c < 0x80), text);
        assertTrue(Recap.render(d, Printable.ASCII).chars().allMatch(c -> c < 0x80));
    }

    @Test
    void progressLinesEscapeNamesAndLogLines() throws Exception {
        Dag d = ranDag();
        StringWriter w = new StringWriter();
        ProgressPrinter pp = new ProgressPrinter(new PrintWriter(w), false, Printable.UNICODE);
        pp.dagStarted(d);
        Node n = d.nodes().get(0);
        pp.stageStarted(d, 1, n);
        pp.subTaskFinished(n, n.subTasks().get(0), Outcome.FAILED);
        pp.subTaskFinished(n, n.subTasks().get(1), Outcome.OK);
        pp.stageFinished(d, 1, n);
        String out = w.toString();
        assertNothingHidden(out);
        assertEquals("Running DAG " + d.id() + " \"Run \\u{2067}x\\u{2069}\": 1 stages\n"
                + "Stage 1/1  Run command on observer  (2 servers)\n"
                + "  FAILED 10.0.0.1:2886: FAILED: \\u{1B}[2J\\u{1B}[1;1Hall good\\u{D}\\u{202E}ko\\u{202C} \\u{7}done\n"
                + "  ok 10.0.0.2:2886\n"
                + "  stage 1 FAILED: 1 ok or skipped, 1 failed\n", out);
    }
}
