package io.obplay.plan;

import io.obplay.inventory.Role;
import io.obplay.inventory.Server;
import io.obplay.playbook.Step;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The POSIX {@code sh} scripts that stop, kill and clean up one server on its host, and run a shell step there.
 *
 * <p>Each script is a pure function of its arguments (same input, byte-identical text), is shown in the dry run
 * and runs unchanged in one channel on the host, so waiting, polling and escalation happen there. It needs only a
 * dash-compatible {@code sh}, GNU coreutils ({@code readlink}, {@code sleep 0.1}, {@code du -x},
 * {@code rm --one-file-system}), awk, sed and procfs. Every value is single-quoted. It logs lines that
 * start with {@code obplay: }; on failure the last line is {@code obplay: FAILED: <reason>}.
 *
 * <p>Exit status of stop, kill and cleanup scripts:
 * <ul>
 *   <li>{@value #OK}: done (also "already stopped", and a stale pid file that was removed);</li>
 *   <li>{@value #FAILED}: failed (a pid file that holds no pid, a signal that did not work, a process or port of
 *       the server that came back while waiting or settling; cleanup: a path that was not cleaned, after every
 *       other path was);</li>
 *   <li>{@value #REFUSED}: refused for safety, nothing was signalled or deleted (a process under the home or a
 *       LISTENing port that no pid file accounts for; a pid file naming a process obplay cannot inspect; a path
 *       that is relative, {@code /}, has {@code ..}, or lies outside the server's declared directories; a
 *       declared directory that is, or links to, {@code /}, a system directory or a directory that holds the
 *       home; cleanup while the server runs);</li>
 *   <li>{@value #TIMEOUT}: timed out waiting for the process to end and its ports to be released.</li>
 * </ul>
 * A shell step exits with its command's status.
 *
 * <p>A script reads of its server only what {@link ScriptInput} holds (role, home, ports, pid files, declared
 * directories, the step's paths or command for it) and, in its variable lines {@code NAME=} and {@code HOST=},
 * the name and host: the template functions ({@link #template}) take a {@link ScriptInput}, and a
 * {@link ScriptTemplate} is filled per server. The planner and {@link LazyPlan}'s streaming both go through
 * {@link #template}, so servers with equal inputs share one template with nothing to re-check.
 *
 * <p>A process is the server's only when it is proved: {@code /proc/<pid>} exists, is not a zombie, and its cwd
 * or exe is the home or lies under {@code home + "/"}, the home taken both as declared and as resolved on the host
 * ({@code cd -P}), and it runs as the login user, the home's owner, or the owner of that cwd or exe (a process of
 * another user working in the home is someone else's); an obproxyd watchdog also when it is named obproxyd and its
 * cwd, exe or script lies there. A pid that is not proved is never signalled. A port is the server's when it
 * LISTENs on the server's own address (its host as resolved there, or an address its live processes listen on) or
 * on a wildcard address; the same number on another address is someone else's. "Stopped" means: no process under the home and no port of the
 * server, for the settle period.
 */
public final class StepScripts {

    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int REFUSED = 3;
    public static final int TIMEOUT = 4;

    /** The libraries: functions shared by every script of a kind, shown once in a plan and put in at the marker. */
    public static final String STOP_LIBRARY = "stop";
    public static final String STOP_OBPROXY_LIBRARY = "stop-obproxy";
    public static final String CLEANUP_LIBRARY = "cleanup";
    /** The functions of every start script. */
    public static final String START_LIBRARY = "start";
    /** The functions of every restart script: stop's (obproxyd's too) and start's. */
    public static final String RESTART_LIBRARY = "restart";
    /** The read-only status report a shell step can call ({@link #statusCommand}). */
    public static final String STATUS_LIBRARY = "status";
    /** The line in a script where its library's functions go. */
    public static final String MARKER = "# obplay library: ";

    private StepScripts() {
    }

    /** A library's text by name: the functions a script calls, exactly as they are put in at its marker line. */
    public static String library(String name) {
        String exit = "# Exit status: 0 done, 1 failed, 3 refused for safety (nothing signalled or deleted), 4 timed out.\n";
        return switch (name) {
            case STOP_LIBRARY -> "# obplay library \"stop\": the functions of every stop and kill script.\n" + exit + CORE + STOP;
            case STOP_OBPROXY_LIBRARY -> "# obplay library \"stop-obproxy\": the functions of every obproxy stop and kill script.\n"
                    + exit + CORE + STOP + DAEMON;
            case CLEANUP_LIBRARY -> "# obplay library \"cleanup\": the functions of every cleanup script.\n" + exit + CORE + CLEANUP;
            case START_LIBRARY -> "# obplay library \"start\": the functions of every start script.\n"
                    + "# Exit status: 0 started and ready, 1 failed, 3 refused (nothing started), 4 not ready in time.\n"
                    + CORE + STOP + DAEMON + START;
            case RESTART_LIBRARY -> "# obplay library \"restart\": the functions of every restart script.\n"
                    + "# Exit status: 0 stopped, started and ready, 1 failed, 3 refused (nothing stopped or started), 4 timed out.\n"
                    + CORE + STOP + DAEMON + START;
            case STATUS_LIBRARY -> "# obplay library \"status\": the read-only status report of a server.\n" + CORE + STATUS;
            default -> throw new IllegalArgumentException("no script library '" + name + "'");
        };
    }

    private static String marker(String library) {
        return "\n" + MARKER + library + "\n\n";
    }

    /** {@link #stop(Server, Duration, Duration, Duration)} with the default settle period. */
    public static Script stop(Server s, Duration grace, Duration killWait) {
        return stop(s, grace, killWait, Step.DEFAULT_SETTLE);
    }

    /**
     * TERM the server (obproxy: KILL obproxyd first), KILL it after {@code grace}, wait up to {@code killWait}, then
     * check for {@code settle} that nothing of it came back.
     */
    public static Script stop(Server s, Duration grace, Duration killWait, Duration settle) {
        return stop(ScriptInput.of(s, null, null), s.name(), grace, killWait, settle).fill(s.name(), s.host());
    }

    private static ScriptTemplate stop(ScriptInput s, String who, Duration grace, Duration killWait, Duration settle) {
        checkDuration(grace, "grace");
        checkDuration(killWait, "killWait");
        checkDuration(settle, "settle");
        return processScript(s, who, "stop", "TERM", grace, killWait, settle);
    }

    /** {@link #kill(Server, Duration, Duration)} with the default settle period. */
    public static Script kill(Server s, Duration killWait) {
        return kill(s, killWait, Step.DEFAULT_SETTLE);
    }

    /** KILL the server at once (obproxy: obproxyd first), wait up to {@code killWait}, then settle as stop does. */
    public static Script kill(Server s, Duration killWait, Duration settle) {
        return kill(ScriptInput.of(s, null, null), s.name(), killWait, settle).fill(s.name(), s.host());
    }

    private static ScriptTemplate kill(ScriptInput s, String who, Duration killWait, Duration settle) {
        checkDuration(killWait, "killWait");
        checkDuration(settle, "settle");
        return processScript(s, who, "kill", "KILL", Duration.ZERO, killWait, settle);
    }

    /**
     * The template of {@code step}'s script for servers with input {@code in} (see {@link ScriptInput}); {@code who}
     * names the server in error messages only. What the planner and {@link LazyPlan} both call.
     */
    public static ScriptTemplate template(Step step, ScriptInput in, String who) {
        return step.accept(new Step.Visitor<>() {
            @Override
            public ScriptTemplate stop(Step.Stop x) {
                return StepScripts.stop(in, who, x.grace(), x.killWait(), x.settle());
            }

            @Override
            public ScriptTemplate kill(Step.Kill x) {
                return StepScripts.kill(in, who, x.killWait(), x.settle());
            }

            @Override
            public ScriptTemplate cleanup(Step.Cleanup x) {
                return StepScripts.cleanup(in, who);
            }

            @Override
            public ScriptTemplate shell(Step.Shell x) {
                return StepScripts.shell(in);
            }

            @Override
            public ScriptTemplate start(Step.Start x) {
                return StepScripts.start(in, who, x.readyWait(), x.settle());
            }

            @Override
            public ScriptTemplate restart(Step.Restart x) {
                return StepScripts.restart(in, who, x.grace(), x.killWait(), x.settle(), x.readyWait());
            }

            @Override
            public ScriptTemplate gate(Step.Gate x) {
                return StepScripts.gate(x);
            }
        });
    }

    /** The script of {@code step} on {@code s}. */
    public static Script script(Server s, Step step) {
        return template(step, ScriptInput.of(s, step), s.name()).fill(s.name(), s.host());
    }

    /**
     * Clean {@code paths} (declared directories, or paths inside them) once each is checked and the server is
     * proved not to run: the deepest first, each on its own (one that fails does not stop the others, and the
     * script then exits {@value #FAILED}), so that a second run finishes what the first left.
     *
     * <p>A declared directory that is a symlink is followed: the directory it names is removed, then the link.
     * Symlinks inside are removed as links, never followed. A directory that is a mount point, or that its parent
     * does not let go (not writable, as root-owned {@code /data} is to the admin user), is emptied and kept, and
     * so is the link to it. A failed path keeps the symlinks that lead to it: a path whose removal would take one
     * of them is kept too, for the second run.
     */
    public static Script cleanup(Server s, List<String> paths) {
        Objects.requireNonNull(paths, "paths");
        return cleanup(ScriptInput.of(s, paths, null), s.name()).fill(s.name(), s.host());
    }

    private static ScriptTemplate cleanup(ScriptInput s, String who) {
        List<String> paths = Objects.requireNonNull(s.paths(), "paths");
        List<String> order = deepestFirst(paths);
        int[] holes = new int[2];
        StringBuilder b = header(s, who, holes, "cleanup", List.of(
                "check every path and prove the server does not run, then clean the paths, the deepest",
                "first, each on its own: one that fails does not stop the others, and a second run finishes",
                "what this one left."));
        List<String> dirs = allowedDirs(s);
        b.append("\n# in_dirs P [real|exact]: P is, or lies under, one of the server's declared directories (with \"real\":\n"
                + "# as they really are, symlinks resolved, but none that is unsafe; with \"exact\": P is one of them, as written)\n"
                + "in_dirs() {\n"
                + "  want=$1 how=${2:-}\n"
                + "  set --");
        for (String d : dirs) {
            b.append(" \\\n    ").append(quote(d));
        }
        b.append("\n"
                + "  for d in \"$@\"; do\n"
                + "    if [ \"$how\" = real ]; then real_dir \"$d\" || continue; d=$RD; if unsafe \"$d\"; then continue; fi; fi\n"
                + "    if [ \"$how\" = exact ]; then [ \"$want\" = \"$d\" ] && return 0; continue; fi\n"
                + "    case $want in \"$d\"|\"$d\"/*) return 0 ;; esac\n"
                + "  done\n"
                + "  return 1\n"
                + "}\n");
        b.append(marker(CLEANUP_LIBRARY));
        b.append("cd / || exit 1\ncheck_home\n");
        b.append("set --");  // the paths to clean, deepest first
        for (String path : order) {
            b.append(" \\\n  ").append(quote(path));
        }
        b.append('\n');
        b.append("say \"cleanup of $NAME: $# path(s)\"\n"
                + "n=0; for path in \"$@\"; do n=$((n + 1)); check_path \"$n\" \"$path\"; done  # all of them, before anything is deleted\n"
                + "refuse_if_running " + quoteAll(List.copyOf(s.pidFiles().values())) + "\n"
                + "n=0; for path in \"$@\"; do n=$((n + 1)); clean \"$n\" \"$path\" || not_done \"$n\" \"$path\"; done\n"
                + "finish \"$#\"\n");
        List<String> words = new ArrayList<>(order.size());
        for (String path : order) {
            words.add(pathWords(s, dirs, path));
        }
        return new ScriptTemplate(b.toString(), holes[0], holes[1], List.of(), words, CLEANUP_LIBRARY);
    }

    /** The paths, the deepest (most segments) first, otherwise in the order given. */
    private static List<String> deepestFirst(List<String> paths) {
        List<String> order = new ArrayList<>(paths);
        order.sort(java.util.Comparator.comparingInt(StepScripts::depth).reversed());  // stable
        return order;
    }

    private static int depth(String path) {
        String p = trimSlashes(path);
        int n = 0;
        for (int i = 0; i < p.length(); i++) {
            if (p.charAt(i) == '/') {
                n++;
            }
        }
        return p.equals("/") ? 0 : n;
    }

    /** A plan line: the path and what cleaning it does, as the script will decide it. */
    private static String pathWords(ScriptInput s, List<String> dirs, String path) {
        String p = trimSlashes(path);
        StringBuilder names = new StringBuilder();
        String inside = null;
        int insideLength = -1;
        for (Map.Entry<String, String> e : s.dirs().entrySet()) {
            String d = trimSlashes(e.getValue());
            if (!dirs.contains(d)) {
                continue;
            }
            if (d.equals(p)) {
                names.append(names.length() == 0 ? "" : ", ").append(e.getKey());
            } else if (p.startsWith(d + "/") && d.length() > insideLength) {
                inside = e.getKey();
                insideLength = d.length();
            }
        }
        String keep = "a mount point or a dir whose parent is not writable: emptied, kept)";
        if (names.length() > 0) {
            return path + "  (" + names + ": removed; a symlink: the directory it names, then the link; links inside: as links; "
                    + keep;
        }
        if (inside != null) {
            return path + "  (in " + inside + ": removed; a symlink: the link only; " + keep;
        }
        return path + "  (not in the declared directories: refused)";
    }

    /** Run {@code command} (already rendered) in the server's home, or in {@code /} if there is none. */
    public static Script shell(Server s, String command) {
        Objects.requireNonNull(command, "command");
        return shell(ScriptInput.of(s, null, command)).fill(s.name(), s.host());
    }

    private static ScriptTemplate shell(ScriptInput s) {
        String command = Objects.requireNonNull(s.command(), "command");
        noNul(command, "command");
        String library = shellLibrary(command);
        if (library != null) {
            // obplay's own read-only command: its library's functions at the top level, run from /
            return ScriptTemplate.fixed("#!/bin/sh\n# obplay shell step: obplay's read-only status report of the server;"
                    + " exits 0.\ncd / || exit 1\n" + command + "\n", List.of(), List.of(), library, command);
        }
        String home = trimSlashes(s.home());
        StringBuilder b = new StringBuilder(512 + 2 * command.length()).append("#!/bin/sh\n"
                + "# obplay shell step: run the command below in the server's home (or in / if there is none);\n"
                + "# the exit status is the command's.\n");
        String[] lines = command.split("\n", -1);
        b.append("printf '%s\\n'");
        for (int i = 0; i < lines.length; i++) {
            b.append(' ').append(quote((i == 0 ? "obplay: $ " : "obplay:   ") + lines[i]));
        }
        b.append("\n(\ncd ").append(quote(home)).append(" 2>/dev/null || cd /\n");
        b.append(command).append("\n)\n");
        b.append("rc=$?\n"
                + "[ \"$rc\" -eq 0 ] || printf 'obplay: FAILED: the command exited with status %s\\n' \"$rc\"\n"
                + "exit \"$rc\"\n");
        return ScriptTemplate.fixed(b.toString(), List.of(), List.of(), null, command);
    }

    /**
     * A gate runs on the controller (obplay checks it, see {@link GatePlan}); its "script" only says so, and fails
     * if it is ever run on a host, so that a gate can never pass by mistake.
     */
    private static ScriptTemplate gate(Step.Gate g) {
        io.obplay.playbook.ZoneGate z = g.gate();
        List<String> levels = new ArrayList<>();
        levels.add("1 (each server ready, checked by its start)");
        if (z.obshell()) {
            levels.add("2 (obshell status)");
        }
        if (z.sql()) {
            levels.add("3 (SQL)");
        }
        if (!z.command().isEmpty()) {
            levels.add("4 (command)");
        }
        String what = "after " + commentSafe(g.zone()) + ", before the next zone: level " + String.join(", ", levels)
                + "; pause " + words(z.pause()) + ", timeout " + words(z.timeout());
        String text = "#!/bin/sh\n# obplay gate " + what + ".\n# It is checked by obplay on the controller, never run on"
                + " a host: see the node's gate.\nprintf 'obplay: FAILED: %s\\n' 'a gate is checked on the controller, not"
                + " run on a host'\nexit 1\n";
        return new ScriptTemplate(text, -1, -1, List.of(), List.of(), null, null, "the gate " + what);
    }

    /** {@link #start(ScriptInput, String, Duration, Duration)} of {@code s}, started as obshell starts it. */
    public static Script start(Server s, Duration wait, Duration settle) {
        return start(s, null, wait, settle);
    }

    /** The same with {@code command} (a rendered start_command, or null) instead of obshell's launch. */
    public static Script start(Server s, String command, Duration wait, Duration settle) {
        return start(ScriptInput.of(s, null, command), s.name(), wait, settle).fill(s.name(), s.host());
    }

    /**
     * Start the server: refuse (exit {@value #REFUSED}, nothing started) when its home or a declared directory is
     * missing, when an observer has no {@code etc/observer.config.bin} (never started: that is a deployment), when
     * it already runs (proved as a stop proves it) or a port of it is held; else launch it detached from its home,
     * as obshell does ({@code cd <home> && LD_LIBRARY_PATH=<home>/lib <home>/bin/observer}, no arguments;
     * obproxy: {@code cd <home> && ./bin/obproxy}), or with the inventory's start_command, and wait up to
     * {@code wait} until it is ready: a pid file names a live process of it and every port LISTENs on its
     * addresses, for {@code settle}. A start command that fails, a server that exits or is not ready in time fails
     * the sub-task ({@value #FAILED}, {@value #TIMEOUT}) with the last lines of its own log.
     */
    private static ScriptTemplate start(ScriptInput s, String who, Duration wait, Duration settle) {
        StartParts p = startParts(s, who, wait, settle);
        int[] holes = new int[2];
        StringBuilder b = header(s, who, holes, "start", p.purpose());
        b.append(p.vars());
        b.append(marker(START_LIBRARY));
        b.append("cd / || exit 1\ncheck_home\n");
        b.append(p.say()).append("start_dirs\n").append(p.calls());
        return new ScriptTemplate(b.toString(), holes[0], holes[1], List.of(), List.of(), START_LIBRARY, p.shown(), p.ready());
    }

    /**
     * What a start script is made of: its purpose, its variable lines, the line that says what it starts, the
     * calls after {@code start_dirs}, the launch command as shown and what "ready" is checked against.
     */
    private record StartParts(List<String> purpose, String vars, String say, String calls, String shown, String ready) {
    }

    private static StartParts startParts(ScriptInput s, String who, Duration wait, Duration settle) {
        checkDuration(wait, "wait");
        checkDuration(settle, "settle");
        boolean observer = s.role() == Role.OBSERVER;
        String what = s.role().processName();
        List<String> serverFiles = pidFiles(s, "server");
        if (serverFiles.isEmpty()) {
            throw new IllegalArgumentException(who + " has no 'server' pid file");
        }
        String home = trimSlashes(s.home());
        String bin = observer ? "bin/observer" : "bin/obproxy";
        String launch = s.command() != null
                ? "cd " + quote(home) + " && " + noNulText(s.command(), "start_command")
                : observer ? "cd " + quote(home) + " && LD_LIBRARY_PATH=" + quote(home + "/lib") + " exec " + quote(home + "/" + bin)
                : "cd " + quote(home) + " && exec ./bin/obproxy";
        String config = observer ? "etc/observer.config.bin" : "";
        String log = observer ? "log/observer.log" : "log/obproxy.log";
        List<String> purpose = List.of(
                "refuse if a declared directory is missing" + (observer ? ", etc/observer.config.bin is absent (never" : ""),
                (observer ? "started: a deployment), " : "") + "the " + what + " already runs or a port of it is held; else launch it",
                "detached from its home and wait until a pid file names a live process of it and every port",
                "LISTENs, for the settle period.");
        StringBuilder b = new StringBuilder(512);
        vars(b, "PID_FILE", serverFiles);
        int n = 0;
        for (Map.Entry<String, String> e : s.dirs().entrySet()) {
            n++;
            b.append("DIR_").append(n).append('=').append(quote(e.getValue())).append(" DIR_NAME_").append(n).append('=')
                    .append(quote(e.getKey())).append('\n');
        }
        b.append("DIRS=").append(n).append('\n');
        b.append("CONFIG=").append(quote(config)).append('\n');
        b.append("BIN=").append(quote(s.command() != null ? "" : bin)).append('\n');
        b.append("LOG=").append(quote(log)).append('\n');
        b.append("START_CMD=").append(quote(launch)).append('\n');
        b.append("READY_WAIT=").append(centis(wait)).append("  # 1/100 s: ").append(words(wait)).append('\n');
        b.append("SETTLE=").append(centis(settle)).append("  # 1/100 s: ").append(words(settle)).append('\n');
        List<String> daemonFiles = s.daemon() != null ? pidFiles(s, "daemon") : List.of();
        String daemonCmd = null;
        if (s.daemon() != null) {
            if (daemonFiles.isEmpty()) {
                throw new IllegalArgumentException(who + " has an obproxyd_script but no 'daemon' pid file");
            }
            daemonCmd = "cd " + quote(home) + " && exec bash " + quote(home + "/" + noNulText(s.daemon(), "obproxyd_script"))
                    + " " + quote(home) + " \"$HOST\" " + s.ports().get("listen_port") + " daemon";
            vars(b, "DAEMON_PID_FILE", daemonFiles);
            b.append("DAEMON_CMD=").append(quote(daemonCmd)).append('\n');
        }
        String say = "say \"starting " + what + " $NAME (home $HOME_DIR, ports $PORTS)\"\n";
        String calls = "start_not_running " + refs("PID_FILE", serverFiles.size()) + "\n"
                + "launch\n"
                + "wait_ready " + refs("PID_FILE", serverFiles.size()) + "\n"
                + (daemonCmd == null ? "" : "start_daemon " + refs("DAEMON_PID_FILE", daemonFiles.size()) + "\n")
                + "say \"$DONE\"\n";
        String ready = "a pid file (" + String.join(" or ", serverFiles) + ") names a live process proved to be this " + what
                + " (cwd/exe under " + home + "), and port(s) " + portWords(s.ports(), who) + " LISTEN on its addresses (or a"
                + " wildcard address), for the " + words(settle) + " settle period; within " + words(wait) + ", else the"
                + " sub-task fails with the last lines of " + home + "/" + log;
        if (daemonCmd != null) {
            ready += "; then its watchdog: obproxyd launched once obproxy is ready, until a pid file ("
                    + String.join(" or ", daemonFiles) + ") names a live obproxyd of " + home + " while that obproxy runs";
        }
        String shown = launch + "  (detached: setsid, stdin /dev/null" + (s.command() != null ? "; the inventory's start_command" : "") + ")"
                + (daemonCmd == null ? "" : "; then the watchdog: " + daemonCmd + "  (detached; $HOST is this host)");
        return new StartParts(purpose, b.toString(), say, calls, shown, ready);
    }

    /**
     * Restart the server: the start's checks that do not depend on it running first (its directories, an observer's
     * {@code etc/observer.config.bin}, the binary), so that a server that could not be started again is never
     * stopped; then the stop exactly as a stop step does it, then the start exactly as a start step does it. One
     * settle period serves both: after the stop, nothing of it for that long; after the start, ready for that long.
     */
    private static ScriptTemplate restart(ScriptInput s, String who, Duration grace, Duration killWait, Duration settle,
                                          Duration wait) {
        checkDuration(grace, "grace");
        checkDuration(killWait, "killWait");
        ProcessParts stop = processParts(s, who, "TERM", grace, killWait, settle);
        StartParts start = startParts(s, who, wait, settle);
        List<String> purpose = new ArrayList<>();
        purpose.add("check what the start needs before anything is signalled (refuse, nothing stopped, if a declared");
        purpose.add("directory is missing" + (s.role() == Role.OBSERVER ? " or etc/observer.config.bin is absent" : "")
                + "); then stop as the stop step does:");
        purpose.addAll(stop.purpose());
        purpose.add("then start as the start step does: launch it detached from its home and wait until a pid file");
        purpose.add("names a live process of it and every port LISTENs, for the settle period.");
        int[] holes = new int[2];
        StringBuilder b = header(s, who, holes, "restart", purpose);
        b.append(stop.vars());
        java.util.Set<String> declared = new java.util.HashSet<>(List.of(stop.vars().split("\n")));
        for (String line : start.vars().split("\n")) {
            if (!declared.contains(line)) {  // the settle line and the obproxyd pid files are the same in both
                b.append(line).append('\n');
            }
        }
        b.append(marker(RESTART_LIBRARY));
        b.append("cd / || exit 1\ncheck_home\n");
        b.append("say \"restarting " + s.role().processName() + " $NAME (home $HOME_DIR, ports $PORTS): stop, then start\"\n");
        b.append("start_dirs\n");
        b.append(stop.calls());
        b.append(start.say()).append(start.calls());
        return new ScriptTemplate(b.toString(), holes[0], holes[1], stop.signals(), List.of(), RESTART_LIBRARY, start.shown(),
                start.ready());
    }

    private static String noNulText(String value, String what) {
        noNul(value, what);
        return value;
    }

    /** The library a shell command calls: {@link #STATUS_LIBRARY} when its first line is that library's marker. */
    public static String shellLibrary(String command) {
        return command != null && command.startsWith(MARKER + STATUS_LIBRARY + "\n") ? STATUS_LIBRARY : null;
    }

    /**
     * A read-only shell command that reports what runs of {@code s} (its home, what each pid file names and whose
     * it is, the processes under the home, its ports by the address rule) and exits 0: the functions of the
     * {@link #STATUS_LIBRARY status} library, the same proofs as stop, kill and cleanup.
     */
    public static String statusCommand(Server s) {
        StringBuilder b = new StringBuilder(256).append(MARKER).append(STATUS_LIBRARY).append('\n');
        b.append("NAME=").append(quote(s.name())).append(" HOST=").append(quote(s.host())).append(" HOME_DIR=")
                .append(quote(trimSlashes(s.home()))).append(" PORTS='").append(portWords(s.ports(), s.name())).append("'\n");
        b.append("status_report ").append(quoteAll(List.copyOf(s.pidFiles().values())));
        return b.toString();
    }

    // ------------------------------------------------------------------------------------------------------------

    private static ScriptTemplate processScript(ScriptInput s, String who, String step, String firstSignal, Duration grace,
                                                Duration killWait, Duration settle) {
        ProcessParts p = processParts(s, who, firstSignal, grace, killWait, settle);
        int[] holes = new int[2];
        StringBuilder b = header(s, who, holes, step, p.purpose());
        b.append(p.vars());
        b.append(marker(p.library()));
        b.append("cd / || exit 1\ncheck_home\n");
        b.append(p.calls());
        return new ScriptTemplate(b.toString(), holes[0], holes[1], p.signals(), List.of(), p.library());
    }

    /** What a stop or kill script is made of: its purpose, signals, variable lines, calls and library. */
    private record ProcessParts(List<String> purpose, List<String> signals, String vars, String calls, String library) {
    }

    private static ProcessParts processParts(ScriptInput s, String who, String firstSignal, Duration grace,
                                             Duration killWait, Duration settle) {
        String what = s.role().processName();
        List<String> serverFiles = pidFiles(s, "server");
        if (serverFiles.isEmpty()) {
            throw new IllegalArgumentException(who + " has no 'server' pid file");
        }
        List<String> daemonFiles = s.role() == Role.OBPROXY ? pidFiles(s, "daemon") : List.of();
        boolean daemon = !daemonFiles.isEmpty();
        String group = s.role() == Role.OBPROXY ? "group" : "pid";
        String home = trimSlashes(s.home());
        String proof = " (proved by cwd/exe under " + home + ", as resolved on the host)";
        boolean term = firstSignal.equals("TERM");
        String settleWords = "; stopped once nothing runs under " + home + " and no port of it LISTENs (on its own or a"
                + " wildcard address) for the " + words(settle) + " settle period: what comes back fails the sub-task";

        List<String> signals = new ArrayList<>();
        List<String> purpose = new ArrayList<>();
        if (daemon) {
            purpose.add("KILL obproxyd first (it would respawn obproxy), then");
            signals.add("STOP, then KILL obproxyd first (it would respawn obproxy): the pid in " + String.join(" or ", daemonFiles)
                    + " once proved, and any process named obproxyd or obproxyd.sh (or a shell running obproxyd.sh) whose"
                    + " cwd, exe or script is under " + home + "; with its descendants under " + home
                    + ", found while it is stopped");
        }
        String groupWords = s.role() == Role.OBPROXY ? "; its whole process group if it leads one" : "";
        signals.add(firstSignal + " " + what + " pid from " + String.join(" or ", serverFiles) + proof + groupWords
                + (term ? "" : settleWords));
        if (term) {
            signals.add("KILL " + what + " after " + words(grace) + " grace if still running" + settleWords);
            purpose.add("TERM the " + what + " named in its pid file once it is proved to be this server's, KILL it "
                    + "after the grace period;");
        } else {
            purpose.add("KILL the " + what + " named in its pid file once it is proved to be this server's;");
        }
        purpose.add("done when it is gone and, for the settle period, nothing runs under its home and none of its");
        purpose.add("ports LISTENs on its addresses.");

        StringBuilder b = new StringBuilder(512);
        List<String> all = new ArrayList<>(vars(b, "PID_FILE", serverFiles));
        if (daemon) {
            all.addAll(vars(b, "DAEMON_PID_FILE", daemonFiles));
        }
        if (term) {
            b.append("GRACE=").append(centis(grace)).append("  # 1/100 s: ").append(words(grace)).append('\n');
        }
        b.append("KILL_WAIT=").append(centis(killWait)).append("  # 1/100 s: ").append(words(killWait)).append('\n');
        b.append("SETTLE=").append(centis(settle)).append("  # 1/100 s: ").append(words(settle)).append('\n');
        String vars = b.toString();
        b.setLength(0);
        if (term) {
            b.append("say \"stopping " + what + " $NAME (home $HOME_DIR, ports $PORTS): TERM, KILL after $(secs \"$GRACE\")\"\n");
        } else {
            b.append("say \"killing " + what + " $NAME (home $HOME_DIR, ports $PORTS)\"\n");
        }
        if (daemon) {
            b.append("find_daemons ").append(refs("DAEMON_PID_FILE", daemonFiles.size())).append('\n');
        }
        b.append("find_servers ").append(what).append(' ').append(refs("PID_FILE", serverFiles.size())).append('\n');
        b.append("stop_found ").append(what).append(' ').append(firstSignal).append(' ').append(group).append('\n');
        b.append("tidy_pid_files ").append(refs("PID_FILE", serverFiles.size()));
        if (daemon) {
            b.append(' ').append(refs("DAEMON_PID_FILE", daemonFiles.size()));
        }
        b.append("\nsay \"$DONE\"\n");
        return new ProcessParts(purpose, signals, vars, b.toString(), daemon ? STOP_OBPROXY_LIBRARY : STOP_LIBRARY);
    }

    /** The pid files of a role: the one under the role's key, then those under {@code role + "_"...}, in order. */
    private static List<String> pidFiles(ScriptInput s, String role) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : s.pidFiles().entrySet()) {
            String k = e.getKey();
            if ((k.equals(role) || k.startsWith(role + "_")) && e.getValue() != null && !e.getValue().isEmpty()
                    && !out.contains(e.getValue())) {
                out.add(e.getValue());
            }
        }
        return out;
    }

    /** Writes {@code NAME='file'}, {@code NAME_2='file'}, ...; returns the files. */
    private static List<String> vars(StringBuilder b, String name, List<String> files) {
        for (int i = 0; i < files.size(); i++) {
            b.append(name).append(i == 0 ? "" : "_" + (i + 1)).append('=').append(quote(files.get(i))).append('\n');
        }
        return files;
    }

    /** {@code "$NAME" "$NAME_2" ...}. */
    private static String refs(String name, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : " ").append("\"$").append(name).append(i == 0 ? "" : "_" + (i + 1)).append('"');
        }
        return b.toString();
    }

    /** The script's first lines; {@code holes} gets where the quoted name and host go. */
    private static StringBuilder header(ScriptInput s, String who, int[] holes, String step, List<String> purpose) {
        Objects.requireNonNull(s, "server");
        String home = trimSlashes(s.home());
        StringBuilder b = new StringBuilder(2048);  // a script's size: no growing on the way
        b.append("#!/bin/sh\n");
        for (int i = 0; i < purpose.size(); i++) {
            b.append(i == 0 ? "# obplay " + step + ": " : "# ").append(purpose.get(i)).append('\n');
        }
        b.append("set -u\nLC_ALL=C; export LC_ALL\n");
        b.append("NAME=");
        holes[0] = b.length();
        b.append("\nHOST=");
        holes[1] = b.length();
        b.append('\n');
        b.append("HOME_DIR=").append(quote(home)).append('\n');
        StringBuilder names = new StringBuilder();
        for (String key : s.ports().keySet()) {
            names.append(names.length() == 0 ? "" : " ").append(commentSafe(key));
        }
        b.append("PORTS='").append(portWords(s.ports(), who)).append("'");
        b.append(names.length() == 0 ? "\n" : "  # " + names + "\n");
        return b;
    }

    /** The server's ports, checked, as "2881 2882". */
    private static String portWords(Map<String, Integer> of, String who) {
        StringBuilder ports = new StringBuilder();
        for (Map.Entry<String, Integer> e : of.entrySet()) {
            int port = e.getValue();
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port " + e.getKey() + " of " + who + " is out of range: " + port);
            }
            ports.append(ports.length() == 0 ? "" : " ").append(port);
        }
        return ports.toString();
    }

    /** The declared directories that may hold deletable paths: absolute, not "/", trailing slashes trimmed. */
    private static List<String> allowedDirs(ScriptInput s) {
        List<String> dirs = new ArrayList<>();
        for (String d : s.dirs().values()) {
            String t = trimSlashes(d);
            if (t.startsWith("/") && t.length() > 1 && !dirs.contains(t)) {
                dirs.add(t);
            }
        }
        return dirs;
    }

    private static String trimSlashes(String path) {
        Objects.requireNonNull(path, "path");
        String p = path;
        while (p.length() > 1 && p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }

    private static void checkDuration(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative()) {
            throw new IllegalArgumentException(what + " must not be negative: " + d);
        }
    }

    private static long centis(Duration d) {
        return (d.toMillis() + 9) / 10;
    }

    /** "60s", "1.5s", "0.25s". */
    static String words(Duration d) {
        long cs = centis(d);
        String w = WORDS.get(cs);  // every script of a step says the same few durations
        if (w == null) {
            w = words(cs);
            if (WORDS.size() < 64) {
                WORDS.put(cs, w);
            }
        }
        return w;
    }

    private static final Map<Long, String> WORDS = new java.util.concurrent.ConcurrentHashMap<>();

    private static String words(long cs) {
        if (cs < 0) {
            String frac = cs % 100 == 0 ? "" : String.format(Locale.ROOT, ".%02d", cs % 100).replaceAll("0$", "");
            return cs / 100 + frac + "s";
        }
        // the same as above without a Formatter and a regex: ".%02d" of the hundredths, less one trailing zero
        int r = (int) (cs % 100);
        String frac = r == 0 ? "" : r < 10 ? ".0" + r : r % 10 == 0 ? "." + r / 10 : "." + r;
        return cs / 100 + frac + "s";
    }

    /** A single-quoted shell word for any value: {@code 'it'\''s'}. */
    static String quote(String value) {
        noNul(value, "value");
        return io.obplay.playbook.ShellQuote.quote(value);
    }

    private static String quoteAll(List<String> values) {
        StringBuilder b = new StringBuilder();
        for (String v : values) {
            b.append(b.length() == 0 ? "" : " ").append(quote(v));
        }
        return b.toString();
    }

    /** {@code s.replaceAll("[^A-Za-z0-9_.:/-]", "?")}, without compiling the pattern each time. */
    private static String commentSafe(String s) {
        int n = s.length();
        int i = 0;
        while (i < n && safeInComment(s.charAt(i))) {
            i++;
        }
        if (i == n) {
            return s;
        }
        StringBuilder b = new StringBuilder(n).append(s, 0, i);
        while (i < n) {
            int cp = s.codePointAt(i);
            b.append(safeInComment(cp) ? (char) cp : '?');  // one '?' per code point, as the regex does
            i += Character.charCount(cp);
        }
        return b.toString();
    }

    private static boolean safeInComment(int c) {
        return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':'
                || c == '/' || c == '-';
    }

    private static void noNul(String value, String what) {
        Objects.requireNonNull(value, what);
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + " contains a NUL character");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // The function prelude, from the .sh files (see ShellFunctions).

    /** Logging, the home, processes, pid files, addresses and ports: shared by stop, kill, cleanup and status. */
    private static final String CORE = ShellFunctions.text("core");

    /** Signalling, waiting and settling: stop and kill. */
    private static final String STOP = ShellFunctions.text("stop");

    /** obproxy's watchdog: found by its pid files and by what it is. */
    private static final String DAEMON = ShellFunctions.text("daemon");

    /** Checking and cleaning paths. */
    private static final String CLEANUP = ShellFunctions.text("cleanup");

    /** The read-only status report. */
    private static final String STATUS = ShellFunctions.text("status");

    /** Starting a server and waiting until it is ready. */
    private static final String START = ShellFunctions.text("start");
}
