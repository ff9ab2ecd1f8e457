package io.obplay.run.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * An OpenSSH known_hosts file: plain and hashed ({@code |1|salt|hash}) host patterns, {@code [host]:port}
 * entries, wildcards and negations, {@code @revoked} markers. Parsed once and re-read when the file changes
 * on disk; appends (accept-new) are serialized within this JVM and locked against other processes.
 * One instance per file per JVM ({@link #of}).
 */
final class KnownHostsFile {

    /** What the file says about a key a host offered. */
    enum Status { MATCH, UNKNOWN, CHANGED, REVOKED }

    /** The outcome of {@link #verify}: the status and, for CHANGED/REVOKED, the line that decided it. */
    record Verdict(Status status, int line, String knownKeyType, String knownFingerprint) {
    }

    /** One key line of the file. */
    record Entry(int line, String marker, String patterns, String keyType, byte[] key) {
    }

    private static final Map<Path, KnownHostsFile> FILES = new ConcurrentHashMap<>();

    private final Path path;
    private List<Entry> entries = List.of();
    private FileTime loadedMtime;
    private long loadedSize = -1;
    private boolean loadedMissing;

    private KnownHostsFile(Path path) {
        this.path = path;
    }

    static KnownHostsFile of(Path path) {
        return FILES.computeIfAbsent(path.toAbsolutePath().normalize(), KnownHostsFile::new);
    }

    Path path() {
        return path;
    }

    /**
     * The name OpenSSH looks a host up by: {@code host} on port 22, {@code [host]:port} otherwise (lower case).
     */
    static String lookupName(String host, int port) {
        String h = host.toLowerCase(Locale.ROOT);
        return port == 22 ? h : "[" + h + "]:" + port;
    }

    /** Checks the key {@code blob} offered under {@code lookupName}. */
    synchronized Verdict verify(String lookupName, byte[] blob) throws IOException {
        refresh();
        String type = keyType(blob);
        // a revoked key is refused wherever its @revoked line is, as OpenSSH does
        for (Entry e : entries) {
            if ("@revoked".equals(e.marker()) && Arrays.equals(e.key(), blob) && hostMatches(e.patterns(), lookupName)) {
                return new Verdict(Status.REVOKED, e.line(), e.keyType(), fingerprint(e.key()));
            }
        }
        Verdict changed = null;
        for (Entry e : entries) {
            if (e.marker() != null || !hostMatches(e.patterns(), lookupName)) {
                continue; // @revoked handled above; @cert-authority: certificates are not supported
            }
            if (Arrays.equals(e.key(), blob)) {
                return new Verdict(Status.MATCH, e.line(), e.keyType(), fingerprint(e.key()));
            }
            if (changed == null && e.keyType().equals(type)) {
                changed = new Verdict(Status.CHANGED, e.line(), e.keyType(), fingerprint(e.key()));
            }
        }
        return changed != null ? changed : new Verdict(Status.UNKNOWN, 0, null, null);
    }

    /** The (non-revoked, non-CA) keys recorded for {@code lookupName}. */
    synchronized List<Entry> keysFor(String lookupName) throws IOException {
        refresh();
        List<Entry> out = new ArrayList<>();
        for (Entry e : entries) {
            if (e.marker() == null && hostMatches(e.patterns(), lookupName)) {
                out.add(e);
            }
        }
        return out;
    }

    synchronized List<Entry> all() throws IOException {
        refresh();
        return List.copyOf(entries);
    }

    /**
     * Adds {@code lookupName keytype base64} unless the file (re-read under the lock) already knows the host
     * with this key, creating the file (0600) and its directory (0700) when missing.
     *
     * @return the verdict after adding: MATCH normally; CHANGED/REVOKED when another writer recorded a
     *         different key for the host meanwhile (then nothing is written)
     */
    synchronized Verdict addIfUnknown(String lookupName, byte[] blob) throws IOException {
        Path dir = path.getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            createPrivateDirs(dir);
        }
        try (FileChannel ch = openForAppend(); FileLock lock = ch.lock()) {
            assert lock.isValid();
            loadedMtime = null; // force a re-read under the lock
            Verdict v = verify(lookupName, blob);
            if (v.status() != Status.UNKNOWN) {
                return v;
            }
            StringBuilder line = new StringBuilder();
            long size = ch.size();
            if (size > 0) {
                ByteBuffer last = ByteBuffer.allocate(1);
                ch.read(last, size - 1);
                if (last.get(0) != '\n') {
                    line.append('\n');
                }
            }
            line.append(lookupName).append(' ').append(keyType(blob)).append(' ')
                    .append(Base64.getEncoder().encodeToString(blob)).append('\n');
            ByteBuffer buf = ByteBuffer.wrap(line.toString().getBytes(StandardCharsets.UTF_8));
            ch.position(size);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(false);
            loadedMtime = null;
            return verify(lookupName, blob);
        }
    }

    private FileChannel openForAppend() throws IOException {
        if (Files.exists(path)) {
            return FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
        try {
            return FileChannel.open(path, java.util.Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE,
                    StandardOpenOption.CREATE_NEW), PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rw-------")));
        } catch (java.nio.file.FileAlreadyExistsException raced) {
            return FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (UnsupportedOperationException noPosix) {
            return FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    StandardOpenOption.CREATE);
        }
    }

    private static void createPrivateDirs(Path dir) throws IOException {
        Path parent = dir.getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            createPrivateDirs(parent);
        }
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
        } catch (java.nio.file.FileAlreadyExistsException ok) {
            // created concurrently
        } catch (UnsupportedOperationException noPosix) {
            Files.createDirectories(dir);
        }
    }

    private void refresh() throws IOException {
        FileTime mtime;
        long size;
        try {
            mtime = Files.getLastModifiedTime(path);
            size = Files.size(path);
        } catch (NoSuchFileException e) {
            if (!loadedMissing) {
                entries = List.of();
                loadedMissing = true;
                loadedMtime = null;
            }
            return;
        }
        if (!loadedMissing && mtime.equals(loadedMtime) && size == loadedSize) {
            return;
        }
        entries = parse(Files.readAllLines(path, StandardCharsets.UTF_8));
        loadedMtime = mtime;
        loadedSize = size;
        loadedMissing = false;
    }

    static List<Entry> parse(List<String> lines) {
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String s = lines.get(i).strip();
            if (s.isEmpty() || s.startsWith("#")) {
                continue;
            }
            String[] f = s.split("\\s+");
            int k = 0;
            String marker = null;
            if (f[0].startsWith("@")) {
                marker = f[0].toLowerCase(Locale.ROOT);
                k = 1;
            }
            if (f.length < k + 3) {
                continue;
            }
            byte[] key;
            try {
                key = Base64.getDecoder().decode(f[k + 2]);
            } catch (IllegalArgumentException bad) {
                continue;
            }
            out.add(new Entry(i + 1, marker, f[k], f[k + 1], key));
        }
        return out;
    }

    /** OpenSSH's match_hostname: any positive pattern matches and no negated one does. */
    static boolean hostMatches(String patterns, String name) {
        if (patterns.startsWith("|1|")) {
            return hashedMatches(patterns, name);
        }
        boolean matched = false;
        for (String p : patterns.split(",")) {
            if (p.isEmpty()) {
                continue;
            }
            boolean negated = p.startsWith("!");
            String pat = (negated ? p.substring(1) : p).toLowerCase(Locale.ROOT);
            if (glob(pat, 0, name, 0)) {
                if (negated) {
                    return false;
                }
                matched = true;
            }
        }
        return matched;
    }

    private static boolean hashedMatches(String entry, String name) {
        String[] parts = entry.split("\\|");
        // "", "1", salt, hash
        if (parts.length != 4) {
            return false;
        }
        try {
            byte[] salt = Base64.getDecoder().decode(parts[2]);
            byte[] hash = Base64.getDecoder().decode(parts[3]);
            Mac mac = Mac.getInstance("HmacSHA1");
            mac.init(new SecretKeySpec(salt, "HmacSHA1"));
            return MessageDigest.isEqual(hash, mac.doFinal(name.getBytes(StandardCharsets.UTF_8)));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            return false;
        }
    }

    private static boolean glob(String p, int pi, String s, int si) {
        while (pi < p.length()) {
            char c = p.charAt(pi);
            if (c == '*') {
                for (int k = si; k <= s.length(); k++) {
                    if (glob(p, pi + 1, s, k)) {
                        return true;
                    }
                }
                return false;
            }
            if (si >= s.length() || (c != '?' && c != s.charAt(si))) {
                return false;
            }
            pi++;
            si++;
        }
        return si == s.length();
    }

    /** The algorithm name at the start of an SSH public key blob ("ssh-ed25519", "ssh-rsa", ...). */
    static String keyType(byte[] blob) {
        if (blob.length < 4) {
            return "unknown";
        }
        int n = ((blob[0] & 0xff) << 24) | ((blob[1] & 0xff) << 16) | ((blob[2] & 0xff) << 8) | (blob[3] & 0xff);
        if (n <= 0 || n > blob.length - 4) {
            return "unknown";
        }
        return new String(blob, 4, n, StandardCharsets.US_ASCII);
    }

    /** OpenSSH's default fingerprint: {@code SHA256:} and the unpadded base64 of the blob's SHA-256. */
    static String fingerprint(byte[] blob) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(blob);
            return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(d);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
