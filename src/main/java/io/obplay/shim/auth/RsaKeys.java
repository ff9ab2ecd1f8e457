package io.obplay.shim.auth;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import java.util.Set;
import javax.crypto.Cipher;

/**
 * The RSA key pair of the obshell-compatible server.
 *
 * <p>{@link #publicKeyBase64()} is what {@code GET /api/v1/secret} returns as {@code public_key}: base64 of the
 * <b>PKCS#1 RSAPublicKey</b> DER ({@code SEQUENCE {n, e}}), as obshell's {@code x509.MarshalPKCS1PublicKey}
 * gives, not the X.509 SubjectPublicKeyInfo of Java's {@code getEncoded()}. Clients split their plaintext in
 * 53-byte chunks and encrypt each with RSA PKCS#1 v1.5; {@link #decrypt(byte[])} undoes that block by block.
 *
 * <p>Keys are 1024-bit by default, as obshell's ({@code KEY_SIZE = 1024}); 2048 is allowed (the SDKs' 53-byte
 * chunks fit any size). The private key is kept in a PEM file ({@code -----BEGIN PRIVATE KEY-----}, PKCS#8)
 * created with mode 0600, so a restarted server keeps the key its clients cached; a key file that group or
 * others can read is refused.
 */
public final class RsaKeys {

    public static final int DEFAULT_BITS = 1024;

    private static final String PEM_BEGIN = "-----BEGIN PRIVATE KEY-----";
    private static final String PEM_END = "-----END PRIVATE KEY-----";
    private static final String TRANSFORMATION = "RSA/ECB/PKCS1Padding";

    private final RSAPrivateCrtKey privateKey;
    private final RSAPublicKey publicKey;
    private final byte[] publicPkcs1;

