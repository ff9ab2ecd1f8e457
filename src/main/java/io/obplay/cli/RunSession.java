package io.obplay.cli;

import io.obplay.inventory.Inventory;
import io.obplay.inventory.Server;
import io.obplay.plan.Dag;
import io.obplay.plan.Node;
import io.obplay.plan.Operator;
import io.obplay.plan.SubTask;
import io.obplay.run.Executor;
import io.obplay.run.Outcome;
import io.obplay.run.RunListener;
import io.obplay.run.RunOptions;
import io.obplay.run.Transport;
import io.obplay.run.transport.Transports;
import io.obplay.store.Store;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a stored DAG from the command line: live progress on stderr, JSON lines on stdout, a recap, a JUnit
 * report, Ctrl-C as a clean cancel, and the exit code. Used by {@code run} and {@code dag retry}.
 */
final class RunSession {
    private RunSession() {
    }

    static int run(Store store, Inventory inv, long dagId, RunOptions options, PrintWriter out, PrintWriter err,
                   boolean json, Path junit) {
        Map<String, Server> servers = new LinkedHashMap<>();
        inv.servers().forEach(s -> servers.put(s.name(), s));
        JsonEvents events = json ? new JsonEvents(out) : null;
        List<RunListener> listeners = new ArrayList<>();
        listeners.add(new ProgressPrinter(err, System.console() != null && System.getenv("TERM") != null && !"dumb".equals(System.getenv("TERM"))));
        if (events != null) {
            listeners.add(events);
        }
        listeners.add(new RunListener() { // on a shared store: another instance took the DAG over
            @Override
            public void writeRefused(Dag dag, SubTask task, String why) {
                synchronized (err) {
                    err.println("obplay: the store refused this process's write" + (task == null ? "" : " of sub-task " + task.id()
                            + " (" + task.state() + ")") + ": " + why);
                    err.flush();
                }
            }
        });
        try (Transport transport = Transports.forKind(inv.transport())) {
            Executor executor = new Executor(store, transport, servers, fanOut(listeners));
            Thread hook = new Thread(() -> {
                executor.cancel();
                try {
                    if (!executor.awaitDone(Duration.ofSeconds(30))) {
                        System.err.println("obplay: the run did not record its end within 30s of the interrupt");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "obplay-interrupt");
            Runtime.getRuntime().addShutdownHook(hook);
            Thread watcher = cancelWatcher(store, dagId, executor);
            Dag dag;
            try {
                dag = executor.run(dagId, options);
            } finally {
                watcher.interrupt();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the JVM is exiting because of the interrupt; the hook waits for us
                }
            }
            int code = Recap.exitCode(dag, executor.wasCancelled());
            err.print(Recap.render(dag));
            err.println("DAG " + dag.id() + " " + dag.state() + (code == 0 ? "" : " (exit " + code + ")")
                    + (dag.state() == io.obplay.plan.State.FAILED ? "; re-run what did not succeed: obplay dag retry " + dag.id()
                    + " (or accept it: obplay dag pass " + dag.id() + ")" : ""));
            err.flush();
            if (junit != null) {
                try {
                    PlanCommand.writeAtomically(junit, JUnitReport.render(dag));
                    err.println("JUnit report written to " + junit);
                } catch (IOException e) {
                    err.println("obplay: cannot write the JUnit report " + junit + ": " + e.getMessage());
                }
            }
            if (events != null) {
                events.dagFinished(dag, code);
            }
            err.flush();
            return code;
        }
    }

    /** Watches the store for a CANCEL asked by another process ({@code obplay dag cancel}, the shim). */
    private static Thread cancelWatcher(Store store, long dagId, Executor executor) {
        Thread t = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(500);
                    store.unfinished().stream().filter(d -> d.dagId() == dagId).findFirst().ifPresent(d -> {
                        if (d.operator() == Operator.CANCEL && !executor.wasCancelled()) {
                            executor.cancel();
                        }
                    });
                }
            } catch (InterruptedException e) {
                // run over
            } catch (RuntimeException e) {
                // the store is closing
            }
        }, "obplay-cancel-watcher");
        t.setDaemon(true);
        t.start();
        return t;
    }

    static RunListener fanOut(List<RunListener> ls) {
        return new RunListener() {
            @Override
            public void dagStarted(Dag dag) {
                ls.forEach(l -> l.dagStarted(dag));
            }

            @Override
            public void stageStarted(Dag dag, int stage, Node node) {
                ls.forEach(l -> l.stageStarted(dag, stage, node));
            }

            @Override
            public void subTaskStarted(Node node, SubTask task) {
                ls.forEach(l -> l.subTaskStarted(node, task));
            }

            @Override
            public void subTaskTimed(Node node, SubTask task, io.obplay.run.Timings times) {
                ls.forEach(l -> l.subTaskTimed(node, task, times));
            }

            @Override
            public void subTaskFinished(Node node, SubTask task, Outcome outcome) {
                ls.forEach(l -> l.subTaskFinished(node, task, outcome));
            }

            @Override
            public void stageFinished(Dag dag, int stage, Node node) {
                ls.forEach(l -> l.stageFinished(dag, stage, node));
            }

            @Override
            public void dagFinished(Dag dag) {
                ls.forEach(l -> l.dagFinished(dag));
            }

            @Override
            public void writeRefused(Dag dag, SubTask task, String why) {
                ls.forEach(l -> l.writeRefused(dag, task, why));
            }
        };
    }
}
