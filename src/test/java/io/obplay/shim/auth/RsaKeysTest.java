package io.obplay.shim.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.obplay.shim.ObshellTestClient;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RsaKeysTest {

    private static final RsaKeys KEYS = RsaKeys.generate();
    private static final RsaKeys BIG = RsaKeys.generate(2048);

    @TempDir
    Path tmp;

    @Test
    void publicKeyIsPkcs1RsaPublicKeyNotSpki() throws Exception {
        byte[] der = Base64.getDecoder().decode(KEYS.publicKeyBase64());

        // Parse it by hand: SEQUENCE { INTEGER n, INTEGER e } and nothing else.
        Der.Reader top = new Der.Reader(der);
        Der.Element seq = top.expect(Der.SEQUENCE);
        top.expectEnd();
        Der.Reader inner = new Der.Reader(seq.contents());
        Der.Element n = inner.next();
        Der.Element e = inner.next();
        inner.expectEnd();
        assertEquals(Der.INTEGER, n.tag(), "first element is the modulus INTEGER, not SPKI's AlgorithmIdentifier");
        assertEquals(Der.INTEGER, e.tag());
        assertEquals(KEYS.publicKey().getModulus(), new BigInteger(n.contents()));
        assertEquals(BigInteger.valueOf(65537), new BigInteger(e.contents()));

        // Not SPKI: Java's X.509 parser refuses it, and it differs from getEncoded().
        assertThrows(InvalidKeySpecException.class,
                () -> KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(der)));
        byte[] spki = KEYS.publicKey().getEncoded();
        assertNotEquals(spki.length, der.length);
        assertArrayEquals(der, Arrays.copyOfRange(spki, spki.length - der.length, spki.length),
                "the PKCS#1 key is the BIT STRING payload at the end of the SPKI");

        // Round trip through the public parser; the parser refuses SPKI.
        assertEquals(KEYS.publicKey(), RsaKeys.parsePkcs1PublicKey(der));
        assertArrayEquals(der, RsaKeys.pkcs1Of(KEYS.publicKey()));
        assertArrayEquals(der, KEYS.publicKeyPkcs1());
        assertThrows(IllegalArgumentException.class, () -> RsaKeys.parsePkcs1PublicKey(spki));
    }

    @Test
    void keySizes() {
        assertEquals(1024, KEYS.bits());
        assertEquals(128, KEYS.blockSize());
        assertEquals(2048, BIG.bits());
        assertEquals(256, BIG.blockSize());
        assertThrows(IllegalArgumentException.class, () -> RsaKeys.generate(512));
        assertThrows(IllegalArgumentException.class, () -> RsaKeys.generate(4096));
    }

    @Test
    void decryptsFiftyThreeByteChunksBlockByBlock() throws Exception {
        byte[] plain = ("{\"auth\": \"p\u00e4ss\", \"ts\": \"1700000060\", \"uri\": \"/api/v1/ob/stop?x=1\", "
                + "\"keys\": \"" + "A".repeat(44) + "\"}").getBytes(StandardCharsets.UTF_8);
        for (RsaKeys k : new RsaKeys[] {KEYS, BIG}) {
            byte[] blocks = ObshellTestClient.rsaChunks(k.publicKey(), plain);
            int chunks = (plain.length + 52) / 53;
            assertEquals(chunks * k.blockSize(), blocks.length);
            assertArrayEquals(plain, k.decrypt(blocks));
        }
    }

    @Test
    void decryptRefusesPartialAndEmptyInput() throws Exception {
        byte[] blocks = ObshellTestClient.rsaChunks(KEYS.publicKey(), "hello".getBytes(StandardCharsets.US_ASCII));
        assertThrows(GeneralSecurityException.class, () -> KEYS.decrypt(new byte[0]));
        assertThrows(GeneralSecurityException.class, () -> KEYS.decrypt(Arrays.copyOf(blocks, 127)));
        byte[] other = ObshellTestClient.rsaChunks(RsaKeys.generate().publicKey(),
                "hello".getBytes(StandardCharsets.US_ASCII));
        assertThrows(GeneralSecurityException.class, () -> KEYS.decrypt(other));
    }

    @Test
    void savedKeyIsPrivateAndReloadsTheSame() throws Exception {
        Path f = tmp.resolve("state/shim_rsa.pem");
        RsaKeys created = RsaKeys.loadOrCreate(f, 1024);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        assertTrue(Files.readString(f).startsWith("-----BEGIN PRIVATE KEY-----\n"));
        RsaKeys again = RsaKeys.loadOrCreate(f, 1024);
        assertEquals(created.publicKeyBase64(), again.publicKeyBase64(), "a restart keeps the key");
        byte[] blocks = ObshellTestClient.rsaChunks(created.publicKey(), "x".getBytes(StandardCharsets.US_ASCII));
        assertArrayEquals("x".getBytes(StandardCharsets.US_ASCII), again.decrypt(blocks));

        Path g = tmp.resolve("big.pem");
        BIG.save(g);
        assertEquals(2048, RsaKeys.load(g).bits());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(g)));
        try (var s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temp file left");
        }
    }

    @Test
    void keyFileReadableByOthersIsRefused() throws Exception {
        Path f = tmp.resolve("k.pem");
        KEYS.save(f);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        IOException e = assertThrows(IOException.class, () -> RsaKeys.load(f));
        assertTrue(e.getMessage().contains("0644") && e.getMessage().contains("chmod 600"), e.getMessage());
    }

    @Test
    void malformedKeyFilesAreRefused() throws Exception {
        Path f = tmp.resolve("bad.pem");
        Files.writeString(f, "not a key");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        IOException e = assertThrows(IOException.class, () -> RsaKeys.load(f));
        assertTrue(e.getMessage().contains("PEM"), e.getMessage());
        Files.writeString(f, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        assertThrows(IOException.class, () -> RsaKeys.load(f));
        assertThrows(IOException.class, () -> RsaKeys.load(tmp.resolve("missing.pem")));
    }

    @Test
    void derParserIsStrict() {
        byte[] pkcs1 = KEYS.publicKeyPkcs1();
        byte[] trailing = Arrays.copyOf(pkcs1, pkcs1.length + 1);
        assertThrows(IllegalArgumentException.class, () -> Der.parsePkcs1PublicKey(trailing));
        byte[] truncated = Arrays.copyOf(pkcs1, pkcs1.length - 1);
        assertThrows(IllegalArgumentException.class, () -> Der.parsePkcs1PublicKey(truncated));
        // 0x81 0x05: a long-form length for a value that fits the short form.
        assertThrows(IllegalArgumentException.class,
                () -> Der.parsePkcs1PublicKey(new byte[] {0x30, (byte) 0x81, 0x05, 0x02, 0x01, 0x01, 0x02, 0x01}));
        // A negative modulus.
        assertThrows(IllegalArgumentException.class,
                () -> Der.parsePkcs1PublicKey(new byte[] {0x30, 0x06, 0x02, 0x01, (byte) 0x81, 0x02, 0x01, 0x03}));
        assertEquals(new Der.RsaPublic(BigInteger.valueOf(0x81), BigInteger.valueOf(3)),
                Der.parsePkcs1PublicKey(new byte[] {0x30, 0x07, 0x02, 0x02, 0x00, (byte) 0x81, 0x02, 0x01, 0x03}));
    }
}
