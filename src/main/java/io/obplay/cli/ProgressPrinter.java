package io.obplay.cli;

import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.Printable;
import io.obplay.plan.SubTask;
import io.obplay.run.Outcome;
import io.obplay.run.RunListener;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Live progress on stderr: a progress bar per stage on a terminal (hosts done / failed / running), a line per
 * finished sub-task otherwise; every failure is printed with its last log line as it happens.
 */
final class ProgressPrinter implements RunListener {
    private final PrintWriter err;
    private final boolean terminal;
    private final Printable shown;
    private ProgressBar bar;
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();

    ProgressPrinter(PrintWriter err, boolean terminal) {
        this(err, terminal, Printable.terminal());
    }

    /** With every value (names, log lines) as {@code shown} shows it. */
    ProgressPrinter(PrintWriter err, boolean terminal, Printable shown) {
        this.err = err;
        this.terminal = terminal;
        this.shown = shown;
    }

    @Override
    public synchronized void dagStarted(Dag dag) {
        err.println("Running DAG " + shown.line(dag.id()) + " \"" + shown.line(dag.name()) + "\": " + dag.maxStage() + " stages");
        err.flush();
    }

    @Override
    public synchronized void stageStarted(Dag dag, int stage, Node node) {
        done.set(0);
        failed.set(0);
        running.set(0);
        err.println("Stage " + stage + "/" + dag.maxStage() + "  " + shown.line(node.name()) + "  (" + node.subTasks().size() + (node.subTasks().size() == 1 ? " server)" : " servers)"));
        err.flush();
        if (terminal) {
            bar = new ProgressBarBuilder().setTaskName("stage " + stage).setInitialMax(node.subTasks().size())
                    .setStyle(shown.shows("█") ? ProgressBarStyle.COLORFUL_UNICODE_BLOCK : ProgressBarStyle.ASCII).setUpdateIntervalMillis(100).continuousUpdate()
                    .setConsumer(new ConsoleProgressBarConsumer(new PrintStream(System.err, true))).build();
        }
    }

    @Override
    public void subTaskStarted(Node node, SubTask task) {
        running.incrementAndGet();
        update();
    }

    @Override
    public synchronized void subTaskFinished(Node node, SubTask task, Outcome outcome) {
        if (outcome == Outcome.OK || outcome == Outcome.FAILED || outcome == Outcome.UNREACHABLE) {
            running.decrementAndGet();
        }
        done.incrementAndGet();
        if (outcome == Outcome.FAILED || outcome == Outcome.UNREACHABLE) {
            failed.incrementAndGet();
        }
        String server = task.data() == null ? task.name() : task.data().server();
        if (outcome != Outcome.OK || !terminal) {
            String line = "  " + word(outcome) + " " + shown.line(server) + (outcome == Outcome.OK ? "" : ": " + shown.line(last(task.taskLogs())));
            if (bar != null) {
                // print above the bar
                err.print("\r\033[K");
            }
            err.println(line);
            err.flush();
        }
        update();
    }

    private synchronized void update() {
        if (bar != null) {
            bar.stepTo(done.get());
            String dot = shown.shows(" · ") ? " · " : " - ";
            bar.setExtraMessage(" done " + (done.get() - failed.get()) + dot + "failed " + failed.get() + dot + "running " + Math.max(0, running.get()));
        }
    }

    @Override
    public synchronized void stageFinished(Dag dag, int stage, Node node) {
        if (bar != null) {
            bar.stepTo(node.subTasks().size());
            bar.close();
            bar = null;
        }
        err.println("  stage " + stage + " " + node.state() + ": " + (done.get() - failed.get()) + " ok or skipped, " + failed.get() + " failed");
        err.flush();
    }

    static String word(Outcome o) {
        return switch (o) {
            case OK -> "ok";
            case FAILED -> "FAILED";
            case UNREACHABLE -> "UNREACHABLE";
            case SKIPPED -> "skipped";
            case NOT_RUN -> "not run";
            case CANCELLED -> "CANCELLED";
        };
    }

    static String last(List<String> logs) {
        return logs.isEmpty() ? "" : logs.get(logs.size() - 1);
    }
}
