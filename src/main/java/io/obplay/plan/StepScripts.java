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
 * <p>A script reads of its server only the role, name, host, home, ports, pid files and declared directories, and
 * the name and host only as the lines {@code NAME=}{@link #quote quote(name)} and {@code HOST=}{@code quote(host)},
 * one after the other: {@link LazyPlan} writes large plans by reusing one server's script for the alike servers of
 * a step, with each one's quoted name and host put in (and checks this on a sample of them, falling back to each
 * server's own script if it does not hold).
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
        checkDuration(grace, "grace");
        checkDuration(killWait, "killWait");
        checkDuration(settle, "settle");
        return processScript(s, "stop", "TERM", grace, killWait, settle);
    }

    /** {@link #kill(Server, Duration, Duration)} with the default settle period. */
    public static Script kill(Server s, Duration killWait) {
        return kill(s, killWait, Step.DEFAULT_SETTLE);
    }

    /** KILL the server at once (obproxy: obproxyd first), wait up to {@code killWait}, then settle as stop does. */
    public static Script kill(Server s, Duration killWait, Duration settle) {
        checkDuration(killWait, "killWait");
        checkDuration(settle, "settle");
        return processScript(s, "kill", "KILL", Duration.ZERO, killWait, settle);
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
        List<String> order = deepestFirst(paths);
        StringBuilder b = header(s, "cleanup", List.of(
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
        return new Script(b.toString(), List.of(), words, CLEANUP_LIBRARY);
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
    private static String pathWords(Server s, List<String> dirs, String path) {
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
        noNul(command, "command");
        String library = shellLibrary(command);
        if (library != null) {
            // obplay's own read-only command: its library's functions at the top level, run from /
            return new Script("#!/bin/sh\n# obplay shell step: obplay's read-only status report of the server;"
                    + " exits 0.\ncd / || exit 1\n" + command + "\n", List.of(), List.of(), library);
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
        return new Script(b.toString(), List.of(), List.of(), null);
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
                .append(quote(trimSlashes(s.home()))).append(" PORTS='").append(portWords(s)).append("'\n");
        b.append("status_report ").append(quoteAll(List.copyOf(s.pidFiles().values())));
        return b.toString();
    }

    // ------------------------------------------------------------------------------------------------------------

    private static Script processScript(Server s, String step, String firstSignal, Duration grace, Duration killWait,
                                        Duration settle) {
        String what = s.role().processName();
        List<String> serverFiles = pidFiles(s, "server");
        if (serverFiles.isEmpty()) {
            throw new IllegalArgumentException(s.name() + " has no 'server' pid file");
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

        StringBuilder b = header(s, step, purpose);
        List<String> all = new ArrayList<>(vars(b, "PID_FILE", serverFiles));
        if (daemon) {
            all.addAll(vars(b, "DAEMON_PID_FILE", daemonFiles));
        }
        if (term) {
            b.append("GRACE=").append(centis(grace)).append("  # 1/100 s: ").append(words(grace)).append('\n');
        }
        b.append("KILL_WAIT=").append(centis(killWait)).append("  # 1/100 s: ").append(words(killWait)).append('\n');
        b.append("SETTLE=").append(centis(settle)).append("  # 1/100 s: ").append(words(settle)).append('\n');
        b.append(marker(daemon ? STOP_OBPROXY_LIBRARY : STOP_LIBRARY));
        b.append("cd / || exit 1\ncheck_home\n");
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
        return new Script(b.toString(), signals, List.of(), daemon ? STOP_OBPROXY_LIBRARY : STOP_LIBRARY);
    }

    /** The pid files of a role: the one under the role's key, then those under {@code role + "_"...}, in order. */
    private static List<String> pidFiles(Server s, String role) {
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

    private static StringBuilder header(Server s, String step, List<String> purpose) {
        Objects.requireNonNull(s, "server");
        String home = trimSlashes(s.home());
        StringBuilder b = new StringBuilder(2048);  // a script's size: no growing on the way
        b.append("#!/bin/sh\n");
        for (int i = 0; i < purpose.size(); i++) {
            b.append(i == 0 ? "# obplay " + step + ": " : "# ").append(purpose.get(i)).append('\n');
        }
        b.append("set -u\nLC_ALL=C; export LC_ALL\n");
        b.append("NAME=").append(quote(s.name())).append('\n');
        b.append("HOST=").append(quote(Objects.requireNonNull(s.host(), "host"))).append('\n');
        b.append("HOME_DIR=").append(quote(home)).append('\n');
        StringBuilder names = new StringBuilder();
        for (String key : s.ports().keySet()) {
            names.append(names.length() == 0 ? "" : " ").append(commentSafe(key));
        }
        b.append("PORTS='").append(portWords(s)).append("'");
        b.append(names.length() == 0 ? "\n" : "  # " + names + "\n");
        return b;
    }

    /** The server's ports, checked, as "2881 2882". */
    private static String portWords(Server s) {
        StringBuilder ports = new StringBuilder();
        for (Map.Entry<String, Integer> e : s.ports().entrySet()) {
            int port = e.getValue();
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port " + e.getKey() + " of " + s.name() + " is out of range: " + port);
            }
            ports.append(ports.length() == 0 ? "" : " ").append(port);
        }
        return ports.toString();
    }

    /** The declared directories that may hold deletable paths: absolute, not "/", trailing slashes trimmed. */
    private static List<String> allowedDirs(Server s) {
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
        return "'" + value.replace("'", "'\\''") + "'";
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
    // The function prelude. Variables are global (POSIX sh has no "local"), so each function uses its own names.

    /** Logging, the home, processes, pid files, addresses and ports: shared by stop, kill, cleanup and status. */
    private static final String CORE = """

            say() { printf 'obplay: %s\\n' "$*"; }
            fail() { rc=$1; shift; say "FAILED: $*"; exit "$rc"; }
            # clean_path P: P is absolute, not /, and has no empty, . or .. segment
            clean_path() {
              case $1/ in /[!/]*) ;; *) return 1 ;; esac
              case $1/ in *//*|*/./*|*/../*) return 1 ;; esac
            }
            # check_home: refuse unless the home is a clean absolute path, also once resolved on this host; REAL_HOME is
            # the home with its symlinks resolved (processes show that path as their cwd and exe); SKIP holds this script
            # and the processes that started it (say, the ssh session's shell), never counted as the server's
            check_home() {
              clean_path "$HOME_DIR" || fail 3 "refusing: home '$HOME_DIR' is not a clean absolute path below /"
              REAL_HOME=$(cd -P -- "$HOME_DIR" 2>/dev/null && pwd -P) || REAL_HOME=$(readlink -f -- "$HOME_DIR" 2>/dev/null) || REAL_HOME=
              [ -n "$REAL_HOME" ] || REAL_HOME=$HOME_DIR
              clean_path "$REAL_HOME" || fail 3 "refusing: home $HOME_DIR really is '$REAL_HOME', not a clean absolute path below /"
              [ "$REAL_HOME" = "$HOME_DIR" ] || say "home $HOME_DIR is $REAL_HOME once symlinks are resolved: processes are matched against both"
              case $(printf '\\001\\000' | od -An -tx2 2>/dev/null) in *0100*) LE=0 ;; *) LE=1 ;; esac
              SKIP=' '; a=$$
              while [ "$a" -gt 1 ] 2>/dev/null; do
                SKIP="$SKIP$a "; a=$(awk '$1 == "PPid:" { print $2 }' "/proc/$a/status" 2>/dev/null)
              done
              OWN=
              HOME_UIDS=" $(id -u) $(stat -c %u -- "$REAL_HOME" 2>/dev/null) "
            }
            in_home() {
              case $1 in "$REAL_HOME"|"$REAL_HOME"/*|"$REAL_HOME (deleted)"|"$HOME_DIR"|"$HOME_DIR"/*) return 0 ;; esac
              return 1
            }
            # alive PID: the process exists and is not a zombie
            alive() {
              case $(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null) in ''|Z|X) return 1 ;; esac
            }
            # ours PID: the process is alive, its cwd or exe lies in the home and it runs as the server's user; sets CWD
            # and EXE either way
            ours() {
              CWD=$(readlink "/proc/$1/cwd" 2>/dev/null); EXE=$(readlink "/proc/$1/exe" 2>/dev/null)
              { in_home "$CWD" || in_home "$EXE"; } && alive "$1" && same_user "$1"
            }
            # same_user PID: PID runs as the login user, as the owner of the home, or as the owner of its cwd or exe in
            # the home; a process of another user (a log shipper working in the log dir) is someone else's
            same_user() {
              su_u=$(awk '$1 == "Uid:" { print $2 }' "/proc/$1/status" 2>/dev/null)
              [ -n "$su_u" ] || return 1
              case $HOME_UIDS in *" $su_u "*) return 0 ;; esac
              for su_f in "$CWD" "$EXE"; do
                if in_home "$su_f" && [ "$(stat -c %u -- "$su_f" 2>/dev/null)" = "$su_u" ]; then return 0; fi
              done
              return 1
            }
            # user_of PID: the name (else the number) of the user the process runs as
            user_of() {
              uo=$(awk '$1 == "Uid:" { print $2 }' "/proc/$1/status" 2>/dev/null)
              getent passwd "$uo" 2>/dev/null | awk -F: '{ print $1; exit }' | grep . || printf '%s\\n' "${uo:-?}"
            }
            ppid_of() { awk '$1 == "PPid:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
            comm_of() { cat "/proc/$1/comm" 2>/dev/null || printf '?'; }
            # describe PID: the process in words: exe, cwd, name, user and parent
            describe() {
              ours "$1"; dp=$(ppid_of "$1")
              printf 'pid %s (exe %s, cwd %s, name %s, user %s, parent pid %s %s)' "$1" "${EXE:-?}" "${CWD:-?}" "$(comm_of "$1")" \\
                "$(user_of "$1")" "${dp:-?}" "$(comm_of "${dp:-0}")"
            }
            # read_pid FILE: PID = the pid in FILE; returns 1 if there is no FILE, 2 if it holds no pid
            read_pid() {
              PID=
              [ -e "$1" ] || [ -L "$1" ] || return 1
              PID=$(sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1" 2>/dev/null)
              case $PID in ''|0*|*[!0-9]*) return 2 ;; esac
              [ ${#PID} -le 10 ] || return 2
            }
            # whose PID FILE: WHOSE is dead, ours (cwd or exe in the home), other (proved someone else's: its cwd is
            # readable and lies elsewhere, or it runs as another user than the one owning FILE) or unknown; WHY says so
            whose() {
              if ! alive "$1"; then WHOSE=dead; WHY="pid $1 is not running"; return 0; fi
              if ours "$1"; then WHOSE=ours; WHY="cwd $CWD, exe ${EXE:-?}"; return 0; fi
              wu=$(user_of "$1")
              if [ -n "$CWD" ]; then
                WHOSE=other; WHY="exe ${EXE:-?}, cwd $CWD, user $wu"
                if in_home "$CWD" || in_home "$EXE"; then WHY="$WHY: another user than the server's"; fi
                return 0
              fi
              wf=$(stat -c %u -- "$2" 2>/dev/null)
              if [ -n "$wf" ] && [ "$wf" != "$(awk '$1 == "Uid:" { print $2 }' "/proc/$1/status" 2>/dev/null)" ]; then
                WHOSE=other; WHY="it runs as user $wu, the pid file belongs to user id $wf"; return 0
              fi
              WHOSE=unknown; WHY="which runs as user $wu and whose cwd and exe user $(id -un 2>/dev/null) cannot read: obplay cannot tell whose it is"
            }
            # ADDR_AWK: awk functions for addresses. A key is an address as upper-case hex in network order: 8 digits for
            # IPv4 (and IPv4-mapped IPv6), 32 for IPv6
            ADDR_AWK='
            function hexval(s,  i, v) { v = 0; s = toupper(s); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return v }
            function swap(w) { return substr(w, 7, 2) substr(w, 5, 2) substr(w, 3, 2) substr(w, 1, 2) }
            function mapped(k) { return substr(k, 1, 24) == "00000000000000000000FFFF" ? substr(k, 25) : k }
            function wild(k) { return k == "00000000" || k == "00000000000000000000000000000000" }
            function procaddr(h,  k, i) {
              if (length(h) == 8) return le ? swap(h) : h
              k = ""; for (i = 0; i < 4; i++) k = k (le ? swap(substr(h, i * 8 + 1, 8)) : substr(h, i * 8 + 1, 8))
              return mapped(k)
            }
            function v4(t,  a, i, k) {
              if (split(t, a, ".") != 4) return ""
              k = ""; for (i = 1; i <= 4; i++) { if (a[i] !~ /^[0-9]+$/ || a[i] + 0 > 255) return ""; k = k sprintf("%02X", a[i] + 0) }
              return k
            }
            function grp(g) { if (g !~ /^[0-9A-Fa-f]+$/ || length(g) > 4) return ""; return toupper(substr("000" g, length(g), 4)) }
            function textaddr(t,  p, q, n, parts, a, b, nh, nt, i, g, k) {
              sub(/^\\[/, "", t); sub(/\\]$/, "", t); sub(/%.*/, "", t)
              if (t !~ /:/) return v4(t)
              if (t ~ /\\./) { p = t; sub(/.*:/, "", p); q = v4(p); if (q == "") return ""; t = substr(t, 1, length(t) - length(p)) substr(q, 1, 4) ":" substr(q, 5, 4) }
              n = split(t, parts, "::"); if (n > 2) return ""
              nh = parts[1] == "" ? 0 : split(parts[1], a, ":")
              nt = n == 2 && parts[2] != "" ? split(parts[2], b, ":") : 0
              if ((n == 1 && nh != 8) || (n == 2 && nh + nt > 7)) return ""
              k = ""
              for (i = 1; i <= nh; i++) { g = grp(a[i]); if (g == "") return ""; k = k g }
              if (n == 2) for (i = nh + nt; i < 8; i++) k = k "0000"
              for (i = 1; i <= nt; i++) { g = grp(b[i]); if (g == "") return ""; k = k g }
              return mapped(k)
            }
            function show(k,  i, g, out, best, bl, run, rs) {
              if (length(k) == 8) return hexval(substr(k, 1, 2)) "." hexval(substr(k, 3, 2)) "." hexval(substr(k, 5, 2)) "." hexval(substr(k, 7, 2))
              bl = 0; run = 0
              for (i = 0; i < 8; i++) {
                g[i] = tolower(substr(k, i * 4 + 1, 4)); sub(/^0+/, "", g[i]); if (g[i] == "") g[i] = "0"
                if (g[i] == "0") { if (!run) rs = i; run++; if (run > bl) { bl = run; best = rs } } else run = 0
              }
              out = ""
              for (i = 0; i < 8; i++) {
                if (bl >= 2 && i == best) { out = out "::"; i += bl - 1; continue }
                out = out (out == "" || out ~ /:$/ ? "" : ":") g[i]
              }
              return out
            }'
            # own_addrs PID...: OWN = the keys of the server's own addresses: its inventory host and what that resolves to
            # on this host, and every address the given live processes LISTEN on (their /proc/PID/fd and /proc/net/tcp*)
            own_addrs() {
              oa_ino=
              for oa_p in "$@"; do
                # shellcheck disable=SC2012
                oa_ino="$oa_ino $(ls -l "/proc/$oa_p/fd" 2>/dev/null | awk -F'socket:[[]' 'NF > 1 { sub(/[]].*/, "", $2); printf " %s", $2 }')"
              done
              OWN=$({
                { printf '%s\\n' "$HOST"; getent ahosts "$HOST" 2>/dev/null | awk '{ print $1 }'; } | awk "$ADDR_AWK"'
                  { k = textaddr($1); if (k != "") print k }'
                cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v le="$LE" -v ino="$oa_ino" "$ADDR_AWK"'
                  BEGIN { n = split(ino, x, " "); for (i = 1; i <= n; i++) want[x[i]] = 1 }
                  $4 == "0A" && ($10 in want) { print procaddr(substr($2, 1, index($2, ":") - 1)) }'
              } | awk '!($1 in s) { s[$1] = 1; o = o (o == "" ? "" : " ") $1 } END { print o }')
              OWN_SHOWN=$(awk -v own="$OWN" "$ADDR_AWK"'BEGIN { n = split(own, x, " "); for (i = 1; i <= n; i++) o = o (i > 1 ? ", " : "") show(x[i]); print o }')
            }
            # ports_listen [own|foreign|inodes]: the LISTEN sockets on PORTS, as "PORT on ADDRESS, ...": with own (the
            # default) on one of OWN or a wildcard address, with foreign on any other address (someone else's); with
            # inodes, the socket inodes of the own ones
            ports_listen() {
              cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v le="$LE" -v ports="$PORTS" -v own="$OWN" -v mode="${1:-own}" "$ADDR_AWK"'
                BEGIN { n0 = split(ports, p, " "); for (i = 1; i <= n0; i++) want[p[i]] = 1; n = split(own, o, " "); for (i = 1; i <= n; i++) mine[o[i]] = 1 }
                $4 == "0A" {
                  c = index($2, ":"); port = hexval(substr($2, c + 1)); if (!(port in want)) next
                  k = procaddr(substr($2, 1, c - 1)); is = wild(k) || (k in mine)
                  if (mode == "inodes") { if (is) out = out " " $10; next }
                  if ((mode == "own") != is) next
                  l = port " on " show(k); if (!(l in seen)) { seen[l] = 1; at[port] = at[port] (at[port] == "" ? "" : ", ") l }
                }
                END {
                  if (mode == "inodes") { print substr(out, 2); exit }
                  for (i = 1; i <= n0; i++) if (p[i] in at) out = out (out == "" ? "" : ", ") at[p[i]]
                  print out
                }'
            }
            # holders: say which processes hold the server's own LISTEN sockets; HOLDER is the first, in words
            holders() {
              HOLDER=''
              ho=$(ports_listen inodes)
              [ -n "$ho" ] || return 0
              # shellcheck disable=SC2012
              for hp in $(ls -l /proc/[0-9]*/fd 2>/dev/null | awk -v ino="$ho" '
                  BEGIN { n = split(ino, x, " "); for (i = 1; i <= n; i++) want["socket:[" x[i] "]"] = 1 }
                  /^\\/proc\\/[0-9]+\\/fd:$/ { split($0, f, "/"); pid = f[3]; next }
                  ($NF in want) && !(pid in seen) { seen[pid] = 1; print pid }'); do
                say "it is held by $(describe "$hp")"
                [ -n "$HOLDER" ] || HOLDER="pid $hp ($(comm_of "$hp"), parent pid $(ppid_of "$hp") $(comm_of "$(ppid_of "$hp")"))"
              done
            }
            # report_foreign: say which listeners on PORTS are someone else's (another address): not waited for
            report_foreign() {
              rf=$(ports_listen foreign)
              [ -z "$rf" ] || say "port(s) [$rf] LISTEN on addresses that are not $NAME's ($OWN_SHOWN or a wildcard address): someone else's, not waited for"
            }
            # home_procs: the pids of live processes whose cwd or exe lies in the home (declared or resolved), but SKIP
            home_procs() {
              hp=
              for p in $(home_candidates); do
                case $SKIP in *" $p "*) continue ;; esac
                if ours "$p"; then hp="$hp $p"; fi
              done
              printf '%s' "${hp# }"
            }
            # home_candidates: pids that may have their cwd or exe in the home (home_procs proves each with ours):
            # with GNU find, those whose cwd or exe link starts there, read in one pass; else every pid
            home_candidates() {
              if find /proc/self/cwd -maxdepth 0 -printf '' 2>/dev/null && [ "$(printf '%s%s' "$HOME_DIR" "$REAL_HOME" | wc -l)" -eq 0 ]; then
                find /proc/[0-9]*/cwd /proc/[0-9]*/exe -maxdepth 0 -printf '%p %l\\n' 2>/dev/null | H=$HOME_DIR R=$REAL_HOME awk '
                  function under(l, d) { return l == d || index(l, d "/") == 1 || l == d " (deleted)" }
                  { i = index($0, " "); link = substr($0, i + 1) }
                  under(link, ENVIRON["H"]) || under(link, ENVIRON["R"]) {
                    split(substr($0, 1, i - 1), f, "/"); if (f[3] ~ /^[0-9]+$/ && !(f[3] in seen)) { seen[f[3]] = 1; print f[3] }
                  }'
              else
                for pd in /proc/[0-9]*; do printf '%s\\n' "${pd#/proc/}"; done
              fi
            }
            # refuse_if_running PIDFILE...: refuse (exit 3) while a pid file names a live process of the server (or one
            # obplay cannot account for), a process runs under the home, or one of PORTS LISTENs on the server's addresses
            refuse_if_running() {
              for f in "$@"; do
                read_pid "$f"
                case $? in
                  0) whose "$PID" "$f"
                     case $WHOSE in
                       ours) fail 3 "refusing to delete anything: $NAME runs, pid $PID from $f" ;;
                       unknown) fail 3 "refusing to delete anything: pid file $f names pid $PID, $WHY" ;;
                     esac ;;
                  2) say "pid file $f does not hold a pid: the scan below decides" ;;
                esac
              done
              procs=$(home_procs)
              # shellcheck disable=SC2086
              own_addrs $procs
              busy=$(ports_listen)
              report_foreign
              for p in $procs; do say "running under $HOME_DIR: $(describe "$p")"; done
              [ -z "$procs$busy" ] || fail 3 "refusing to delete anything while $NAME runs: pid(s) [${procs:-none}] under $HOME_DIR, port(s) [${busy:-none}] LISTEN"
              say "$NAME is not running: nothing runs under $HOME_DIR, no port LISTENs"
            }
            """;

    /** Signalling, waiting and settling: stop and kill. */
    private static final String STOP = """
            now() { read -r up _ < /proc/uptime; NOW=$(( ${up%.*} * 100 + 1${up#*.} - 100 )); }  # in 1/100 s
            secs() { printf '%d.%ds' $(( $1 / 100 )) $(( $1 % 100 / 10 )); }
            bad_pid_file() { fail 1 "pid file $1 does not hold a pid: '$(head -c 64 -- "$1" 2>/dev/null | tr -c '[:print:]' '?')'"; }
            # proved PID WHAT: PID is still this server's WHAT (obproxyd: is_daemon too)
            proved() { ours "$1" || { [ "$2" = obproxyd ] && is_daemon "$1"; }; }
            # send SIGNAL PID WHAT [group]: send SIGNAL to PID if it is still proved (to its process group with "group",
            # when PID leads it)
            send() {
              proved "$2" "$3" || return 0
              if [ "${4:-}" = group ] && [ "$(sed 's/.*) //' "/proc/$2/stat" 2>/dev/null | awk '{ print $3 }')" = "$2" ]; then
                say "sending $1 to the process group of $3 pid $2"; kill -s "$1" -- "-$2" 2>/dev/null
              else
                say "sending $1 to $3 pid $2"; kill -s "$1" "$2" 2>/dev/null
              fi || ! alive "$2" || fail 1 "could not send $1 to $3 pid $2"
            }
            # find_servers WHAT FILE...: SPIDS = the live processes of the server that the pid files name, once proved
            find_servers() {
              fs_what=$1; shift
              for f in "$@"; do
                read_pid "$f"
                case $? in 1) say "no pid file $f"; continue ;; 2) bad_pid_file "$f" ;; esac
                whose "$PID" "$f"
                case $WHOSE in
                  ours) say "$fs_what pid $PID is this server's ($WHY), from $f"; case " ${SPIDS:-} " in *" $PID "*) ;; *) SPIDS="${SPIDS:-} $PID"; SPIDS=${SPIDS# } ;; esac ;;
                  dead) say "stale pid file $f: pid $PID is not running" ;;
                  other) say "pid file $f names pid $PID, which is not this server's ($WHY): not signalling it" ;;
                  unknown) fail 3 "refusing to signal anything: pid file $f names pid $PID, $WHY; the pid file is kept" ;;
                esac
              done
            }
            # descends PID: PID is a child (or later descendant) of one of SPIDS and DPIDS, or in the process group of one
            descends() {
              ds_p=$1
              ds_g=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $3 }')
              case " ${SPIDS:-} ${DPIDS:-} " in *" $ds_g "*) return 0 ;; esac
              while [ "$ds_p" -gt 1 ] 2>/dev/null; do
                ds_p=$(ppid_of "$ds_p")
                case " ${SPIDS:-} ${DPIDS:-} " in *" $ds_p "*) return 0 ;; esac
              done
              return 1
            }
            # descendants PID: the live children of PID, and theirs, whose cwd or exe lies in the home (not those of the
            # server's own pids, SPIDS, which are stopped as the server)
            descendants() {
              for cp in $(home_procs); do
                cq=$cp
                while [ "$cq" -gt 1 ] 2>/dev/null; do
                  cq=$(ppid_of "$cq")
                  case " ${SPIDS:-} " in *" $cq "*) break ;; esac
                  if [ "$cq" = "$1" ]; then printf '%s ' "$cp"; break; fi
                done
              done
            }
            # freeze PID WHAT: STOP PID (once proved) and wait up to 1 s until it is stopped, so that it forks nothing
            # more while its descendants are read
            freeze() {
              send STOP "$1" "$2"
              fz_n=0
              while [ "$fz_n" -lt 10 ] && alive "$1"; do
                case $(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null) in T|t) return 0 ;; esac
                fz_n=$((fz_n + 1)); sleep 0.1
              done
            }
            # gone PID...: none of them is alive
            gone() { for gp in "$@"; do if alive "$gp"; then return 1; fi; done; }
            # wait_gone LIMIT pids|ports PID...: poll every 0.1 s, up to LIMIT/100 s, until every PID is gone (or a
            # zombie) and, with "ports", none of PORTS LISTENs on the server's addresses; fails (1) at once when a process of
            # the server that obplay did not know of starts under the home (a respawn); returns 1 on timeout
            wait_gone() {
              now; wg_end=$((NOW + $1)); wg_m=$2; shift 2; wg_n=0
              while ! gone "$@" || { [ "$wg_m" = ports ] && [ -n "$(ports_listen)" ]; }; do
                wg_n=$((wg_n + 1))
                if [ $((wg_n % 5)) -eq 0 ] && gone "$@"; then check_respawn; fi
                now; [ "$NOW" -lt "$wg_end" ] || return 1
                sleep 0.1
              done
            }
            # check_respawn: fail (1) when a process runs under the home that was not there at the start and is no child
            # of the server's
            check_respawn() {
              for cr in $(home_procs); do
                case " $KNOWN " in *" $cr "*) continue ;; esac
                descends "$cr" || came_back "$cr" ""
              done
            }
            # came_back PIDS PORTS: fail (1) naming what runs again
            came_back() {
              for cb in $1; do say "came back: $(describe "$cb")"; done
              HOLDER=''
              if [ -n "$2" ]; then say "port(s) [$2] LISTEN again"; holders; fi
              cb=${1%% *}
              if [ -n "$cb" ]; then
                fail 1 "not stopped: pid $cb ($(comm_of "$cb"), parent pid $(ppid_of "$cb") $(comm_of "$(ppid_of "$cb")")) runs under $HOME_DIR again${2:+, port(s) [$2] LISTEN}"
              fi
              fail 1 "not stopped: port(s) [$2] LISTEN again on $NAME's addresses${HOLDER:+, held by $HOLDER}"
            }
            # settle: for SETTLE/100 s, poll every 0.2 s: fail (1) as soon as a process runs under the home or one of
            # PORTS LISTENs on the server's addresses
            settle() {
              now; st_end=$((NOW + SETTLE))
              while :; do
                st_p=$(home_procs); st_b=$(ports_listen)
                [ -z "$st_p$st_b" ] || came_back "$st_p" "$st_b"
                now; [ "$NOW" -lt "$st_end" ] || return 0
                sleep 0.2
              done
            }
            # tidy_pid_files FILE...: remove each pid file whose pid is proved dead or someone else's; keep the others
            tidy_pid_files() {
              for f in "$@"; do
                read_pid "$f" || continue
                whose "$PID" "$f"
                case $WHOSE in
                  dead|other) if rm -f -- "$f"; then say "removed pid file $f"; else say "warning: could not remove pid file $f"; fi ;;
                  *) say "kept pid file $f: pid $PID ($WHY)" ;;
                esac
              done
            }
            # stop_found WHAT SIGNAL pid|group: stop what find_servers and find_daemons found: refuse (3) while processes
            # run under the home that are none of them nor their children, or ports LISTEN that no pid file accounts for;
            # KILL the watchdogs first; SIGNAL the server, KILL it once GRACE is over; then wait for every one of them to be
            # gone and PORTS released, and for SETTLE more; DONE says how it went
            stop_found() {
              now; t0=$NOW
              kids='' others=''
              for p in $(home_procs); do
                case " ${SPIDS:-} ${DPIDS:-} " in *" $p "*) continue ;; esac
                if descends "$p"; then kids="$kids $p"; else others="$others $p"; fi
              done
              KNOWN="${SPIDS:-} ${DPIDS:-} $kids $others"
              # shellcheck disable=SC2086
              own_addrs ${SPIDS:-} ${DPIDS:-} $kids
              say "$NAME's addresses: ${OWN_SHOWN:-none} (and any wildcard address)"
              busy=$(ports_listen)
              report_foreign
              others=${others# }
              if [ -n "$others" ] || { [ -z "${SPIDS:-}" ] && [ -n "$busy" ]; }; then
                for p in $others; do say "running under $HOME_DIR: $(describe "$p")"; done
                [ -z "$busy" ] || holders
                if [ -z "${SPIDS:-}" ]; then
                  fail 3 "refusing to signal anything: $1 has no valid pid file, yet pid(s) [${others:-none}] run under $HOME_DIR and port(s) [${busy:-none}] LISTEN"
                fi
                fail 3 "refusing to signal anything: pid(s) [$others] run under $HOME_DIR and are neither $1 pid(s) [$SPIDS] from its pid file, nor its watchdog, nor their children: stop them first"
              fi
              if [ -z "${SPIDS:-}${DPIDS:-}$kids" ]; then
                settle
                DONE="$1 $NAME already stopped: nothing runs under $HOME_DIR, no port LISTENs (for the $(secs "$SETTLE") settle period)"
                return 0
              fi
              for d in ${DPIDS:-}; do
                freeze "$d" obproxyd
                sf_k=$(descendants "$d")
                send KILL "$d" obproxyd
                for k in $sf_k; do case " ${SPIDS:-} " in *" $k "*) ;; *) send KILL "$k" "child of obproxyd" ;; esac; done
              done
              # shellcheck disable=SC2086
              [ -z "${DPIDS:-}" ] || wait_gone "$KILL_WAIT" pids $DPIDS || fail 4 "timed out: obproxyd pid(s) [$(for d in $DPIDS; do alive "$d" && printf '%s ' "$d"; done)] still run"
              for p in ${SPIDS:-}; do send "$2" "$p" "$1" "$3"; done
              # shellcheck disable=SC2086
              if [ "$2" = TERM ] && ! wait_gone "$GRACE" ports ${SPIDS:-}; then
                for p in ${SPIDS:-}; do
                  if alive "$p"; then say "$1 pid $p still runs after the $(secs "$GRACE") grace period"; send KILL "$p" "$1" "$3"; fi
                done
              fi
              # shellcheck disable=SC2086
              if ! wait_gone "$KILL_WAIT" ports ${SPIDS:-} $kids; then
                for p in $(home_procs); do say "running under $HOME_DIR: $(describe "$p")"; done
                for p in ${SPIDS:-} $kids; do if alive "$p"; then fail 4 "timed out: $1 pid $p still runs"; fi; done
                busy=$(ports_listen); holders
                fail 4 "timed out: $1 pid(s) [${SPIDS:-}] gone but port(s) [$busy] still LISTEN"
              fi
              settle
              now; DONE="stopped $NAME pid ${SPIDS:-none} in $(secs $((NOW - t0))); then nothing ran under $HOME_DIR and no port LISTENed for the $(secs "$SETTLE") settle period"
            }
            """;

    /** obproxy's watchdog: found by its pid files and by what it is. */
    private static final String DAEMON = """
            # is_daemon PID: PID is an obproxyd of this home: named obproxyd or obproxyd.sh (its name, its argv[0], or the
            # script a shell runs), with its cwd, its exe or that script in the home
            is_daemon() {
              alive "$1" || return 1
              id_0=$(tr '\\0' '\\n' 2>/dev/null < "/proc/$1/cmdline" | awk '{ print; exit }')
              id_s=$(tr '\\0' '\\n' 2>/dev/null < "/proc/$1/cmdline" | awk 'NR > 1 && !/^-/ { print; exit }')
              id_n=; id_sh=
              case $(comm_of "$1") in obproxyd|obproxyd.sh) id_n=1 ;; esac
              case ${id_0##*/} in
                obproxyd|obproxyd.sh) id_n=1 ;;
                sh|bash|dash|ash|ksh|mksh|zsh|busybox) case ${id_s##*/} in obproxyd|obproxyd.sh) id_n=1; id_sh=$id_s ;; esac ;;
              esac
              [ -n "$id_n" ] || return 1
              ours "$1" && return 0
              [ -n "$id_sh" ] || return 1
              case $id_sh in /*) ;; *) id_sh=${CWD:-}/$id_sh ;; esac
              in_home "$id_sh" || in_home "$(readlink -f -- "$id_sh" 2>/dev/null)" || return 1
              id_u=$(awk '$1 == "Uid:" { print $2 }' "/proc/$1/status" 2>/dev/null)
              case $HOME_UIDS in *" $id_u "*) return 0 ;; esac
              [ -n "$id_u" ] && [ "$(stat -L -c %u -- "$id_sh" 2>/dev/null)" = "$id_u" ]
            }
            # find_daemons FILE...: DPIDS = the obproxyd watchdogs of this obproxy: the pid in each FILE once proved, and
            # every live process that is_daemon finds, whatever its pid file says; says how each one was found
            find_daemons() {
              for f in "$@"; do
                read_pid "$f"
                case $? in 1) say "no obproxyd pid file $f"; continue ;; 2) bad_pid_file "$f" ;; esac
                whose "$PID" "$f"
                if [ "$WHOSE" = ours ] || is_daemon "$PID"; then
                  say "obproxyd pid $PID from $f is this server's watchdog (exe ${EXE:-?}, cwd ${CWD:-?})"; case " ${DPIDS:-} " in *" $PID "*) ;; *) DPIDS="${DPIDS:-} $PID"; DPIDS=${DPIDS# } ;; esac
                else
                  case $WHOSE in
                    dead) say "stale pid file $f: pid $PID is not running" ;;
                    other) say "obproxyd pid file $f names pid $PID, which is not this server's ($WHY): not signalling it" ;;
                    unknown) fail 3 "refusing to signal anything: obproxyd pid file $f names pid $PID, $WHY; the pid file is kept" ;;
                  esac
                fi
              done
              # shellcheck disable=SC2013
              for p in $(grep -l -e obproxyd /proc/[0-9]*/comm /proc/[0-9]*/cmdline 2>/dev/null | awk -F/ '!s[$3]++ { print $3 }'); do
                case "$SKIP ${DPIDS:-} " in *" $p "*) continue ;; esac
                if is_daemon "$p"; then
                  say "obproxyd pid $p found by what it is: name $(comm_of "$p"), exe ${EXE:-?}, cwd ${CWD:-?}"; DPIDS="${DPIDS:-} $p"; DPIDS=${DPIDS# }
                fi
              done
              [ -n "${DPIDS:-}" ] || say "no obproxyd watchdog of $HOME_DIR runs (by its pid files, and by name with its cwd, exe or script in the home)"
            }
            """;

    /** Checking and cleaning paths. */
    private static final String CLEANUP = """
            # real_path P: RP = P with the symlinks of its parent directories resolved (P itself stays as it is)
            real_path() {
              rp=$(cd -P -- "${1%/*}/" 2>/dev/null && pwd -P && echo .) || return 1
              rp=${rp%??}; RP=${rp%/}/${1##*/}
            }
            # real_dir P: RD = the directory P is or names, every symlink resolved
            real_dir() { rd=$(cd -P -- "$1" 2>/dev/null && pwd -P && echo .) || return 1; RD=${rd%??}; }
            # unsafe D: D is /, a system directory, or holds the server's home; UNSAFE says which
            unsafe() {
              UNSAFE=$1
              clean_path "$1" || return 0
              case $1 in
                /bin|/boot|/dev|/etc|/home|/lib|/lib32|/lib64|/libx32|/media|/mnt|/opt|/proc|/root|/run|/sbin|/srv|/sys|/tmp|/usr|/var|/proc/*|/sys/*|/dev/*)
                  UNSAFE="the system directory $1"; return 0 ;;
              esac
              if real_dir "$HOME_DIR"; then
                case $RD in "$1"/*) UNSAFE="$1, which holds the home $RD"; return 0 ;; esac
              fi
              return 1
            }
            # safe_target P D: refuse (exit 3) to clean D, what the declared directory P is or names, if it is unsafe
            safe_target() { if unsafe "$2"; then fail 3 "refusing to delete $1: it is, or links to, $UNSAFE"; fi; }
            # check_path N P: refuse (exit 3) unless P is a clean absolute path, not /, in the declared directories
            # as written and as it really is; sets T_N (what cleaning P acts on) and K_N (how: dir, link, dangling,
            # unreachable or path)
            check_path() {
              case $2 in
                '') fail 3 "refusing to delete an empty path" ;;
                /) fail 3 "refusing to delete /" ;;
                /*) clean_path "$2" || fail 3 "refusing to delete $2: it has an empty, . or .. segment" ;;
                *) fail 3 "refusing to delete $2: not an absolute path" ;;
              esac
              in_dirs "$2" || fail 3 "refusing to delete $2: it is not in $NAME's declared directories"
              ck='path' ct=''
              if [ ! -e "$2" ] && [ ! -L "$2" ]; then
                :  # absent: nothing to check or delete
              elif in_dirs "$2" exact && [ -L "$2" ] && [ ! -e "$2" ]; then
                ck='dangling'; if real_path "$2"; then ct=$RP; fi
              elif in_dirs "$2" exact && [ -d "$2" ]; then
                # a declared directory: it, or the directory its symlink names
                if real_dir "$2"; then
                  ct=$RD; ck='dir'; if [ -L "$2" ]; then ck='link'; fi
                  safe_target "$2" "$ct"
                else
                  ck='unreachable' ct=$2
                fi
              elif real_path "$2"; then
                ct=$RP
                in_dirs "$ct" real || fail 3 "refusing to delete $2: it really is $ct, outside the declared directories"
              fi
              eval "T_$1=\\$ct K_$1=\\$ck"
            }
            # is_mount P: P is a mount point (/proc/mounts writes space, tab, newline and \\ as \\040 \\011 \\012 \\134)
            is_mount() {
              P=$1 awk '
                function unescape(s,  o, i) {
                  o = ""
                  while ((i = index(s, "\\\\")) > 0) {
                    o = o substr(s, 1, i - 1) sprintf("%c", substr(s, i + 1, 1) * 64 + substr(s, i + 2, 1) * 8 + substr(s, i + 3, 1))
                    s = substr(s, i + 4)
                  }
                  return o s
                }
                unescape($2) == ENVIRON["P"] { found = 1 }
                END { exit !found }' /proc/mounts
            }
            # empty_dir D: remove everything in D (symlinks as links, never crossing into another file system);
            # returns 1, with the first error in EMPTY_ERR, unless D is then empty
            empty_dir() {
              EMPTY_ERR=
              for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
                if [ -e "$e" ] || [ -L "$e" ]; then
                  if ! em=$(rm -rf --one-file-system -- "$e" 2>&1); then
                    [ -n "$EMPTY_ERR" ] || EMPTY_ERR=$(printf '%s\\n' "${em:-rm failed on $e}" | head -n 1)
                  fi
                fi
              done
              left=$(ls -A -- "$1" 2>&1) || EMPTY_ERR=${EMPTY_ERR:-$(printf '%s\\n' "$left" | head -n 1)}
              [ -z "$left" ] && [ -z "$EMPTY_ERR" ] && return 0
              [ -n "$EMPTY_ERR" ] || EMPTY_ERR="still holds $(printf '%s\\n' "$left" | head -n 1)"
              return 1
            }
            # remove_dir P D link|dir: remove the directory D (that P is, or that P's symlink names) and then P's link;
            # a mount point, or a directory its parent does not let go, is emptied and kept, with the link to it
            remove_dir() {
              kib=$(du -skx -- "$2" 2>/dev/null | awk '{ print $1 }')
              what=$1 size="${kib:-?} KiB"
              if [ "$3" = link ]; then what=$2 size="$size, the directory that the symlink $1 names"
              elif [ "$1" != "$2" ]; then size="$size, really $2"; fi
              if is_mount "$2"; then
                empty_dir "$2" || { say "could not empty mount point $what: $EMPTY_ERR"; return 1; }
                say "emptied mount point $what ($size); the mount stays"
                return 0
              fi
              empty_dir "$2" || { say "could not empty $what: $EMPTY_ERR"; return 1; }
              if [ "$3" = link ] && real_path "$1" && [ ! -w "${RP%/*}/" ]; then
                say "emptied $what ($size) and kept it, with the symlink: the symlink's directory is not writable"
                return 0
              fi
              if ! rderr=$(rmdir -- "$2" 2>&1); then
                say "emptied $what ($size) and kept it: its parent does not let it go (${rderr##*: })"
                return 0
              fi
              if [ "$3" = link ]; then
                rm -f -- "$1" || { say "removed $what ($size), but could not remove the symlink"; return 1; }
                say "removed $what ($size), then the symlink"
              else
                say "removed $what ($size)"
              fi
            }
            # remove_entry P T: remove T, which P (not a declared directory) really is; a symlink goes as a link
            remove_entry() {
              if [ -L "$2" ]; then
                target=$(readlink -- "$2")
                rm -f -- "$2" || { say "could not remove the symlink $1"; return 1; }
                say "removed symlink $1; its target $target stays"
              elif [ -d "$2" ]; then
                remove_dir "$1" "$2" dir
              elif [ -e "$2" ]; then
                kib=$(du -skx -- "$2" 2>/dev/null | awk '{ print $1 }')
                rmerr=$(rm -f -- "$2" 2>&1) || { say "could not remove $1: $rmerr"; return 1; }
                say "removed $1 (${kib:-?} KiB)"
              else
                say "absent: $1"
              fi
            }
            # holds_failed_link D: a symlink on the way to a path that was not cleaned lies in D (or is D): set
            # KEPT_LINK and KEPT_FOR
            holds_failed_link() {
              for f in $NOT_DONE; do
                hw=''; eval "hw=\\$W_$f"
                hq='' hr=${hw#/}
                while [ -n "$hr" ]; do
                  hq=$hq/${hr%%/*}; case $hr in */*) hr=${hr#*/} ;; *) hr= ;; esac
                  if [ -L "$hq" ] && real_path "$hq"; then
                    case $RP in "$1"|"$1"/*) KEPT_LINK=$RP KEPT_FOR=$hw; return 0 ;; esac
                  fi
                done
              done
              return 1
            }
            # clean N P: clean P as check_path N P found it; says what became of it, returns 1 if it is not done
            clean() {
              eval "ct=\\$T_$1 ck=\\$K_$1"
              if [ -n "$ct" ] && holds_failed_link "$ct"; then
                if [ "$KEPT_LINK" = "$KEPT_FOR" ]; then
                  say "kept $2 for a second run: it holds the symlink $KEPT_FOR, which was not cleaned"
                else
                  say "kept $2 for a second run: it holds the symlink $KEPT_LINK on the way to $KEPT_FOR, which was not cleaned"
                fi
                return 1
              fi
              case $ck in
                unreachable) say "could not clean $2: it cannot be entered"; return 1 ;;
                dangling)
                  target=$(readlink -- "$2")
                  case $target in /*) ;; *) target=${ct%/*}/$target ;; esac
                  if real_dir "${target%/*}/" && [ ! -e "$target" ] && [ ! -L "$target" ]; then
                    if [ -n "$ct" ] && [ ! -w "${ct%/*}/" ]; then
                      say "kept the symlink $2: the directory it named, $target, is gone, and the symlink's directory is not writable"
                      return 0
                    fi
                    rm -f -- "$2" || { say "could not remove the symlink $2"; return 1; }
                    say "removed the symlink $2: the directory it named, $target, is gone"
                  else
                    say "could not clean $2: it links to $target, which cannot be reached"; return 1
                  fi ;;
                dir|link)
                  if [ -d "$ct" ]; then remove_dir "$2" "$ct" "$ck"; else say "absent: $2"; fi ;;
                *)
                  if [ -n "$ct" ]; then remove_entry "$2" "$ct"; else say "absent: $2"; fi ;;
              esac
            }
            NOT_DONE='' NOT_DONE_COUNT=0 NOT_DONE_LIST=''
            # not_done N P: remember that P was not cleaned
            not_done() {
              eval "W_$1=\\$2"; NOT_DONE="$NOT_DONE $1"; NOT_DONE_COUNT=$((NOT_DONE_COUNT + 1))
              NOT_DONE_LIST="$NOT_DONE_LIST${NOT_DONE_LIST:+, }$2"
            }
            # finish COUNT: exit 1 if a path was not cleaned, else say done
            finish() {
              [ "$NOT_DONE_COUNT" -eq 0 ] || fail 1 "cleanup of $NAME: $NOT_DONE_COUNT of $1 path(s) not done: $NOT_DONE_LIST; run it again once the cause above is fixed"
              say "cleanup of $NAME done"
            }
            """;

    /** The read-only status report. */
    private static final String STATUS = """
            # status_report PIDFILE...: what runs of the server, read only: its home, what each pid file names and whose it
            # is, the processes under the home and its ports (on its own addresses, and others' on the same numbers)
            status_report() {
              LC_ALL=C; export LC_ALL
              cd / || return 0  # the shell step runs in the home: this report's own processes must not be there
              if [ -d "$HOME_DIR" ]; then say "home $HOME_DIR is there"; else say "home $HOME_DIR does not exist"; fi
              check_home
              for f in "$@"; do
                read_pid "$f"
                case $? in
                  1) say "no pid file $f" ;;
                  2) say "$f: does not hold a pid" ;;
                  0) whose "$PID" "$f"
                     case $WHOSE in
                       ours) say "$f: pid $PID runs ($(comm_of "$PID"), cwd ${CWD:-?}): this server's" ;;
                       dead) say "$f: pid $PID does not run (a stale pid file)" ;;
                       other) say "$f: pid $PID runs ($(comm_of "$PID")) but is not this server's: $WHY" ;;
                       unknown) say "$f: pid $PID runs ($(comm_of "$PID")), $WHY" ;;
                     esac ;;
                esac
              done
              procs=$(home_procs)
              for p in $procs; do say "running under $HOME_DIR: $(describe "$p")"; done
              # shellcheck disable=SC2086
              own_addrs $procs
              busy=$(ports_listen)
              report_foreign
              if [ -n "$busy" ]; then say "port(s) [$busy] LISTEN on $NAME's addresses (${OWN_SHOWN:-none} or a wildcard address)"; holders
              else say "no port of $NAME LISTENs on its addresses (${OWN_SHOWN:-none} or a wildcard address)"; fi
              return 0
            }
            """;
}
