package io.obplay.store.sqlite;

import org.sqlite.SQLiteJDBCLoader;
import org.sqlite.util.LibraryLoaderUtil;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Where sqlite-jdbc's native library is loaded from. Left alone, sqlite-jdbc extracts it on every JVM start to
 * {@code java.io.tmpdir} as {@code sqlite-<version>-<uuid>-libsqlitejdbc.so}, to be deleted at a clean exit, so every
 * killed obplay leaves a 1 MB file in /tmp. Instead it is extracted once per sqlite-jdbc version and platform into
 * the state directory, {@code <stateDir>/native/sqlite-jdbc-<version>/<os>/<arch>/}, private to its owner, and
 * loaded from there by every later process ({@code org.sqlite.lib.path} and {@code org.sqlite.lib.name}).
 *
 * <p>A file already there is used when it is a regular file of the jar's size; otherwise it is written anew beside
 * itself and moved into place atomically, so two processes starting at once both load a whole library. When the
 * user set {@code org.sqlite.lib.path} or {@code org.sqlite.tmpdir}, or anything here fails (an unusual platform, a
 * read-only state directory), sqlite-jdbc's own behaviour applies.
 */
final class NativeLibrary {
    static final String LIB_PATH = "org.sqlite.lib.path";
    static final String LIB_NAME = "org.sqlite.lib.name";
    private static boolean chosen;

    private NativeLibrary() {
    }

    /** Before the first connection of this JVM: points sqlite-jdbc at the copy under {@code stateDir}, making it if needed. */
    static synchronized void useFrom(Path stateDir) {
        if (chosen) {
            return;
        }
        chosen = true; // one try per JVM: sqlite-jdbc loads its library once
        if (System.getProperty(LIB_PATH) != null || System.getProperty("org.sqlite.tmpdir") != null) {
            return;
        }
        try {
            Path lib = extract(stateDir);
            if (lib != null) {
                System.setProperty(LIB_PATH, lib.getParent().toString());
                System.setProperty(LIB_NAME, lib.getFileName().toString());
            }
        } catch (IOException | RuntimeException | LinkageError e) {
            // sqlite-jdbc extracts it to java.io.tmpdir as usual
        }
    }

    /** The library under {@code stateDir}, extracted if missing or not whole; null when the jar has none for this platform. */
    static Path extract(Path stateDir) throws IOException {
        String dir = LibraryLoaderUtil.getNativeLibResourcePath();   // e.g. /org/sqlite/native/Linux/x86_64
        String name = LibraryLoaderUtil.getNativeLibName();          // e.g. libsqlitejdbc.so
        URL url = SQLiteJDBCLoader.class.getResource(dir + "/" + name);
        if (url == null) {
            return null;
        }
        String platform = dir.startsWith("/org/sqlite/native/") ? dir.substring("/org/sqlite/native/".length()) : "other";
        Path target = stateDir.resolve("native").resolve("sqlite-jdbc-" + SQLiteJDBCLoader.getVersion()).resolve(platform);
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        if (posix && writableByOthers(stateDir)) {
            throw new IOException(stateDir + " is writable by others: not loading code from it");
        }
        for (Path d = stateDir.resolve("native"); ; d = d.resolve(target.getName(d.getNameCount()).toString())) {
            if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                if (posix) {
                    Files.createDirectory(d, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                } else {
                    Files.createDirectory(d);
                }
            } else if (posix && writableByOthers(d)) {
                throw new IOException(d + " is writable by others: not loading code from it");
            }
            if (d.equals(target)) {
                break;
            }
        }
        Path lib = target.resolve(name);
        URLConnection conn = url.openConnection();
        long size = conn.getContentLengthLong();
        if (size > 0 && Files.isRegularFile(lib, LinkOption.NOFOLLOW_LINKS) && Files.size(lib) == size) {
            return lib;
        }
        Path tmp = Files.createTempFile(target, name + ".", ".part");
        try {
            try (InputStream in = conn.getInputStream()) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            try {
                Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, lib, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return lib;
    }

    private static boolean writableByOthers(Path d) throws IOException {
        Set<PosixFilePermission> p = Files.getPosixFilePermissions(d, LinkOption.NOFOLLOW_LINKS);
        return p.contains(PosixFilePermission.GROUP_WRITE) || p.contains(PosixFilePermission.OTHERS_WRITE);
    }
}
