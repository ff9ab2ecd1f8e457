package io.obplay.plan;

import io.obplay.inventory.Role;
import io.obplay.inventory.Server;

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
 *   <li>{@value #FAILED}: failed (a pid file that holds no pid, a signal that did not work; cleanup: a path that
 *       was not cleaned, after every other path was);</li>
 *   <li>{@value #REFUSED}: refused for safety, nothing was signalled or deleted (a process or a LISTENing port
 *       that the pid file does not account for; a path that is relative, {@code /}, has {@code ..}, or lies
 *       outside the server's declared directories; a declared directory that is, or links to, {@code /}, a
 *       system directory or a directory that holds the home; cleanup while the server runs);</li>
 *   <li>{@value #TIMEOUT}: timed out waiting for the process to end and its ports to be released.</li>
 * </ul>
 * A shell step exits with its command's status.
 *
 * <p>A script reads of its server only the role, name, home, ports, pid files and declared directories, and the
 * name only as {@code NAME=}{@link #quote quote(name)}: {@link LazyPlan} writes large plans by reusing one
 * server's script for the alike servers of a step, with each one's quoted name put in (and checks this on a
 * sample of them, falling back to each server's own script if it does not hold).
 *
 * <p>A process is the server's only when it is proved: {@code /proc/<pid>} exists, is not a zombie, and its cwd
 * or exe is the home or lies under {@code home + "/"}. A pid that is not proved is never signalled.
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
            default -> throw new IllegalArgumentException("no script library '" + name + "'");
        };
    }

    private static String marker(String library) {
        return "\n" + MARKER + library + "\n\n";
    }

    /** TERM the server (obproxy: KILL obproxyd first), KILL it after {@code grace}, wait up to {@code killWait}. */
    public static Script stop(Server s, Duration grace, Duration killWait) {
        checkDuration(grace, "grace");
        checkDuration(killWait, "killWait");
        return processScript(s, "stop", "TERM", grace, killWait);
    }

    /** KILL the server at once (obproxy: obproxyd first) and wait up to {@code killWait}. */
    public static Script kill(Server s, Duration killWait) {
        checkDuration(killWait, "killWait");
        return processScript(s, "kill", "KILL", Duration.ZERO, killWait);
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

    // ------------------------------------------------------------------------------------------------------------

    private static Script processScript(Server s, String step, String firstSignal, Duration grace, Duration killWait) {
        String what = s.role().processName();
        String pidFile = pidFile(s, "server");
        String daemonFile = s.role() == Role.OBPROXY ? s.pidFiles().get("daemon") : null;
        String group = s.role() == Role.OBPROXY ? "group" : "pid";
        String home = trimSlashes(s.home());
        String proof = " (proved by cwd/exe under " + home + ")";
        boolean term = firstSignal.equals("TERM");

        List<String> signals = new ArrayList<>();
        List<String> purpose = new ArrayList<>();
        if (daemonFile != null) {
            purpose.add("KILL obproxyd first (it would respawn obproxy), then");
            signals.add("KILL obproxyd pid from " + daemonFile + proof + ", first: it would respawn obproxy");
        }
        String groupWords = s.role() == Role.OBPROXY ? "; its whole process group if it leads one" : "";
        signals.add(firstSignal + " " + what + " pid from " + pidFile + proof + groupWords);
        if (term) {
            signals.add("KILL " + what + " after " + words(grace) + " grace if still running");
            purpose.add("TERM the " + what + " named in its pid file once it is proved to be this server's, KILL it "
                    + "after the grace period;");
        } else {
            purpose.add("KILL the " + what + " named in its pid file once it is proved to be this server's;");
        }
        purpose.add("done when it is gone and none of its ports LISTENs.");

        StringBuilder b = header(s, step, purpose);
        b.append("PID_FILE=").append(quote(pidFile)).append('\n');
        if (daemonFile != null) {
            b.append("DAEMON_PID_FILE=").append(quote(daemonFile)).append('\n');
        }
        if (term) {
            b.append("GRACE=").append(centis(grace)).append("  # 1/100 s: ").append(words(grace)).append('\n');
        }
        b.append("KILL_WAIT=").append(centis(killWait)).append("  # 1/100 s: ").append(words(killWait)).append('\n');
        b.append(marker(daemonFile != null ? STOP_OBPROXY_LIBRARY : STOP_LIBRARY));
        b.append("cd / || exit 1\ncheck_home\n");
        if (term) {
            b.append("say \"stopping " + what + " $NAME (home $HOME_DIR, ports $PORTS): TERM, KILL after $(secs \"$GRACE\")\"\n");
        } else {
            b.append("say \"killing " + what + " $NAME (home $HOME_DIR, ports $PORTS)\"\n");
        }
        if (daemonFile != null) {
            b.append("kill_daemon \"$DAEMON_PID_FILE\"\n");
        }
        b.append("stop_server ").append(what).append(" \"$PID_FILE\" ").append(firstSignal).append(' ').append(group)
                .append('\n');
        return new Script(b.toString(), signals, List.of(), daemonFile != null ? STOP_OBPROXY_LIBRARY : STOP_LIBRARY);
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
        b.append("HOME_DIR=").append(quote(home)).append('\n');
        StringBuilder ports = new StringBuilder();
        StringBuilder names = new StringBuilder();
        for (Map.Entry<String, Integer> e : s.ports().entrySet()) {
            int port = e.getValue();
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port " + e.getKey() + " of " + s.name() + " is out of range: " + port);
            }
            ports.append(ports.length() == 0 ? "" : " ").append(port);
            names.append(names.length() == 0 ? "" : " ").append(commentSafe(e.getKey()));
        }
        b.append("PORTS='").append(ports).append("'");
        b.append(names.length() == 0 ? "\n" : "  # " + names + "\n");
        return b;
    }

    private static String pidFile(Server s, String role) {
        String f = s.pidFiles().get(role);
        if (f == null || f.isEmpty()) {
            throw new IllegalArgumentException(s.name() + " has no '" + role + "' pid file");
        }
        return f;
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

    /** Logging, the home, processes and ports: shared by stop, kill and cleanup. */
    private static final String CORE = """

            say() { printf 'obplay: %s\\n' "$*"; }
            fail() { rc=$1; shift; say "FAILED: $*"; exit "$rc"; }
            # clean_path P: P is absolute, not /, and has no empty, . or .. segment
            clean_path() {
              case $1/ in /[!/]*) ;; *) return 1 ;; esac
              case $1/ in *//*|*/./*|*/../*) return 1 ;; esac
            }
            check_home() { clean_path "$HOME_DIR" || fail 3 "refusing: home '$HOME_DIR' is not a clean absolute path below /"; }
            in_home() { case $1 in "$HOME_DIR"|"$HOME_DIR"/*) return 0 ;; esac; return 1; }
            # alive PID: the process exists and is not a zombie
            alive() {
              case $(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null) in ''|Z|X) return 1 ;; esac
            }
            # ours PID: the process is alive and its cwd or exe lies in the home; sets CWD and EXE either way
            ours() {
              CWD=$(readlink "/proc/$1/cwd" 2>/dev/null); EXE=$(readlink "/proc/$1/exe" 2>/dev/null)
              { in_home "$CWD" || in_home "$EXE"; } && alive "$1"
            }
            describe() { ours "$1"; printf 'pid %s (exe %s, cwd %s)' "$1" "${EXE:-?}" "${CWD:-?}"; }
            # read_pid FILE: PID = the pid in FILE; returns 1 if there is no FILE, 2 if it holds no pid
            read_pid() {
              PID=
              [ -e "$1" ] || [ -L "$1" ] || return 1
              PID=$(sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1" 2>/dev/null)
              case $PID in ''|0*|*[!0-9]*) return 2 ;; esac
              [ ${#PID} -le 10 ] || return 2
            }
            # listening: those of PORTS that a socket LISTENs on (state 0A in /proc/net/tcp and tcp6, port in hex)
            listening() {
              cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v ports="$PORTS" '
                $4 == "0A" {
                  h = substr($2, index($2, ":") + 1); v = 0
                  for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1
                  busy[v] = 1
                }
                END { n = split(ports, p, " "); for (i = 1; i <= n; i++) if (p[i] in busy) out = out " " p[i]; print substr(out, 2) }'
            }
            # home_procs: the pids of processes whose cwd or exe lies in the home, except this script and the
            # processes that started it (say, the ssh session's shell)
            home_procs() {
              skip=' '; a=$$
              while [ "$a" -gt 1 ] 2>/dev/null; do
                skip="$skip$a "; a=$(awk '$1 == "PPid:" { print $2 }' "/proc/$a/status" 2>/dev/null)
              done
              hp=
              for p in $(home_candidates); do
                case $skip in *" $p "*) continue ;; esac
                if ours "$p"; then hp="$hp $p"; fi
              done
              printf '%s' "${hp# }"
            }
            # home_candidates: pids that may have their cwd or exe in the home (home_procs proves each with ours):
            # with GNU find, those whose cwd or exe link starts there, read in one pass; else every pid
            home_candidates() {
              if find /proc/self/cwd -maxdepth 0 -printf '' 2>/dev/null && [ "$(printf '%s' "$HOME_DIR" | wc -l)" -eq 0 ]; then
                find /proc/[0-9]*/cwd /proc/[0-9]*/exe -maxdepth 0 -printf '%p %l\\n' 2>/dev/null | H=$HOME_DIR awk '
                  { i = index($0, " "); link = substr($0, i + 1) }
                  link == ENVIRON["H"] || index(link, ENVIRON["H"] "/") == 1 {
                    split(substr($0, 1, i - 1), f, "/"); if (f[3] ~ /^[0-9]+$/ && !(f[3] in seen)) { seen[f[3]] = 1; print f[3] }
                  }'
              else
                for pd in /proc/[0-9]*; do printf '%s\\n' "${pd#/proc/}"; done
              fi
            }
            """;

    /** Signalling and waiting: stop and kill. */
    private static final String STOP = """
            now() { read -r up _ < /proc/uptime; NOW=$(( ${up%.*} * 100 + 1${up#*.} - 100 )); }  # in 1/100 s
            secs() { printf '%d.%ds' $(( $1 / 100 )) $(( $1 % 100 / 10 )); }
            bad_pid_file() { fail 1 "pid file $1 does not hold a pid: '$(head -c 64 -- "$1" 2>/dev/null | tr -c '[:print:]' '?')'"; }
            # send SIGNAL PID WHAT [group]: send SIGNAL to PID if it is still proved ours (to its process group
            # with "group", when PID leads it)
            send() {
              ours "$2" || return 0
              if [ "${4:-}" = group ] && [ "$(sed 's/.*) //' "/proc/$2/stat" 2>/dev/null | awk '{ print $3 }')" = "$2" ]; then
                say "sending $1 to the process group of $3 pid $2"; kill -s "$1" -- "-$2" 2>/dev/null
              else
                say "sending $1 to $3 pid $2"; kill -s "$1" "$2" 2>/dev/null
              fi || ! alive "$2" || fail 1 "could not send $1 to $3 pid $2"
            }
            # wait_gone PID LIMIT [ports]: poll every 0.1 s, up to LIMIT/100 s, until PID is gone (or a zombie)
            # and, with "ports", none of PORTS LISTENs; returns 1 on timeout
            wait_gone() {
              now; end=$((NOW + $2))
              while alive "$1" || { [ "${3:-}" = ports ] && [ -n "$(listening)" ]; }; do
                now; [ "$NOW" -lt "$end" ] || return 1
                sleep 0.1
              done
            }
            # stopped_or_refuse WHAT: with no valid pid file, end the script: done if nothing runs under the home
            # and no port LISTENs, else refuse
            stopped_or_refuse() {
              procs=$(home_procs); busy=$(listening)
              if [ -z "$procs$busy" ]; then say "$1 $NAME already stopped: nothing runs under $HOME_DIR, no port LISTENs"; exit 0; fi
              for p in $procs; do say "running under $HOME_DIR: $(describe "$p")"; done
              fail 3 "refusing to signal anything: $1 has no valid pid file, yet pid(s) [${procs:-none}] run under $HOME_DIR and port(s) [${busy:-none}] LISTEN"
            }
            remove_pid_file() {
              if rm -f -- "$1"; then say "removed pid file $1"; else say "warning: could not remove pid file $1"; fi
            }
            # drop_pid_file FILE: FILE names PID, which is not a live process of the server: say why, never signal
            # it, remove FILE
            drop_pid_file() {
              if alive "$PID"; then
                say "pid file $1 names pid $PID, which is not this server's (exe ${EXE:-?}, cwd ${CWD:-?}): not signalling it"
              else
                say "stale pid file $1: pid $PID is not running"
              fi
              remove_pid_file "$1"
            }
            # stop_server WHAT FILE SIGNAL pid|group: SIGNAL the process that FILE names once it is proved ours;
            # after TERM, KILL once GRACE is over; done when it is gone and none of PORTS LISTENs
            stop_server() {
              now; t0=$NOW
              read_pid "$2"
              case $? in 1) say "no pid file $2"; stopped_or_refuse "$1" ;; 2) bad_pid_file "$2" ;; esac
              if ! ours "$PID"; then drop_pid_file "$2"; stopped_or_refuse "$1"; fi
              say "$1 pid $PID is this server's (cwd ${CWD:-?}, exe ${EXE:-?})"
              send "$3" "$PID" "$1" "$4"
              if [ "$3" = TERM ] && ! wait_gone "$PID" "$GRACE" ports; then
                if alive "$PID"; then say "$1 pid $PID still runs after the $(secs "$GRACE") grace period"; fi
                send KILL "$PID" "$1" "$4"
              fi
              if ! wait_gone "$PID" "$KILL_WAIT" ports; then
                for p in $(home_procs); do say "running under $HOME_DIR: $(describe "$p")"; done
                if alive "$PID"; then fail 4 "timed out: $1 pid $PID still runs"; fi
                fail 4 "timed out: $1 pid $PID is gone but port(s) $(listening) still LISTEN"
              fi
              remove_pid_file "$2"
              now; say "stopped $NAME pid $PID in $(secs $((NOW - t0)))"
            }
            """;

    /** obproxy's watchdog. */
    private static final String DAEMON = """
            # kill_daemon FILE: KILL obproxyd, which would respawn obproxy; a missing or stale FILE is fine
            kill_daemon() {
              read_pid "$1"
              case $? in 1) say "no obproxyd pid file $1"; return 0 ;; 2) bad_pid_file "$1" ;; esac
              if ! ours "$PID"; then drop_pid_file "$1"; return 0; fi
              send KILL "$PID" obproxyd
              wait_gone "$PID" "$KILL_WAIT" || fail 4 "timed out: obproxyd pid $PID still runs"
              remove_pid_file "$1"
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
            # refuse_if_running PIDFILE...: refuse (exit 3) while a pid file names a live process of the server,
            # a process runs under the home, or one of PORTS LISTENs
            refuse_if_running() {
              for f in "$@"; do
                read_pid "$f"
                case $? in
                  0) if ours "$PID"; then fail 3 "refusing to delete anything: $NAME runs, pid $PID from $f"; fi ;;
                  2) say "pid file $f does not hold a pid: the scan below decides" ;;
                esac
              done
              procs=$(home_procs); busy=$(listening)
              for p in $procs; do say "running under $HOME_DIR: $(describe "$p")"; done
              [ -z "$procs$busy" ] || fail 3 "refusing to delete anything while $NAME runs: pid(s) [${procs:-none}] under $HOME_DIR, port(s) [${busy:-none}] LISTEN"
              say "$NAME is not running: nothing runs under $HOME_DIR, no port LISTENs"
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
}
