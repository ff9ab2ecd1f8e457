package io.obplay.shim.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretsTest {

    @TempDir
    Path tmp;

    private Path file(String text, String perms) throws IOException {
        Path f = tmp.resolve("secrets.yaml");
        Files.writeString(f, text);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
        return f;
    }

    @Test
    void fileReadableByOthersIsRefused() throws Exception {
        Path f = file("root_password: \"r\"\n", "rw-r--r--");
        IOException e = assertThrows(IOException.class, () -> Secrets.load(Map.of(), f));
        assertTrue(e.getMessage().contains("0644"), e.getMessage());
        assertTrue(e.getMessage().contains("chmod 600 " + f), e.getMessage());
        assertFalse(e.getMessage().contains("\"r\""), "the message does not echo the secret");
    }

    @Test
    void fileReadableByGroupIsRefused() throws Exception {
        Path f = file("root_password: \"r\"\n", "rw-r-----");
        IOException e = assertThrows(IOException.class, () -> Secrets.load(Map.of(), f));
        assertTrue(e.getMessage().contains("0640"), e.getMessage());
    }

    @Test
    void privateFileIsAccepted() throws Exception {
        Path f = file("root_password: \"r00t\"\nagent_password: 'ag:ent'\nocp_user: admin\nocp_password: \"0123\"\n",
                "rw-------");
        Secrets s = Secrets.load(Map.of(), f);
        assertEquals(Optional.of("r00t"), s.rootPassword());
        assertEquals(Optional.of("ag:ent"), s.agentPassword());
        assertEquals(Optional.of("admin"), s.ocpUser());
        assertEquals(Optional.of("0123"), s.ocpPassword());
        assertTrue(s.anySet());
        assertEquals(Optional.of("file " + f), s.sourceOf("root_password"));
    }

    @Test
    void environmentWinsOverTheFilePerValue() throws Exception {
        Path f = file("root_password: \"from-file\"\nagent_password: \"agent-file\"\n", "rw-------");
        Map<String, String> env = Map.of(Secrets.ENV_ROOT_PASSWORD, "from-env",
                Secrets.ENV_OCP_USER, "ocp", Secrets.ENV_OCP_PASSWORD, "pw",
                Secrets.ENV_AGENT_PASSWORD, "");  // empty = not set: the file's value stays
        Secrets s = Secrets.load(env, f);
        assertEquals(Optional.of("from-env"), s.rootPassword());
        assertEquals(Optional.of("agent-file"), s.agentPassword());
        assertEquals(Optional.of("ocp"), s.ocpUser());
        String d = s.describe();
        assertTrue(d.contains("root_password: env OBPLAY_ROOT_PASSWORD"), d);
        assertTrue(d.contains("agent_password: file " + f), d);
        assertFalse(d.contains("from-env") || d.contains("agent-file") || d.contains(": pw"), "no values shown: " + d);
        assertFalse(s.toString().contains("from-env"));
    }

    @Test
    void environmentAlone() throws Exception {
        Secrets s = Secrets.load(Map.of(Secrets.ENV_AGENT_PASSWORD, "a"), null);
        assertEquals(Optional.empty(), s.rootPassword());
        assertEquals(Optional.of("a"), s.agentPassword());
        assertTrue(s.anySet());
        Secrets none = Secrets.load(Map.of("PATH", "/bin"), null);
        assertFalse(none.anySet());
        assertTrue(none.describe().contains("root_password: not set"));
    }

    @Test
    void unquotedNumbersAndUnknownKeysAreRefused() throws Exception {
        Path f = file("root_password: 0123\n", "rw-------");
        IOException e = assertThrows(IOException.class, () -> Secrets.load(Map.of(), f));
        assertTrue(e.getMessage().contains("quotes"), e.getMessage());
        Path g = file("root_pasword: \"x\"\n", "rw-------");
        IOException e2 = assertThrows(IOException.class, () -> Secrets.load(Map.of(), g));
        assertTrue(e2.getMessage().contains("unknown key 'root_pasword'"), e2.getMessage());
        Path h = file("- a\n- b\n", "rw-------");
        assertThrows(IOException.class, () -> Secrets.load(Map.of(), h));
        Path bad = file("root_password: \"unterminated\n", "rw-------");
        IOException e3 = assertThrows(IOException.class, () -> Secrets.load(Map.of(), bad));
        assertFalse(e3.getMessage().contains("unterminated"), "YAML errors do not echo the file: " + e3.getMessage());
    }

    @Test
    void emptyFileAndEmptyValuesMeanNotSet() throws Exception {
        assertFalse(Secrets.load(Map.of(), file("", "rw-------")).anySet());
        Secrets s = Secrets.load(Map.of(), file("root_password: \"\"\nagent_password:\n", "rw-------"));
        assertFalse(s.anySet());
    }

    @Test
    void ocpUserAndPasswordGoTogether() throws Exception {
        assertThrows(IllegalArgumentException.class,
                () -> Secrets.load(Map.of(Secrets.ENV_OCP_USER, "admin"), null));
        assertThrows(IllegalArgumentException.class, () -> Secrets.of(null, null, null, "pw"));
    }

    @Test
    void missingFileIsAnError() {
        assertThrows(NoSuchFileException.class, () -> Secrets.load(Map.of(), tmp.resolve("nope.yaml")));
        assertThrows(NoSuchFileException.class, () -> Secrets.load(Map.of(), tmp));
    }
}
