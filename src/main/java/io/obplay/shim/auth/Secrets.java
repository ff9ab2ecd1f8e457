package io.obplay.shim.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * The passwords {@code obplay serve} checks: the OceanBase root password ({@code X-OCS-Header}), the agent
 * password ({@code X-OCS-Agent-Header}) and the OCP user and password (HTTP Basic on the OCP endpoints).
 *
 * <p>Where they come from, per value, the first that is set winning:
 * <ol>
 *   <li>the environment: {@code OBPLAY_ROOT_PASSWORD}, {@code OBPLAY_AGENT_PASSWORD}, {@code OBPLAY_OCP_USER},
 *       {@code OBPLAY_OCP_PASSWORD};</li>
 *   <li>the {@code --secrets FILE}, a YAML mapping with the keys {@code root_password}, {@code agent_password},
 *       {@code ocp_user}, {@code ocp_password}, each optional:
 * <pre>
 * root_password: "s3cret"
 * agent_password: "4gent"
 * ocp_user: admin
 * ocp_password: "0cp"
 * </pre>
 *   </li>
 * </ol>
 * An empty value counts as not set. Values must be YAML strings: an unquoted {@code 0123} would be read as a
 * number (83, octal) and is refused with a hint to quote it; unknown keys are refused too. The file must
 * be private to its owner: if group or others can read or write it, it is refused with a message saying
 * how to fix it ({@code chmod 600}). {@link #describe()} says where each value came from, never the value.
 */
public final class Secrets {

    public static final String ENV_ROOT_PASSWORD = "OBPLAY_ROOT_PASSWORD";
    public static final String ENV_AGENT_PASSWORD = "OBPLAY_AGENT_PASSWORD";
    public static final String ENV_OCP_USER = "OBPLAY_OCP_USER";
    public static final String ENV_OCP_PASSWORD = "OBPLAY_OCP_PASSWORD";

    static final String KEY_ROOT_PASSWORD = "root_password";
    static final String KEY_AGENT_PASSWORD = "agent_password";
    static final String KEY_OCP_USER = "ocp_user";
    static final String KEY_OCP_PASSWORD = "ocp_password";

    private static final List<String> KEYS = List.of(KEY_ROOT_PASSWORD, KEY_AGENT_PASSWORD, KEY_OCP_USER,
            KEY_OCP_PASSWORD);
    private static final Map<String, String> ENV_OF = Map.of(KEY_ROOT_PASSWORD, ENV_ROOT_PASSWORD,
            KEY_AGENT_PASSWORD, ENV_AGENT_PASSWORD, KEY_OCP_USER, ENV_OCP_USER, KEY_OCP_PASSWORD, ENV_OCP_PASSWORD);
    private static final int MAX_FILE_BYTES = 64 * 1024;

    private final Map<String, String> values;  // key -> value, only set ones
    private final Map<String, String> sources; // key -> "env NAME" / "file PATH"

    private Secrets(Map<String, String> values, Map<String, String> sources) {
        this.values = Map.copyOf(values);
        this.sources = Map.copyOf(sources);
    }

    /** Secrets given directly (null or empty = not set); for tests and embedding. */
    public static Secrets of(String rootPassword, String agentPassword, String ocpUser, String ocpPassword) {
        Map<String, String> v = new LinkedHashMap<>();
        Map<String, String> s = new LinkedHashMap<>();
        String[] given = {rootPassword, agentPassword, ocpUser, ocpPassword};
        for (int i = 0; i < KEYS.size(); i++) {
            if (given[i] != null && !given[i].isEmpty()) {
                v.put(KEYS.get(i), given[i]);
                s.put(KEYS.get(i), "given");
            }
        }
        return checked(v, s);
    }

    /** The process environment only. */
    public static Secrets fromEnvironment() throws IOException {
        return load(System.getenv(), null);
    }

    /**
     * Reads {@code env} (normally {@code System.getenv()}) and, if {@code secretsFile} is not null, that file;
     * the environment wins per value. Throws IOException when the file is missing, unreadable, open to
     * group/others, or not a valid secrets file; IllegalArgumentException when an OCP user is set without a
     * password or the other way round.
     */
    public static Secrets load(Map<String, String> env, Path secretsFile) throws IOException {
        Map<String, String> v = new LinkedHashMap<>();
        Map<String, String> s = new LinkedHashMap<>();
        if (secretsFile != null) {
            Map<String, String> fromFile = readFile(secretsFile);
            for (var e : fromFile.entrySet()) {
                v.put(e.getKey(), e.getValue());
                s.put(e.getKey(), "file " + secretsFile);
            }
        }
        for (String key : KEYS) {
            String name = ENV_OF.get(key);
            String value = env.get(name);
            if (value != null && !value.isEmpty()) {
                v.put(key, value);
                s.put(key, "env " + name);
            }
        }
        return checked(v, s);
    }

    private static Secrets checked(Map<String, String> v, Map<String, String> s) {
        if (v.containsKey(KEY_OCP_USER) != v.containsKey(KEY_OCP_PASSWORD)) {
            throw new IllegalArgumentException("the OCP user and the OCP password must be set together ("
                    + ENV_OCP_USER + "/" + ENV_OCP_PASSWORD + " or " + KEY_OCP_USER + "/" + KEY_OCP_PASSWORD
                    + " in the secrets file)");
        }
        return new Secrets(v, s);
    }

    private static Map<String, String> readFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "secrets file not found (or not a regular file)");
        }
        FilePerms.requirePrivate(file, "secrets file");
        if (Files.size(file) > MAX_FILE_BYTES) {
            throw new IOException("secrets file " + file + " is larger than " + MAX_FILE_BYTES + " bytes");
        }
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Object doc;
        try {
            doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
        } catch (YAMLException e) {
            // SnakeYAML's messages quote the offending line: it may hold a password, so keep only the position.
            String where = e.getMessage() == null ? "" : e.getMessage().lines()
                    .filter(l -> l.contains("line ")).findFirst().map(String::strip).orElse("");
            throw new IOException("secrets file " + file + " is not valid YAML " + where);
        }
        if (doc == null) {
            return Map.of();
        }
        if (!(doc instanceof Map<?, ?> map)) {
            throw new IOException("secrets file " + file + " must be a YAML mapping with the keys " + KEYS);
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (var e : map.entrySet()) {
            String key = String.valueOf(e.getKey());
            if (!KEYS.contains(key)) {
                throw new IOException("secrets file " + file + ": unknown key '" + key + "'; the keys are " + KEYS);
            }
            Object value = e.getValue();
            if (value == null) {
                continue;
            }
            if (!(value instanceof String str)) {
                throw new IOException("secrets file " + file + ": the value of '" + key + "' is a YAML "
                        + value.getClass().getSimpleName().toLowerCase() + ", not a string; put it in quotes");
            }
            if (!str.isEmpty()) {
                out.put(key, str);
            }
        }
        return out;
    }

    public Optional<String> rootPassword() {
        return Optional.ofNullable(values.get(KEY_ROOT_PASSWORD));
    }

    public Optional<String> agentPassword() {
        return Optional.ofNullable(values.get(KEY_AGENT_PASSWORD));
    }

    public Optional<String> ocpUser() {
        return Optional.ofNullable(values.get(KEY_OCP_USER));
    }

    public Optional<String> ocpPassword() {
        return Optional.ofNullable(values.get(KEY_OCP_PASSWORD));
    }

    /** True when at least one secret is set. */
    public boolean anySet() {
        return !values.isEmpty();
    }

    /** Where each secret came from, e.g. {@code root_password: env OBPLAY_ROOT_PASSWORD}; never the values. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        for (String key : KEYS) {
            if (b.length() > 0) {
                b.append("; ");
            }
            b.append(key).append(": ").append(sources.getOrDefault(key, "not set"));
        }
        return b.toString();
    }

    /** The source of one secret ({@code env NAME}, {@code file PATH}, {@code given}), or empty if not set. */
    public Optional<String> sourceOf(String key) {
        return Optional.ofNullable(sources.get(key));
    }

    @Override
    public String toString() {
        return "Secrets[" + describe() + "]";
    }
}
