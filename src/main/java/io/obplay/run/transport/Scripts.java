package io.obplay.run.transport;

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
        return "exec /bin/sh -c '" + w + "' sh '" + w + "'";
    }

    /**
     * Ends a script's processes: TERM to its process group, up to {@code grace} for them to go, then KILL.
     * When the script does not lead its own group (pgid unknown or different), TERM/KILL go to the script's
     * process and its direct children instead.
     */
    static String killScript(long pid, long pgid, Duration grace) {
        long tenths = Math.max(1, grace.toMillis() / 100);
        if (pgid > 1 && pgid == pid) {
            // live: a process of the group is not yet a zombie (an init that reaps slowly keeps zombies around)
            return "g=" + pgid + "; live() { kill -0 -$g 2>/dev/null && ! cat /proc/[0-9]*/stat 2>/dev/null "
                    + "| awk -v g=$g \"{ sub(/.*[)] /, \\\"\\\"); if (\\$3 == g && \\$1 != \\\"Z\\\") exit 1 }\"; }; "
                    + "kill -TERM -$g 2>/dev/null || exit 0; i=0; "
                    + "while [ $i -lt " + tenths + " ] && live; do sleep 0.1; i=$((i+1)); done; "
                    + "kill -KILL -$g 2>/dev/null; i=0; "
                    + "while [ $i -lt 50 ] && live; do sleep 0.1; i=$((i+1)); done; exit 0";
        }
        return "p=" + pid + "; pkill -TERM -P $p 2>/dev/null; kill -TERM $p 2>/dev/null; i=0; "
                + "while [ $i -lt " + tenths + " ] && kill -0 $p 2>/dev/null; do sleep 0.1; i=$((i+1)); done; "
                + "pkill -KILL -P $p 2>/dev/null; kill -KILL $p 2>/dev/null; i=0; "
                + "while [ $i -lt 50 ] && kill -0 $p 2>/dev/null; do sleep 0.1; i=$((i+1)); done; exit 0";
    }

    /** {@code exec /bin/sh -c '<script>'} for a script without single quotes. */
    static String execSh(String script) {
        if (script.indexOf('\'') >= 0) {
            throw new IllegalArgumentException("script must not contain single quotes");
        }
        return "exec /bin/sh -c '" + script + "'";
    }
}
