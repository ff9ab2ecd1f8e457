package io.obplay.inventory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a value read from an inventory or a playbook may hold, beyond its type: characters that cannot be part of a
 * valid value (NUL, line breaks and other control characters, invisible ones), user names, jump hosts, and which
 * declared directories may not overlap. Each check gives null when the value is good, or what is wrong with it.
 */
public final class InputChecks {
    private InputChecks() {
    }

    /**
     * A character no host, user, path or port can hold: C0 and C1 controls (NUL, tab, line breaks, escape), DEL,
     * and invisible formatting characters (zero-width spaces, bidirectional controls, byte order marks), which
     * would make two different values look the same in a plan.
     */
    public static String controlProblem(String value) {
        return controlProblem(value, false);
    }

    /** The same, allowing tabs (a tab is a rare but harmless character of a path: the scripts quote every path). */
    public static String controlProblem(String value, boolean allowTab) {
        for (int i = 0; i < value.length(); ) {
            int cp = value.codePointAt(i);
            if (allowTab && cp == '\t') {
                i++;
                continue;
            }
            if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || Character.getType(cp) == Character.FORMAT
                    || cp == 0x2028 || cp == 0x2029) {
                return "it holds " + name(cp) + " at character " + (value.codePointCount(0, i) + 1);
            }
            i += Character.charCount(cp);
        }
        return null;
    }

    /**
     * Records a problem when a name that the plan shows (cluster, zone, obproxy cluster, playbook, step, tag) holds
     * control or invisible characters, which would make the plan read other than it is; true when it is clean.
     */
    public static boolean shownName(YamlSource src, org.yaml.snakeyaml.nodes.Node at, String what, String value) {
        if (value == null) {
            return true;
        }
        String c = controlProblem(value);
        if (c != null) {
            src.problem(at, what + " '" + Show.escaped(value) + "': " + c + "; expected a name without control or invisible characters");
            return false;
        }
        return true;
    }

    /** Only NUL: a shell string cannot hold it (a var may hold line breaks; templates quote them). */
    public static String nulProblem(String value) {
        int at = value.indexOf('\0');
        return at < 0 ? null : "it holds a NUL character at character " + (value.codePointCount(0, at) + 1)
                + ", which no shell value can hold";
    }

    private static String name(int cp) {
        return switch (cp) {
            case 0 -> "a NUL character";
            case '\n' -> "a line break (\\n)";
            case '\r' -> "a carriage return (\\r)";
            case '\t' -> "a tab";
            case 0x1b -> "an escape character";
            default -> (Character.getType(cp) == Character.FORMAT ? "the invisible character " : "the control character ")
                    + String.format("U+%04X", cp);
        };
    }

    /**
     * A login name as {@code useradd} and OpenSSH accept it: letters, digits, {@code . _ -}, and {@code @} or
     * {@code \} for directory users ({@code user@CORP}), at most 64 characters, not starting with {@code -}
     * (ssh would read it as an option); a trailing {@code $} is allowed (Samba machine accounts).
     */
    public static String userProblem(String user) {
        String control = controlProblem(user);
        if (control != null) {
            return control + "; expected a user name";
        }
        if (user.isEmpty() || user.length() > 64) {
            return "it is " + (user.isEmpty() ? "empty" : user.length() + " characters long") + "; expected a user name of 1 to 64 characters";
        }
        if (user.startsWith("-")) {
            return "it starts with '-'; expected a user name";
        }
        for (int i = 0; i < user.length(); i++) {
            char c = user.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_'
                    || c == '-' || c == '@' || c == '\\' || (c == '$' && i == user.length() - 1);
            if (!ok) {
                return "it holds '" + c + "'; expected a user name of letters, digits, '.', '_', '-' (and '@' or '\\' for directory users)";
            }
        }
        return null;
    }

    /** A jump host {@code [user@]host[:port]} in its canonical spelling, or why it is refused. */
    public record Jump(String canonical, String error) {
    }

    public static Jump jump(String spec) {
        String control = controlProblem(spec);
        if (control != null) {
            return new Jump(null, control + "; expected [user@]host[:port]");
        }
        String rest = spec.trim();
        String user = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            user = rest.substring(0, at);
            rest = rest.substring(at + 1);
            String u = userProblem(user);
            if (u != null) {
                return new Jump(null, "its user '" + user + "': " + u);
            }
        }
        HostName.HostPort hp = HostName.parseWithPort(rest);
        if (!hp.ok()) {
            return new Jump(null, (user == null ? "" : "its host '" + rest + "': ") + hp.error() + "; expected [user@]host[:port]");
        }
        boolean bareV6 = !rest.startsWith("[") && rest.indexOf(':') != rest.lastIndexOf(':');
        String host = bareV6 || hp.host().indexOf(':') >= 0 ? "[" + hp.host() + "]" : hp.host();
        return new Jump((user == null ? "" : user + "@") + host + (hp.port() == 0 ? "" : ":" + hp.port()), null);
    }

    /**
     * The directories of a server that cleanup may delete whole, and its pid files: what no other server on its
     * host may own a part of.
     */
    public static Map<String, String> owned(Server s) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("home_path", s.home());
        for (Map.Entry<String, String> d : s.dirs().entrySet()) {
            if (d.getKey().endsWith("_dir")) {
                out.put(d.getKey(), d.getValue());
            }
        }
        for (Map.Entry<String, String> p : s.pidFiles().entrySet()) {
            out.put(p.getKey().equals("server") ? "pid_file" : p.getKey() + "_pid_file", p.getValue());
        }
        return out;
    }

    /** True when {@code a} is {@code b} or a directory above it. */
    public static boolean containsOrEquals(String a, String b) {
        return a.equals(b) || b.startsWith(a.endsWith("/") ? a : a + "/");
    }

    /**
     * What is wrong with one server's own directories: a data, redo, clog or slog dir that is its home or above it
     * (cleaning it would delete the installation), a pid file outside its home.
     */
    public static List<String[]> ownProblems(Server s) {
        if (!anyOwnProblem(s)) {
            return List.of();  // the common case, without building owned(s) for each of 100,000 servers
        }
        List<String[]> out = new ArrayList<>();
        for (Map.Entry<String, String> e : owned(s).entrySet()) {
            String key = e.getKey();
            String path = e.getValue();
            if (key.equals("home_path")) {
                continue;
            }
            if (key.endsWith("pid_file")) {
                if (!path.startsWith(s.home() + "/")) {
                    out.add(new String[]{key, "'" + key + "' " + path + " lies outside the server's home " + s.home()
                            + "; expected a pid file under the home (obplay proves a process by its home; a pid file "
                            + "elsewhere could be another server's)"});
                }
                continue;
            }
            if (containsOrEquals(path, s.home())) {
                out.add(new String[]{key, "'" + key + "' " + path + (path.equals(s.home()) ? " is the server's home"
                        : " contains the server's home " + s.home()) + "; cleaning it would delete the installation. Expected a "
                        + "directory of its own, outside the home or below it"});
            }
        }
        return out;
    }

    private static boolean anyOwnProblem(Server s) {
        String home = s.home();
        for (Map.Entry<String, String> d : s.dirs().entrySet()) {
            String path = d.getValue();
            // a _dir at or above the home: path is a prefix of home ending at a '/' or at its end
            if (d.getKey().endsWith("_dir") && home.startsWith(path)
                    && (home.length() == path.length() || home.charAt(path.length()) == '/' || path.endsWith("/"))) {
                return true;
            }
        }
        for (String pid : s.pidFiles().values()) {
            if (!(pid.length() > home.length() + 1 && pid.startsWith(home) && pid.charAt(home.length()) == '/')) {
                return true;
            }
        }
        return false;
    }

    /**
     * The first clash between two servers on one host: a directory or pid file of one that is, or contains, one of
     * the other's; null when they are apart.
     */
    public static String clash(Server a, Server b) {
        Map<String, String> oa = owned(a);
        Map<String, String> ob = owned(b);
        for (Map.Entry<String, String> x : ob.entrySet()) {
            for (Map.Entry<String, String> y : oa.entrySet()) {
                String what = null;
                if (x.getValue().equals(y.getValue())) {
                    what = " is also ";
                } else if (containsOrEquals(x.getValue(), y.getValue()) && !x.getKey().endsWith("pid_file")) {
                    what = " contains ";
                } else if (containsOrEquals(y.getValue(), x.getValue()) && !y.getKey().endsWith("pid_file")) {
                    what = " lies inside ";
                }
                if (what != null) {
                    return b.name() + " " + x.getKey() + " " + x.getValue() + what + a.name() + " " + y.getKey() + " " + y.getValue()
                            + "; cleaning or stopping one would touch the other. Expected directories and pid files of its own";
                }
            }
        }
        return null;
    }
}
