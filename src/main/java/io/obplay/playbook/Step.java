package io.obplay.playbook;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One step of a playbook: one record per kind, each with only its own options. Code that acts per kind goes
 * through {@link #accept} with a {@link Visitor}, so that a new kind does not compile until every such place handles
 * it (Java 17 has no pattern switch outside preview).
 */
public sealed interface Step permits Step.Stop, Step.Kill, Step.Cleanup, Step.Shell, Step.Start, Step.Restart, Step.Gate {

    /** The settle period of stop and kill steps that do not set one. */
    Duration DEFAULT_SETTLE = Duration.ofSeconds(3);

    /**
     * What every step has.
     *
     * @param index 1-based position in the playbook
     * @param on    the step's own targets, or null for the playbook's
     * @param where file:line:column of the step
     */
    record Head(int index, String name, Set<String> tags, Duration timeout, Targets on, String where) {
        public Head {
            tags = Set.copyOf(tags);
        }
    }

    Head head();

    StepKind kind();

    <R> R accept(Visitor<R> v);

    /** One method per kind. */
    interface Visitor<R> {
        R stop(Stop s);

        R kill(Kill k);

        R cleanup(Cleanup c);

        R shell(Shell s);

        R start(Start s);

        R restart(Restart r);

        R gate(Gate g);
    }

    default int index() {
        return head().index();
    }

    default String name() {
        return head().name();
    }

    default Set<String> tags() {
        return head().tags();
    }

    default Duration timeout() {
        return head().timeout();
    }

    default Targets on() {
        return head().on();
    }

    default String where() {
        return head().where();
    }

    /** The command a shell step runs on a server (rendered), else null. */
    default String commandOn(String server) {
        return null;
    }

    /**
     * TERM, wait for exit and released ports, KILL after the grace.
     *
     * @param grace    time between TERM and KILL
     * @param killWait how long to wait for the process to exit after KILL
     * @param settle   how long, once the server is gone, nothing of it may run or listen again
     */
    record Stop(Head head, Duration grace, Duration killWait, Duration settle) implements Step {
        public Stop {
            settle = settle == null ? DEFAULT_SETTLE : settle;
        }

        @Override
        public StepKind kind() {
            return StepKind.STOP;
        }

        @Override
        public <R> R accept(Visitor<R> v) {
            return v.stop(this);
        }
    }

    /** KILL at once, then wait for exit and settle as a stop does. */
    record Kill(Head head, Duration killWait, Duration settle) implements Step {
        public Kill {
            settle = settle == null ? DEFAULT_SETTLE : settle;
        }

        @Override
        public StepKind kind() {
            return StepKind.KILL;
        }

        @Override
        public <R> R accept(Visitor<R> v) {
            return v.kill(this);
        }
    }

    /** Remove declared directories or absolute paths inside them: {@code paths} per server name (checked at load). */
    record Cleanup(Head head, Map<String, List<String>> paths) implements Step {
        public Cleanup {
            paths = paths == null ? Map.of() : Map.copyOf(paths);
        }

        @Override
        public StepKind kind() {
            return StepKind.CLEANUP;
        }

        @Override
        public <R> R accept(Visitor<R> v) {
            return v.cleanup(this);
        }
    }

    /**
     * Start the server from its home as obshell does, and wait until it is ready (a live process of it named by a pid
     * file, every port LISTENing) and stays so for {@code settle}.
     *
     * @param readyWait how long to wait for the server to be ready (the playbook's {@code wait})
     * @param command per server name: the inventory's {@code start_command}, rendered (values shell-quoted), for the
     *                servers that set one; the others start as obshell starts them
     */
    record Start(Head head, Duration readyWait, Duration settle, Map<String, String> command) implements Step {
        /** How long a start waits for its server to be ready, when the step does not say. */
        public static final Duration DEFAULT_WAIT = Duration.ofMinutes(5);

        public Start {
            readyWait = readyWait == null ? DEFAULT_WAIT : readyWait;
            settle = settle == null ? DEFAULT_SETTLE : settle;
            command = command == null ? Map.of() : Map.copyOf(command);
        }

        @Override
        public StepKind kind() {
            return StepKind.START;
        }

        @Override
        public <R> R accept(Visitor<R> v) {
            return v.start(this);
        }
    }

    /** A templated command: {@code command} rendered per server name (values shell-quoted). */
    record Shell(Head head, Map<String, String> command) implements Step {
        public Shell {
            command = command == null ? Map.of() : Map.copyOf(command);
        }

        @Override
        public String commandOn(String server) {
            return command.get(server);
        }

        @Override
        public StepKind kind() {
            return StepKind.SHELL;
        }

        @Override
        public <R> R accept(Visitor<R> v) {
            return v.shell(this);
        }
    }

    /**
     * Stop then start each server, in one script (obshell has no restart either: it is a stop and a start). The
     * start's refusals that do not depend on the server running (a missing directory, no
     * {@code etc/observer.config.bin}) are checked before anything is signalled.
     *
     * @param settle  the stop's quiet period and the start's ready period
     * @param command per server name: the inventory's {@code start_command}, rendered, as {@link Start#command}
     */
    record Restart(Head head, Duration grace, Duration killWait, Duration settle, Duration readyWait,
                   Map<String, String> command) implements Step {
        public Restart {
            settle = settle == null ? DEFAULT_SETTLE : settle;
            readyWait = readyWait == null ? Start.DEFAULT_WAIT : readyWait;
            command = command == null ? Map.of() : Map.copyOf(command);
        }

        /** The stop half, with this step's head. */
        public Stop stopHalf() {
            return new Stop(head, grace, killWait, settle);
        }

        /** The start half, with this step's head. */
        public Start startHalf() {
            return new Start(head, readyWait, settle, command);
        }

        @Override
        public StepKind kind() {
            return StepKind.RESTART;
        }

        @Override
        public <R> R accept(Visitor<R> v) {
            return v.restart(this);
        }
    }

    /**
     * The gate after one zone of a rolling play ({@link ZoneGate}): the planner makes it, after the last step of
     * the zone, when the play starts servers again; it runs once, on the controller.
     *
     * @param zone the zone (or {@code obproxy <cluster>}) it waits for
     */
    record Gate(Head head, ZoneGate gate, String zone) implements Step {
        @Override
        public StepKind kind() {
            return StepKind.GATE;
        }

        @Override
        public <R> R accept(Visitor<R> v) {
            return v.gate(this);
        }
    }
}
