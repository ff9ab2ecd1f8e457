package io.obplay.run;

import java.net.InetAddress;
import java.util.Optional;

/** Which obplay process drives a DAG: {@code pid@hostname}; and whether such a process is still alive. */
public final class Owner {
    private Owner() {
    }

    public static String me() {
        return ProcessHandle.current().pid() + "@" + hostname();
    }

    static String hostname() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "localhost";
        }
    }

    /** False only when the owner ran on this machine and its process is gone; an owner elsewhere counts as alive. */
    public static boolean alive(String owner) {
        if (owner == null) {
            return false;
        }
        int at = owner.indexOf('@');
        if (at < 0 || !owner.substring(at + 1).equals(hostname())) {
            return true;
        }
        try {
            long pid = Long.parseLong(owner.substring(0, at));
            Optional<ProcessHandle> p = ProcessHandle.of(pid);
            return p.isPresent() && p.get().isAlive();
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
