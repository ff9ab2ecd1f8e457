package io.obplay.run.transport;

import com.jcraft.jsch.AgentIdentityRepository;
import com.jcraft.jsch.AgentProxyException;
import com.jcraft.jsch.Identity;
import com.jcraft.jsch.IdentityRepository;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.SSHAgentConnector;
import com.jcraft.jsch.UnixDomainSocketFactory;
import io.obplay.run.HostUnreachableException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Vector;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The keys to log in with: the inventory's key file; else ssh-agent (when SSH_AUTH_SOCK is set) followed by
 * the default key files; else the default key files (~/.ssh/id_ed25519, id_ecdsa, id_rsa). Key files are
 * read once per transport.
 */
final class Identities {

    static final List<String> DEFAULT_KEYS = List.of("id_ed25519", "id_ecdsa", "id_rsa");

    /** A repository for JSch, how to name it in an error, and whether it holds exactly one key. */
    record Source(IdentityRepository repository, String description, boolean single) {
    }

    private final String home;
    private final String agentSocket;
    private final ConcurrentHashMap<String, Source> cache = new ConcurrentHashMap<>();

    Identities(String home, String agentSocket) {
        this.home = home;
        this.agentSocket = agentSocket;
    }

    /** {@code ~} and {@code ~/...} become the home directory. */
    static String expand(String path, String home) {
        if (path == null) {
            return null;
        }
        if (path.equals("~")) {
            return home;
        }
        if (path.startsWith("~/")) {
            return Path.of(home).resolve(path.substring(2)).toString();
        }
        return path;
    }

    Source forKey(String key, String host) throws HostUnreachableException {
        return forKey(key, host, false);
    }

    /** @param identitiesOnly the ssh config's IdentitiesOnly yes: without a key, the default key files only, no agent */
    Source forKey(String key, String host, boolean identitiesOnly) throws HostUnreachableException {
        String cacheKey = key == null ? (identitiesOnly ? "<default files>" : "<default>") : "file:" + expand(key, home);
        Source s = cache.get(cacheKey);
        if (s != null) {
            return s;
        }
        s = key == null ? defaults(host, identitiesOnly) : keyFile(Path.of(expand(key, home)), host);
        Source prev = cache.putIfAbsent(cacheKey, s);
        return prev != null ? prev : s;
    }

    private static Source keyFile(Path file, String host) throws HostUnreachableException {
        if (!Files.exists(file)) {
            throw new HostUnreachableException(host, "key file " + file + " does not exist");
        }
        if (!Files.isReadable(file)) {
            throw new HostUnreachableException(host, "key file " + file + " is not readable");
        }
        JSch holder = new JSch();
        try {
            holder.addIdentity(file.toString());
        } catch (JSchException e) {
            throw new HostUnreachableException(host, "cannot use key file " + file + ": " + e.getMessage(), e);
        }
        IdentityRepository repo = holder.getIdentityRepository();
        for (Identity id : repo.getIdentities()) {
            if (id.isEncrypted()) {
                throw new HostUnreachableException(host, "key file " + file + " is protected by a passphrase, "
                        + "which obplay cannot ask for: load it into ssh-agent (ssh-add " + file + ") and leave "
                        + "the key setting unset");
            }
        }
        return new Source(repo, "key " + file, true);
    }

    private Source defaults(String host, boolean noAgent) throws HostUnreachableException {
        List<Identity> files = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String n : DEFAULT_KEYS) {
            Path p = Path.of(home, ".ssh", n);
            if (!Files.isReadable(p)) {
                continue;
            }
            JSch holder = new JSch();
            try {
                holder.addIdentity(p.toString());
            } catch (JSchException unusable) {
                continue;
            }
            for (Identity id : holder.getIdentityRepository().getIdentities()) {
                if (!id.isEncrypted()) {
                    files.add(id);
                    names.add(p.toString());
                }
            }
        }
        IdentityRepository agent = null;
        if (!noAgent && agentSocket != null && !agentSocket.isBlank() && Files.exists(Path.of(agentSocket))) {
            try {
                agent = new AgentIdentityRepository(
                        new SSHAgentConnector(new UnixDomainSocketFactory(), Path.of(agentSocket)));
            } catch (AgentProxyException | RuntimeException | LinkageError unavailable) {
                agent = null;
            }
        }
        if (agent == null && files.isEmpty()) {
            throw new HostUnreachableException(host, "no SSH key to log in with: set the key setting, start "
                    + "ssh-agent (SSH_AUTH_SOCK), or create " + Path.of(home, ".ssh", "id_ed25519"));
        }
        String description;
        if (agent != null) {
            description = "the keys in ssh-agent (" + agentSocket + ")"
                    + (names.isEmpty() ? "" : " and " + String.join(", ", names));
        } else {
            description = (names.size() == 1 ? "key " : "keys ") + String.join(", ", names);
        }
        return new Source(new Combined(agent, files), description, agent == null && files.size() == 1);
    }

    /** ssh-agent's keys (asked at each login), then the key files. */
    private static final class Combined implements IdentityRepository {
        private final IdentityRepository agent;
        private final List<Identity> files;

        Combined(IdentityRepository agent, List<Identity> files) {
            this.agent = agent;
            this.files = List.copyOf(files);
        }

        @Override
        public String getName() {
            return "obplay";
        }

        @Override
        public int getStatus() {
            return RUNNING;
        }

        @Override
        public Vector<Identity> getIdentities() {
            Vector<Identity> v = new Vector<>();
            if (agent != null) {
                try {
                    v.addAll(agent.getIdentities());
                } catch (RuntimeException agentGone) {
                    // fall back to the files
                }
            }
            v.addAll(files);
            return v;
        }

        @Override
        public boolean add(byte[] identity) {
            return false;
        }

        @Override
        public boolean remove(byte[] blob) {
            return false;
        }

        @Override
        public void removeAll() {
        }
    }
}
