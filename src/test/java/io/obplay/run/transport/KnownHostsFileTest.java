package io.obplay.run.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KnownHostsFileTest {

    @TempDir
    Path tmp;

    private byte[] newKey(String name) throws Exception {
        Path k = tmp.resolve(name);
        T.Result r = T.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                k.toString());
        assertTrue(r.ok(), r.toString());
        return Base64.getDecoder().decode(Files.readString(Path.of(k + ".pub")).split(" ")[1]);
    }

    private static String line(String hosts, byte[] key) {
        return hosts + " ssh-ed25519 " + Base64.getEncoder().encodeToString(key);
    }

    @Test
    void plainPortWildcardNegatedAndRevokedEntries() throws Exception {
        byte[] a = newKey("a");
        byte[] b = newKey("b");
        Path f = tmp.resolve("kh");
        Files.write(f, List.of(
                "# comment",
                line("10.0.0.1,alpha", a),
                line("[10.0.0.2]:2222", a),
                line("10.0.1.*,!10.0.1.9", b),
                "@revoked " + line("*", b).replace("ssh-ed25519", "ssh-ed25519"),
                "garbage line"));
        KnownHostsFile kh = KnownHostsFile.of(f);
        assertEquals(KnownHostsFile.Status.MATCH, kh.verify("10.0.0.1", a).status());
        assertEquals(KnownHostsFile.Status.MATCH, kh.verify("alpha", a).status());
        KnownHostsFile.Verdict changed = kh.verify("10.0.0.1", newKey("c"));
        assertEquals(KnownHostsFile.Status.CHANGED, changed.status());
        assertEquals(2, changed.line(), "the line that records the old key");
        assertEquals(KnownHostsFile.Status.UNKNOWN, kh.verify("10.0.0.2", a).status(), "port 22 is another entry");
        assertEquals(KnownHostsFile.Status.MATCH,
                kh.verify(KnownHostsFile.lookupName("10.0.0.2", 2222), a).status());
        // b is revoked everywhere, even where a positive entry lists it
        assertEquals(KnownHostsFile.Status.REVOKED, kh.verify("10.0.1.5", b).status());
        assertEquals(5, kh.verify("10.0.1.5", b).line());
        assertTrue(KnownHostsFile.hostMatches("10.0.1.*,!10.0.1.9", "10.0.1.5"));
        assertFalse(KnownHostsFile.hostMatches("10.0.1.*,!10.0.1.9", "10.0.1.9"));
        assertTrue(KnownHostsFile.hostMatches("db?.example.com", "db1.example.com"));
        assertEquals("[10.0.0.2]:2222", KnownHostsFile.lookupName("10.0.0.2", 2222));
        assertEquals("host-a", KnownHostsFile.lookupName("HOST-A", 22));
    }

    @Test
    void hashedEntriesWrittenByOpenSshMatch() throws Exception {
        byte[] a = newKey("a");
        Path f = tmp.resolve("kh");
        Files.write(f, List.of(line("10.9.9.9", a), line("[10.9.9.8]:2200", a)));
        T.Result r = T.run("ssh-keygen", "-H", "-f", f.toString());
        assertTrue(r.ok(), r.toString());
        String text = Files.readString(f);
        assertFalse(text.contains("10.9.9"), "hashed: " + text);
        KnownHostsFile kh = KnownHostsFile.of(f);
        assertEquals(KnownHostsFile.Status.MATCH, kh.verify("10.9.9.9", a).status());
        assertEquals(KnownHostsFile.Status.MATCH, kh.verify("[10.9.9.8]:2200", a).status());
        assertEquals(KnownHostsFile.Status.UNKNOWN, kh.verify("10.9.9.7", a).status());
    }

    @Test
    void addCreatesPrivateFileAndDirsAndOpenSshFindsTheEntry() throws Exception {
        byte[] a = newKey("a");
        Path f = tmp.resolve("new/dir/known_hosts");
        KnownHostsFile kh = KnownHostsFile.of(f);
        assertEquals(KnownHostsFile.Status.UNKNOWN, kh.verify("[127.0.0.9]:2022", a).status());
        assertEquals(KnownHostsFile.Status.MATCH, kh.addIfUnknown("[127.0.0.9]:2022", a).status());
        assertEquals(KnownHostsFile.Status.MATCH, kh.addIfUnknown("[127.0.0.9]:2022", a).status());
        assertEquals(1, Files.readAllLines(f).size(), "added once");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.getParent())));
        T.Result r = T.run("ssh-keygen", "-F", "[127.0.0.9]:2022", "-f",
                f.toString());
        assertTrue(r.ok() && r.stdout().contains("ssh-ed25519"), r.toString());
        // another key for the same host is not added, it is a change
        assertEquals(KnownHostsFile.Status.CHANGED, kh.addIfUnknown("[127.0.0.9]:2022", newKey("b")).status());
        assertEquals(1, Files.readAllLines(f).size());
    }

    @Test
    void fingerprintIsOpenSshs() throws Exception {
        byte[] a = newKey("a");
        T.Result r = T.run("ssh-keygen", "-l", "-E", "sha256", "-f",
                tmp.resolve("a.pub").toString());
        assertTrue(r.stdout().contains(KnownHostsFile.fingerprint(a)), r + " vs " + KnownHostsFile.fingerprint(a));
        assertEquals("ssh-ed25519", KnownHostsFile.keyType(a));
    }
}
