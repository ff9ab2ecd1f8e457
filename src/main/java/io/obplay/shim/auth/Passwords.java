package io.obplay.shim.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;

/** Constant-time secret comparison and case-insensitive header lookup. */
final class Passwords {

    private Passwords() {
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }

    static byte[] digest(String secret) {
        return sha256(secret.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Whether {@code given} is the secret whose SHA-256 is {@code expectedDigest}. Both sides are 32-byte
     * digests compared with {@link MessageDigest#isEqual}, so the time taken does not depend on where they
     * differ nor on the length of either password.
     */
    static boolean matches(String given, byte[] expectedDigest) {
        return MessageDigest.isEqual(digest(given == null ? "" : given), expectedDigest);
    }

    /** The first non-empty value of header {@code name}, looked up case-insensitively; null when none. */
    static String header(Map<String, ? extends List<String>> headers, String name) {
        if (headers == null) {
            return null;
        }
        for (var e : headers.entrySet()) {
            if (e.getKey() != null && e.getKey().equalsIgnoreCase(name) && e.getValue() != null) {
                for (String v : e.getValue()) {
                    if (v != null && !v.isBlank()) {
                        return v.strip();
                    }
                }
            }
        }
        return null;
    }
}
