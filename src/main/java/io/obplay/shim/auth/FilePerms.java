package io.obplay.shim.auth;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/** Refuses secret files that group or others can read or write. */
final class FilePerms {

    private static final Set<PosixFilePermission> OPEN = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);

    private FilePerms() {
    }

    static void requirePrivate(Path file, String what) throws IOException {
        Set<PosixFilePermission> perms;
        try {
            perms = Files.getPosixFilePermissions(file);
        } catch (UnsupportedOperationException e) {
            throw new IOException(what + " " + file + ": cannot check its permissions (not a POSIX file system);"
                    + " refusing to use it");
        }
        Set<PosixFilePermission> open = EnumSet.noneOf(PosixFilePermission.class);
        open.addAll(perms);
        open.retainAll(OPEN);
        if (!open.isEmpty()) {
            throw new IOException(String.format(
                    "%s %s is open to group/others (mode %s, %s); it holds secrets, so it must be private:"
                            + " run 'chmod 600 %s'",
                    what, file, octal(perms), PosixFilePermissions.toString(perms), file));
        }
    }

    static String octal(Set<PosixFilePermission> perms) {
        int mode = 0;
        for (PosixFilePermission p : perms) {
            mode |= 1 << (8 - p.ordinal());
        }
        return String.format("%04o", mode);
    }
}
