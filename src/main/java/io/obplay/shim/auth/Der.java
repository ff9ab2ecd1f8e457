package io.obplay.shim.auth;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.util.Arrays;

/**
 * The little DER (ASN.1) this package needs: turning the X.509 SubjectPublicKeyInfo that Java's
 * {@code getEncoded()} gives into the PKCS#1 RSAPublicKey that obshell publishes, and back. Strict: definite
 * minimal lengths only, no trailing bytes.
 *
 * <pre>
 * SubjectPublicKeyInfo ::= SEQUENCE { algorithm SEQUENCE { OID 1.2.840.113549.1.1.1, NULL },
 *                                     subjectPublicKey BIT STRING (0 unused bits, holding RSAPublicKey) }
 * RSAPublicKey         ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
 * </pre>
 */
final class Der {

    static final int INTEGER = 0x02;
    static final int BIT_STRING = 0x03;
    static final int NULL = 0x05;
    static final int OID = 0x06;
    static final int SEQUENCE = 0x30;

    /** DER of OID 1.2.840.113549.1.1.1 (rsaEncryption), contents only. */
    static final byte[] RSA_ENCRYPTION = {0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01};

    private Der() {
    }

    /** The modulus and public exponent of an RSA public key. */
    record RsaPublic(BigInteger modulus, BigInteger exponent) {
    }

    /** One element: its tag and contents. */
    record Element(int tag, byte[] contents) {
    }

    /** Reads consecutive elements from a byte range. */
    static final class Reader {
        private final byte[] data;
        private int pos;

        Reader(byte[] data) {
            this.data = data;
        }

        boolean atEnd() {
            return pos == data.length;
        }

        Element next() {
            if (pos + 2 > data.length) {
                throw new IllegalArgumentException("DER: truncated element at offset " + pos);
            }
            int tag = data[pos++] & 0xff;
            int first = data[pos++] & 0xff;
            int length;
            if (first < 0x80) {
                length = first;
            } else {
                int n = first & 0x7f;
                if (n == 0 || n > 4) {
                    throw new IllegalArgumentException("DER: unsupported length form at offset " + (pos - 1));
                }
                if (pos + n > data.length) {
                    throw new IllegalArgumentException("DER: truncated length at offset " + pos);
                }
                long l = 0;
                for (int i = 0; i < n; i++) {
                    l = (l << 8) | (data[pos++] & 0xff);
                }
                if (l < 0x80 || (n > 1 && l < (1L << (8 * (n - 1))))) {
                    throw new IllegalArgumentException("DER: non-minimal length");
                }
                if (l > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("DER: length too large");
                }
                length = (int) l;
            }
            if (length > data.length - pos) {
                throw new IllegalArgumentException("DER: element runs past the end (" + length + " bytes at offset "
                        + pos + " of " + data.length + ")");
            }
            byte[] contents = Arrays.copyOfRange(data, pos, pos + length);
            pos += length;
            return new Element(tag, contents);
        }

        Element expect(int tag) {
            Element e = next();
            if (e.tag() != tag) {
                throw new IllegalArgumentException(String.format("DER: expected tag 0x%02x, found 0x%02x", tag, e.tag()));
            }
            return e;
        }

        void expectEnd() {
            if (!atEnd()) {
                throw new IllegalArgumentException("DER: " + (data.length - pos) + " trailing bytes");
            }
        }
    }

    /** The sole element of {@code der}, which must be exactly one element of the given tag. */
    static Element single(byte[] der, int tag) {
        Reader r = new Reader(der);
        Element e = r.expect(tag);
        r.expectEnd();
        return e;
    }

    /** Parses a PKCS#1 RSAPublicKey. Throws IllegalArgumentException if {@code der} is anything else (SPKI included). */
    static RsaPublic parsePkcs1PublicKey(byte[] der) {
        Reader seq = new Reader(single(der, SEQUENCE).contents());
        BigInteger n = positiveInteger(seq.expect(INTEGER));
        BigInteger e = positiveInteger(seq.expect(INTEGER));
        seq.expectEnd();
        return new RsaPublic(n, e);
    }

    /** Extracts the PKCS#1 RSAPublicKey from an X.509 SubjectPublicKeyInfo holding an rsaEncryption key. */
    static byte[] spkiToPkcs1(byte[] spki) {
        Reader outer = new Reader(single(spki, SEQUENCE).contents());
        Reader algorithm = new Reader(outer.expect(SEQUENCE).contents());
        Element oid = algorithm.expect(OID);
        if (!Arrays.equals(oid.contents(), RSA_ENCRYPTION)) {
            throw new IllegalArgumentException("DER: not an rsaEncryption key");
        }
        if (!algorithm.atEnd()) {
            Element params = algorithm.expect(NULL);
            if (params.contents().length != 0) {
                throw new IllegalArgumentException("DER: rsaEncryption parameters must be NULL");
            }
        }
        algorithm.expectEnd();
        byte[] bits = outer.expect(BIT_STRING).contents();
        outer.expectEnd();
        if (bits.length < 1 || bits[0] != 0) {
            throw new IllegalArgumentException("DER: subjectPublicKey must have 0 unused bits");
        }
        byte[] pkcs1 = Arrays.copyOfRange(bits, 1, bits.length);
        parsePkcs1PublicKey(pkcs1); // validate
        return pkcs1;
    }

    /** Encodes a PKCS#1 RSAPublicKey. */
    static byte[] pkcs1PublicKey(BigInteger modulus, BigInteger exponent) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        writeElement(body, INTEGER, modulus.toByteArray());
        writeElement(body, INTEGER, exponent.toByteArray());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeElement(out, SEQUENCE, body.toByteArray());
        return out.toByteArray();
    }

    private static BigInteger positiveInteger(Element e) {
        byte[] c = e.contents();
        if (c.length == 0) {
            throw new IllegalArgumentException("DER: empty INTEGER");
        }
        if (c.length > 1 && ((c[0] == 0 && (c[1] & 0x80) == 0) || (c[0] == (byte) 0xff && (c[1] & 0x80) != 0))) {
            throw new IllegalArgumentException("DER: non-minimal INTEGER");
        }
        BigInteger v = new BigInteger(c);
        if (v.signum() <= 0) {
            throw new IllegalArgumentException("DER: INTEGER must be positive");
        }
        return v;
    }

    private static void writeElement(ByteArrayOutputStream out, int tag, byte[] contents) {
        out.write(tag);
        int len = contents.length;
        if (len < 0x80) {
            out.write(len);
        } else {
            int n = (32 - Integer.numberOfLeadingZeros(len) + 7) / 8;
            out.write(0x80 | n);
            for (int i = n - 1; i >= 0; i--) {
                out.write((len >>> (8 * i)) & 0xff);
            }
        }
        out.writeBytes(contents);
    }
}