    private RsaKeys(RSAPrivateCrtKey privateKey) {
        this.privateKey = privateKey;
        try {
            this.publicKey = (RSAPublicKey) KeyFactory.getInstance("RSA")
                    .generatePublic(new RSAPublicKeySpec(privateKey.getModulus(), privateKey.getPublicExponent()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot derive the RSA public key", e);
        }
        this.publicPkcs1 = Der.spkiToPkcs1(publicKey.getEncoded());
    }

    /** A fresh 1024-bit key pair, as obshell makes. */
    public static RsaKeys generate() {
        return generate(DEFAULT_BITS);
    }

    /** A fresh key pair of 1024 or 2048 bits, public exponent 65537. */
    public static RsaKeys generate(int bits) {
        if (bits != 1024 && bits != 2048) {
            throw new IllegalArgumentException("RSA key size must be 1024 or 2048 bits, not " + bits);
        }
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(new RSAKeyGenParameterSpec(bits, RSAKeyGenParameterSpec.F4), new SecureRandom());
            return new RsaKeys((RSAPrivateCrtKey) g.generateKeyPair().getPrivate());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate an RSA key pair", e);
        }
    }

    /**
     * Loads the key in {@code file}, or if there is none, generates one of {@code bits} and saves it there.
     * Throws IOException if the file exists but is unreadable, malformed or open to group/others.
     */
    public static RsaKeys loadOrCreate(Path file, int bits) throws IOException {
        if (Files.exists(file)) {
            return load(file);
        }
        RsaKeys keys = generate(bits);
        try {
            keys.save(file, false);
        } catch (FileAlreadyExistsException raced) {
            return load(file); // another process created it first: use theirs
        }
        return keys;
    }

    /** Loads a PKCS#8 PEM private key written by {@link #save(Path)} (or by {@code openssl genpkey}). */
    public static RsaKeys load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "RSA key file not found (or not a regular file)");
        }
        FilePerms.requirePrivate(file, "RSA private key file");
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        int b = text.indexOf(PEM_BEGIN);
        int e = text.indexOf(PEM_END);
        if (b < 0 || e < b) {
            throw new IOException(file + ": not a PEM '" + PEM_BEGIN + "' (PKCS#8) RSA private key");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(text.substring(b + PEM_BEGIN.length(), e));
        } catch (IllegalArgumentException ex) {
            throw new IOException(file + ": bad base64 in the PEM body: " + ex.getMessage(), ex);
        }
        try {
            var key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
            if (!(key instanceof RSAPrivateCrtKey crt)) {
                throw new IOException(file + ": the RSA private key lacks its CRT parameters (public exponent)");
            }
            int bits = crt.getModulus().bitLength();
            if (bits < 1024) {
                throw new IOException(file + ": RSA key of " + bits + " bits is too small (1024 at least)");
            }
            return new RsaKeys(crt);
        } catch (InvalidKeySpecException | NoSuchAlgorithmException ex) {
            throw new IOException(file + ": not a PKCS#8 RSA private key: " + ex.getMessage(), ex);
        }
    }

    /** Writes the private key to {@code file} (PKCS#8 PEM, mode 0600), replacing any file there. */
    public void save(Path file) throws IOException {
        save(file, true);
    }

    private void save(Path file, boolean replace) throws IOException {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Set<PosixFilePermission> owner = PosixFilePermissions.fromString("rw-------");
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp",
                PosixFilePermissions.asFileAttribute(owner));
        try {
            Files.writeString(tmp, pem(), StandardCharsets.US_ASCII);
            Files.setPosixFilePermissions(tmp, owner); // in case a umask or ACL widened it
            if (replace) {
                try {
                    Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
                }
            } else {
                Files.move(tmp, abs); // FileAlreadyExistsException if someone was first
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private String pem() {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(privateKey.getEncoded());
        return PEM_BEGIN + "\n" + body + "\n" + PEM_END + "\n";
    }

    /** Base64 of the PKCS#1 RSAPublicKey DER: the {@code public_key} of {@code GET /api/v1/secret}. */
    public String publicKeyBase64() {
        return Base64.getEncoder().encodeToString(publicPkcs1);
    }

    /** The PKCS#1 RSAPublicKey DER ({@code SEQUENCE {modulus, publicExponent}}). */
    public byte[] publicKeyPkcs1() {
        return publicPkcs1.clone();
    }

    public RSAPublicKey publicKey() {
        return publicKey;
    }

    public int bits() {
        return publicKey.getModulus().bitLength();
    }

    private final java.util.concurrent.atomic.AtomicLong blocksDecrypted = new java.util.concurrent.atomic.AtomicLong();

    /** The RSA block size: the modulus length in bytes (128 for 1024-bit keys). */
    public int blockSize() {
        return (bits() + 7) / 8;
    }

    /**
     * Decrypts concatenated RSA/ECB/PKCS1Padding blocks, each {@link #blockSize()} bytes, and concatenates
     * the plaintexts. Throws GeneralSecurityException when the input is empty, not a whole number of blocks,
     * or a block does not decrypt.
     */
    public byte[] decrypt(byte[] blocksConcatenated) throws GeneralSecurityException {
        int k = blockSize();
        if (blocksConcatenated.length == 0 || blocksConcatenated.length % k != 0) {
            throw new GeneralSecurityException("ciphertext of " + blocksConcatenated.length
                    + " bytes is not a whole number of " + k + "-byte RSA blocks");
        }
        Cipher cipher = Cipher.getInstance(TRANSFORMATION);
        cipher.init(Cipher.DECRYPT_MODE, privateKey);
        ByteArrayOutputStream out = new ByteArrayOutputStream(blocksConcatenated.length);
        for (int off = 0; off < blocksConcatenated.length; off += k) {
            blocksDecrypted.incrementAndGet();
            out.writeBytes(cipher.doFinal(blocksConcatenated, off, k));
        }
        return out.toByteArray();
    }

    /** How many RSA blocks {@link #decrypt(byte[])} has decrypted (or tried to) with this key so far. */
    public long blocksDecrypted() {
        return blocksDecrypted.get();
    }

    /** Parses a PKCS#1 RSAPublicKey DER (what {@code /api/v1/secret} gives, base64-decoded). Rejects SPKI. */
    public static RSAPublicKey parsePkcs1PublicKey(byte[] pkcs1Der) {
        Der.RsaPublic p = Der.parsePkcs1PublicKey(pkcs1Der);
        try {
            return (RSAPublicKey) KeyFactory.getInstance("RSA")
                    .generatePublic(new RSAPublicKeySpec(p.modulus(), p.exponent()));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not an RSA public key: " + e.getMessage(), e);
        }
    }

    /** The PKCS#1 RSAPublicKey DER of any RSA public key. */
    public static byte[] pkcs1Of(RSAPublicKey key) {
        BigInteger n = key.getModulus();
        BigInteger e = key.getPublicExponent();
        return Der.pkcs1PublicKey(n, e);
    }

    @Override
    public String toString() {
        return "RsaKeys[" + bits() + " bits]";
    }
}
