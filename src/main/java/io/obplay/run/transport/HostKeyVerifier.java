package io.obplay.run.transport;

import com.jcraft.jsch.HostKey;
import com.jcraft.jsch.HostKeyRepository;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.UserInfo;
import io.obplay.inventory.HostKeyChecking;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The host key policy of one connection attempt, plugged into JSch as its {@link HostKeyRepository} (JSch
 * runs with {@code StrictHostKeyChecking=yes}, so it only asks {@link #check}). When it rejects a key it keeps
 * a one-line explanation for the {@link io.obplay.run.HostUnreachableException}.
 */
final class HostKeyVerifier implements HostKeyRepository {

    private final KnownHostsFile file;
    private final HostKeyChecking mode;
    private final String host;
    private final int port;
    /** For the ssh-keyscan hint when the host sits behind a bastion: {@code -p P user@bastion}, else null. */
    private final String bastionSsh;
    private volatile String failure;
    private volatile boolean added;
    private volatile boolean asked;

    HostKeyVerifier(KnownHostsFile file, HostKeyChecking mode, String host, int port, String bastionSsh) {
        this.file = file;
        this.mode = mode == null ? HostKeyChecking.STRICT : mode;
        this.host = host;
        this.port = port;
        this.bastionSsh = bastionSsh;
    }

    /** Why the key was rejected, or null. */
    String failure() {
        return failure;
    }

    /** Whether JSch has asked about the host key yet: it does once the key exchange is done. */
    boolean asked() {
        return asked;
    }

    /** Whether accept-new recorded the key. */
    boolean added() {
        return added;
    }

    @Override
    public int check(String chost, byte[] key) {
        asked = true;
        if (mode == HostKeyChecking.OFF) {
            return OK;
        }
        String name = KnownHostsFile.lookupName(host, port);
        try {
            KnownHostsFile.Verdict v = file.verify(name, key);
            if (v.status() == KnownHostsFile.Status.UNKNOWN && mode == HostKeyChecking.ACCEPT_NEW) {
                v = file.addIfUnknown(name, key);
                if (v.status() == KnownHostsFile.Status.MATCH) {
                    added = true;
                }
            }
            switch (v.status()) {
                case MATCH:
                    return OK;
                case UNKNOWN:
                    failure = unknownMessage(key);
                    return NOT_INCLUDED;
                case REVOKED:
                    failure = String.format("host key of %s:%d (%s %s) is marked @revoked in %s line %d; refusing "
                                    + "to connect", host, port, KnownHostsFile.keyType(key),
                            KnownHostsFile.fingerprint(key), file.path(), v.line());
                    return CHANGED;
                default:
                    failure = changedMessage(key, v);
                    return CHANGED;
            }
        } catch (IOException e) {
            failure = "cannot " + (mode == HostKeyChecking.ACCEPT_NEW ? "update " : "read ") + file.path()
                    + " to check the host key of " + host + ":" + port + ": " + e;
            return NOT_INCLUDED;
        }
    }

    private String unknownMessage(byte[] key) {
        String keyscan = "ssh-keyscan -p " + port + " " + host;
        String how = bastionSsh == null
                ? keyscan + " >> " + file.path()
                : "ssh " + bastionSsh + " '" + keyscan + "' >> " + file.path();
        return String.format("host key of %s:%d is not in %s (host_key_checking: %s); verify its fingerprint %s (%s) "
                        + "and add it with: %s, or set host_key_checking: accept-new",
                host, port, file.path(), mode.yamlName(), KnownHostsFile.fingerprint(key),
                KnownHostsFile.keyType(key), how);
    }

    private String changedMessage(byte[] key, KnownHostsFile.Verdict v) {
        String name = KnownHostsFile.lookupName(host, port);
        return String.format("HOST KEY OF %s:%d HAS CHANGED - possible man-in-the-middle attack: it offered %s %s but "
                        + "%s line %d records %s %s; refusing to connect (host_key_checking: %s). If the host was "
                        + "reinstalled, remove the old key with: ssh-keygen -R '%s' -f %s",
                host, port, KnownHostsFile.keyType(key), KnownHostsFile.fingerprint(key), file.path(), v.line(),
                v.knownKeyType(), v.knownFingerprint(), mode.yamlName(), name, file.path());
    }

    @Override
    public void add(HostKey hostkey, UserInfo ui) {
        // never called: StrictHostKeyChecking=yes; accept-new is handled in check()
    }

    @Override
    public void remove(String host, String type) {
    }

    @Override
    public void remove(String host, String type, byte[] key) {
    }

    @Override
    public String getKnownHostsRepositoryID() {
        return file.path().toString();
    }

    @Override
    public HostKey[] getHostKey() {
        if (mode == HostKeyChecking.OFF) {
            return new HostKey[0];
        }
        try {
            return toHostKeys(null, file.all(), null);
        } catch (IOException e) {
            return new HostKey[0];
        }
    }

    /** Used by JSch to prefer the host key algorithms already recorded for the host. */
    @Override
    public HostKey[] getHostKey(String chost, String type) {
        if (mode == HostKeyChecking.OFF) {
            return new HostKey[0];
        }
        String name = KnownHostsFile.lookupName(host, port);
        try {
            return toHostKeys(name, file.keysFor(name), type);
        } catch (IOException e) {
            return new HostKey[0];
        }
    }

    private static HostKey[] toHostKeys(String name, List<KnownHostsFile.Entry> entries, String type) {
        List<HostKey> out = new ArrayList<>();
        for (KnownHostsFile.Entry e : entries) {
            if (e.marker() != null) {
                continue;
            }
            if (type != null && !e.keyType().equals(type.toLowerCase(Locale.ROOT))
                    && !(e.keyType().equals("ssh-rsa") && type.startsWith("rsa-sha2"))) {
                continue;
            }
            try {
                out.add(new HostKey(name != null ? name : e.patterns(), HostKey.GUESS, e.key()));
            } catch (JSchException unsupportedType) {
                // a key type JSch does not know: it cannot be negotiated anyway
            }
        }
        return out.toArray(new HostKey[0]);
    }
}
