package io.obplay.shim;

import io.obplay.inventory.Server;
import io.obplay.plan.StepScripts;
import io.obplay.playbook.Playbook;
import io.obplay.playbook.Step;
import io.obplay.playbook.Strategy;
import io.obplay.playbook.Targets;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The playbooks the shim makes for each request: built in code, planned by {@link io.obplay.plan.Planner} like
 * any playbook, so a DAG made through the shim shows every host, signal and path in {@code obplay dag show},
 * exactly as one made by {@code obplay run}.
 *
 * <p>The DAG and node names. obshell's names are kept wherever the node does what obshell's does; obplay has
 * no agent on the hosts, so obshell's coordination nodes (which create, check, retry, wait for and pass sub-DAGs
 * on the other agents) have no counterpart and are not imitated with empty stages:
 * <ul>
 *   <li><b>Stop OB</b> ({@code POST /api/v1/ob/stop}; obshell's {@code DAG_STOP_OB}):
 *     <ol>
 *       <li><b>Check observer status</b>: on every target host, read-only: whether the home exists, what each pid
 *           file names and whether that process runs. obshell's first node ("Inform all agents to prepare to stop
 *           observer") makes every agent take part before any observer is signalled; this stage does the same
 *           for hosts: one that cannot be reached fails the DAG here, before anything was killed.</li>
 *       <li><b>Stop observer</b> (obshell's task name {@code TASK_NAME_STOP} in each agent's sub-DAG): with
 *           {@code force}, obplay's {@code kill} step (KILL at once, wait for exit and released ports), as
 *           obshell's {@code kill -9}; with {@code terminate}, obplay's {@code stop} step (TERM, wait, KILL after
 *           the grace), where obshell would freeze over SQL and then kill.</li>
 *     </ol>
 *     Two stages, where obshell's force stop has five (the seed's {@code max_stage: 5}): {@code max_stage} is
 *     the number of nodes that really run.</li>
 *   <li><b>Stop obproxy</b> ({@code POST /api/v1/obproxy/stop}; obshell's {@code DAG_STOP_OBPROXY}), obshell's
 *     two nodes: <b>Check obproxy status</b> (read-only, as above) and <b>Stop obproxy</b> (obplay's {@code kill}
 *     step: KILL the obproxyd watchdog first, then obproxy, then wait; obshell kills obproxy with
 *     {@code kill -9}).</li>
 *   <li><b>Delete obproxy</b> ({@code DELETE /api/v1/obproxy}; obshell's {@code DAG_DELETE_OBPROXY}), obshell's
 *     four nodes: <b>Check obproxy status</b>, <b>Stop obproxy</b>, <b>Delete obproxy</b> (obshell forgets the
 *     obproxy's home and config in its own database; obplay keeps no record on the host, so this stage removes
 *     the obproxy's own record of itself, {@code <home>/etc}, its configuration) and <b>Clean obproxy dir</b>
 *     ({@code <home>/{log,run,bin,lib}}, keeping the home, as obshell does; {@code etc} went in the stage
 *     before). Both deleting stages are obplay {@code cleanup} steps: they refuse, before deleting anything, while
 *     the process or one of its ports is alive, and every path is in the plan.</li>
 *   <li><b>Start OB</b> ({@code POST /api/v1/ob/start}; obshell's {@code DAG_START_OB}) and <b>Start obproxy</b>
 *     ({@code POST /api/v1/obproxy/start}; {@code DAG_START_OBPROXY}): <b>Check observer status</b> /
 *     <b>Check obproxy status</b> (read-only, as above), then <b>Start observer</b> (obshell's task name in each
 *     agent's sub-DAG) / <b>Start obproxy</b>: obplay's {@code start} step, done when the server is ready.</li>
 *   <li>The OCP stop ({@code POST /api/v2/obproxy/clusters/{id}/servers/stop}) is the <b>Stop obproxy</b> DAG
 *     on the chosen servers of that cluster; OCP's task of the seed has its own internal nodes (prepare, block
 *     new requests, inactive agent modules, update OCP's status tables), which are OCP bookkeeping.</li>
 * </ul>
 */
final class ShimPlaybooks {
    static final String DAG_STOP_OB = "Stop OB";
    static final String DAG_STOP_OBPROXY = "Stop obproxy";
    static final String DAG_DELETE_OBPROXY = "Delete obproxy";
    static final String DAG_START_OB = "Start OB";
    static final String DAG_START_OBPROXY = "Start obproxy";

    static final String CHECK_OBSERVER = "Check observer status";
    static final String STOP_OBSERVER = "Stop observer";
    static final String CHECK_OBPROXY = "Check obproxy status";
    static final String STOP_OBPROXY = "Stop obproxy";
    static final String DELETE_OBPROXY = "Delete obproxy";
    static final String CLEAN_OBPROXY_DIR = "Clean obproxy dir";
    static final String START_OBSERVER = "Start observer";
    static final String START_OBPROXY = "Start obproxy";

    /** The read-only status check is quick; a host that does not answer within this fails the stage. */
    static final Duration CHECK_TIMEOUT = Duration.ofSeconds(60);
    static final Duration CLEANUP_TIMEOUT = Duration.ofMinutes(10);

    /**
     * How long a graceful stop waits: {@code grace} between TERM and KILL, {@code killWait} after KILL, then
     * {@code settle} during which nothing of the server may run or listen again.
     */
    record Timing(Duration grace, Duration killWait, Duration settle) {
        Timing(Duration grace, Duration killWait) {
            this(grace, killWait, Step.DEFAULT_SETTLE);
        }

        Duration stopTimeout() {
            return grace.plus(killWait).plus(settle).plusSeconds(30);
        }

        Duration killTimeout() {
            return killWait.plus(settle).plusSeconds(30);
        }
    }

    private ShimPlaybooks() {
    }

    /** Stop OB: check, then kill ({@code force}) or stop gracefully ({@code terminate}). */
    static Playbook stopOb(String source, byte[] body, StopObRequest r, Timing t) {
        String description = r.type().equals(StopObRequest.GLOBAL) ? "scope GLOBAL"
                : "scope " + r.type() + ": " + String.join(", ", r.targets());
        Targets targets = new Targets(description, r.type().equals(StopObRequest.GLOBAL), r.servers(), source);
        List<Step> steps = new ArrayList<>();
        steps.add(check(1, CHECK_OBSERVER, r.servers(), source));
        steps.add(r.force() ? kill(2, STOP_OBSERVER, source, t) : stop(2, STOP_OBSERVER, source, t));
        return playbook(source, body, DAG_STOP_OB, targets, steps);
    }

    /** Stop obproxy: check, then KILL obproxyd and obproxy. */
    static Playbook stopObproxy(String source, byte[] body, String description, List<Server> servers, Timing t) {
        Targets targets = new Targets(description, false, servers, source);
        List<Step> steps = List.of(check(1, CHECK_OBPROXY, servers, source), kill(2, STOP_OBPROXY, source, t));
        return playbook(source, body, DAG_STOP_OBPROXY, targets, steps);
    }

    /** Delete obproxy: check, kill, remove its configuration, clean its directories (keeping the home). */
    static Playbook deleteObproxy(String source, byte[] body, String description, List<Server> servers, Timing t) {
        Targets targets = new Targets(description, false, servers, source);
        List<Step> steps = List.of(
                check(1, CHECK_OBPROXY, servers, source),
                kill(2, STOP_OBPROXY, source, t),
                cleanup(3, DELETE_OBPROXY, servers, List.of("etc"), source),
                cleanup(4, CLEAN_OBPROXY_DIR, servers, List.of("log", "run", "bin", "lib"), source));
        return playbook(source, body, DAG_DELETE_OBPROXY, targets, steps);
    }

    /**
     * Start OB: check, then obplay's {@code start} step on every server of the scope (launched from its home as
     * obshell launches an installed observer, or by its inventory's {@code start_command}; done when ready). obshell
     * skips a server that already runs; obplay's start refuses it (the sub-task fails naming the live pid) and
     * starts the others.
     *
     * @throws ApiException 500 when a server's {@code start_command} in the inventory cannot be rendered
     */
    static Playbook startOb(String source, byte[] body, StartObRequest r, Timing t) throws ApiException {
        ObScope scope = r.scope();
        String description = scope.global() ? "scope GLOBAL" : "scope " + scope.type() + ": " + String.join(", ", scope.targets());
        Targets targets = new Targets(description, scope.global(), scope.servers(), source);
        List<Step> steps = List.of(check(1, CHECK_OBSERVER, scope.servers(), source), start(2, START_OBSERVER, scope.servers(), source, t));
        return playbook(source, body, DAG_START_OB, targets, steps);
    }

    /** Start obproxy: check, then start each obproxy of the managed cluster from its home (obshell's {@code ./bin/obproxy}). */
    static Playbook startObproxy(String source, byte[] body, String description, List<Server> servers, Timing t) throws ApiException {
        Targets targets = new Targets(description, false, servers, source);
        List<Step> steps = List.of(check(1, CHECK_OBPROXY, servers, source), start(2, START_OBPROXY, servers, source, t));
        return playbook(source, body, DAG_START_OBPROXY, targets, steps);
    }

    private static Step start(int index, String name, List<Server> servers, String source, Timing t) throws ApiException {
        List<String> problems = new ArrayList<>();
        Map<String, String> commands = io.obplay.playbook.PlaybookLoader.startCommands(servers, (s, setting, e) ->
                problems.add("the start_command of " + s.name() + " (" + setting.origin() + "), at offset " + e.offset() + ": " + e.getMessage()));
        if (!problems.isEmpty()) {
            throw Errors.unexpected("the inventory cannot start these servers: " + String.join("; ", problems));
        }
        Duration wait = Step.Start.DEFAULT_WAIT;
        return new Step.Start(head(index, name, wait.plus(t.settle()).plusSeconds(30), source), wait, t.settle(), commands);
    }

    private static Playbook playbook(String source, byte[] body, String name, Targets targets, List<Step> steps) {
        // parallel, all hosts at once, no failure tolerated; a stop of a majority of zones is what the client
        // asked for (obshell allows it with force and terminate), so the planner's guard is not applied
        return new Playbook(source, sha256(body), name, targets, Strategy.PARALLEL, 0, 50, 0, true, steps);
    }

    private static Step check(int index, String name, List<Server> servers, String source) {
        Map<String, String> commands = new LinkedHashMap<>();
        for (Server s : servers) {
            commands.put(s.name(), statusCommand(s));
        }
        return new Step.Shell(head(index, name, CHECK_TIMEOUT, source), commands);
    }

    private static Step kill(int index, String name, String source, Timing t) {
        return new Step.Kill(head(index, name, t.killTimeout(), source), t.killWait(), t.settle());
    }

    private static Step stop(int index, String name, String source, Timing t) {
        return new Step.Stop(head(index, name, t.stopTimeout(), source), t.grace(), t.killWait(), t.settle());
    }

    private static Step.Head head(int index, String name, Duration timeout, String source) {
        return new Step.Head(index, name, Set.of(), timeout, null, source + " stage " + index);
    }

    private static Step cleanup(int index, String name, List<Server> servers, List<String> dirNames, String source) {
        Map<String, List<String>> paths = new LinkedHashMap<>();
        for (Server s : servers) {
            List<String> list = new ArrayList<>();
            for (String d : dirNames) {
                String path = s.dirs().get(d);
                if (path != null && !path.equals(s.home()) && !list.contains(path)) {
                    list.add(path);
                }
            }
            paths.put(s.name(), list);
        }
        return new Step.Cleanup(head(index, name, CLEANUP_TIMEOUT, source), paths);
    }

    /**
     * The read-only status report of one server ({@link StepScripts#statusCommand}): its home (and where it really
     * is), what each pid file names and whose process that is, the processes under the home, and its ports by the
     * address rule of the stop scripts. Always exits 0: it only reports (and so proves the host answers).
     */
    static String statusCommand(Server s) {
        return StepScripts.statusCommand(s);
    }

    static String sha256(byte[] body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body == null ? new byte[0] : body));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
