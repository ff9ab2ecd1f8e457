package io.obplay.run.transport;

import io.obplay.playbook.ShellQuote;

import java.time.Duration;

/** The small sh programs obplay wraps around a step's script, and the one that ends a script's processes. */
final class Scripts {
    private Scripts() {
    }

    /**
     * The remote wrapper, run by {@code /bin/sh}. It reads the step's script from stdin (so the script's text
     * never passes through the login shell and has no length or quoting limits; the script's own commands then
     * see an empty stdin), makes sure it leads its own process group (OpenSSH already runs each session's
     * command in a new session; otherwise it re-executes itself through {@code setsid}), prints
     * {@code <token> <pid> <pgid>} as its first line of stdout, and evals the script with {@code $0 = sh} and
     * no positional parameters.
     */
    static String wrapper(String token) {
        String w = "if [ -z \"${__OBPLAY_S+x}\" ]; then __OBPLAY_S=$(cat) || exit 126; fi; "
                + "read -r __obplay_a __obplay_a __obplay_a __obplay_a __obplay_g __obplay_a </proc/$$/stat 2>/dev/null; "
                + "if [ \"${__obplay_g:-}\" != \"$$\" ] && [ -z \"${__OBPLAY_R:-}\" ] && command -v setsid >/dev/null 2>&1; "
                + "then export __OBPLAY_S __OBPLAY_R=1; exec setsid /bin/sh -c \"$1\" sh \"$1\"; fi; "
                + "printf \"%s %s %s\\n\" " + token + " \"$$\" \"${__obplay_g:-?}\"; "
                + "unset __obplay_a __obplay_g __OBPLAY_R; set --; eval \"unset __OBPLAY_S; $__OBPLAY_S\"";
        if (w.indexOf('\'') >= 0 || token.indexOf('\'') >= 0) {
            throw new IllegalStateException("wrapper must not contain single quotes");
        }
        return w;
    }

    /** The exec request: works under any Bourne-style login shell (and csh: one line, single quotes only). */
    static String execCommand(String token) {
        String w = wrapper(token);
        return "exec /bin/sh -c " + ShellQuote.quote(w) + " sh " + ShellQuote.quote(w);
    }

    /** The kill script's last line of stdout: {@code <KILL_VERDICT> gone}, or {@code left <pid>...}. */
    static final String KILL_VERDICT = "OBPLAY_KILL";

    /**
     * Ends a script's processes: TERM to its process group, up to {@code grace} for them to go, then KILL, up to
     * 5 s more; then it says what it found, as its last line: {@code OBPLAY_KILL gone} when no process of the
     * group is left (zombies aside), else {@code OBPLAY_KILL left <pid>...}. When the script does not lead its
     * own group (pgid unknown or different), TERM/KILL go to the script's process and its direct children
     * instead, and the verdict is {@code OBPLAY_KILL direct-gone} (those are gone; what they started is not
     * known) or {@code left <pid>...}.
     */
    static String killScript(long pid, long pgid, Duration grace) {
        long tenths = Math.max(1, grace.toMillis() / 100);
        if (pgid > 1 && pgid == pid) {
            // procs: the group's processes that are not yet zombies (an init that reaps slowly keeps zombies),
            // read from /proc, so that a process this user may not signal (sudo) still counts as left
            return "g=" + pgid + "; procs() { cat /proc/[0-9]*/stat 2>/dev/null | awk -v g=$g \"{ p = \\$1; "
                    + "sub(/.*[)] /, \\\"\\\"); if (\\$3 == g && \\$1 != \\\"Z\\\") printf \\\"%s \\\", p }\"; }; "
                    + "live() { [ -n \"$(procs)\" ]; }; "
                    + "live || { echo " + KILL_VERDICT + " gone; exit 0; }; kill -TERM -$g 2>/dev/null; i=0; "
                    + "while [ $i -lt " + tenths + " ] && live; do sleep 0.1; i=$((i+1)); done; "
                    + "kill -KILL -$g 2>/dev/null; i=0; "
                    + "while [ $i -lt 50 ] && live; do sleep 0.1; i=$((i+1)); done; "
                    + "if live; then echo " + KILL_VERDICT + " left $(procs); else echo " + KILL_VERDICT + " gone; fi; "
                    + "exit 0";
        }
        return "p=" + pid + "; c=$(pgrep -P $p 2>/dev/null | tr \"\\n\" \" \"); "
                + "pkill -TERM -P $p 2>/dev/null; kill -TERM $p 2>/dev/null; i=0; "
                + "while [ $i -lt " + tenths + " ] && kill -0 $p 2>/dev/null; do sleep 0.1; i=$((i+1)); done; "
                + "pkill -KILL -P $p 2>/dev/null; kill -KILL $p 2>/dev/null; i=0; "
                + "while [ $i -lt 50 ] && kill -0 $p 2>/dev/null; do sleep 0.1; i=$((i+1)); done; "
                + "l=; for q in $p $c; do if kill -0 $q 2>/dev/null && ! grep -q \"^State:.Z\" /proc/$q/status "
                + "2>/dev/null; then l=\"$l $q\"; fi; done; "
                + "if [ -n \"$l\" ]; then echo " + KILL_VERDICT + " left$l; else echo " + KILL_VERDICT
                + " direct-gone; fi; exit 0";
    }

    /** {@code exec /bin/sh -c '<script>'} for a script without single quotes. */
    static String execSh(String script) {
        if (script.indexOf('\'') >= 0) {
            throw new IllegalArgumentException("script must not contain single quotes");
        }
        return "exec /bin/sh -c " + ShellQuote.quote(script);
    }
}
