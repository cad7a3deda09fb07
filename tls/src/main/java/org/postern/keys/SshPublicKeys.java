package org.postern.keys;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.BufferUnderflowException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.EdECPoint;
import java.security.spec.EdECPublicKeySpec;
import java.security.spec.NamedParameterSpec;
import java.security.spec.RSAPublicKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * OpenSSH public keys, user certificates and private key files in OpenSSH's own formats
 * (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709, PROTOCOL.certkeys, PROTOCOL.key), with the JDK alone:
 * what a laptop needs to hold an SSH identity, without the SSH library the bastion uses.
 */
public final class SshPublicKeys {
    private static final Map<String, String> CURVES = Map.of(
            "nistp256", "secp256r1", "nistp384", "secp384r1", "nistp521", "secp521r1");
    private static final String CERT_SUFFIX = "-cert-v01@openssh.com";

    private SshPublicKeys() {
    }

    /** An OpenSSH certificate, as far as a holder needs to read it. */
    public record Certificate(PublicKey publicKey, Type type, long serial, String keyId, List<String> principals,
                              Instant validAfter, Instant validBefore) {
        public enum Type { USER, HOST }

        public Certificate {
            principals = List.copyOf(principals);
        }
    }

    /** The key as one OpenSSH line's first two fields: {@code TYPE BASE64}. */
    public static String line(PublicKey key) {
        return typeOf(key) + " " + Base64.getEncoder().encodeToString(blob(key));
    }

    /**
     * Parses one OpenSSH public key line ({@code TYPE BASE64 [comment]}), as a device sends it.
     *
     * @throws IllegalArgumentException saying what was expected and found
     */
    public static PublicKey parse(String line) {
        String text = line == null ? "" : line.strip();
        if (text.isEmpty() || text.contains("\n")) {
            throw new IllegalArgumentException("SSH public key: expected one OpenSSH line like \"ecdsa-sha2-nistp256 AAAA…\","
                    + " found " + (text.isEmpty() ? "nothing" : "several lines"));
        }
        String[] fields = text.split("\\s+");
        try {
            if (fields.length < 2) {
                throw new IllegalArgumentException("no base64 key after the type");
            }
            ByteBuffer in = ByteBuffer.wrap(Base64.getDecoder().decode(fields[1]));
            String type = string(in);
            if (!type.equals(fields[0])) {
                throw new IllegalArgumentException("the line says " + fields[0] + " but the key is " + type);
            }
            PublicKey key = readKey(type, in);
            if (key == null) {
                throw new IllegalArgumentException("SSH public key: expected a supported key type, found \"" + fields[0] + "\"");
            }
            return key;
        } catch (IllegalArgumentException | BufferUnderflowException | GeneralSecurityException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("SSH public key:")) {
                throw (IllegalArgumentException) e;
            }
            throw new IllegalArgumentException("SSH public key: expected an OpenSSH line like \"ecdsa-sha2-nistp256 AAAA…\","
                    + " found \"" + abbreviate(text) + "\" (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Parses one OpenSSH certificate line ({@code TYPE-cert-v01@openssh.com BASE64 [comment]}).
     * The signature is not checked: the server that accepts the certificate does that.
     *
     * @throws IllegalArgumentException saying what was expected and found
     */
    public static Certificate parseCertificate(String line) {
        String text = line == null ? "" : line.strip();
        String[] fields = text.split("\\s+");
        try {
            if (fields.length < 2 || !fields[0].endsWith(CERT_SUFFIX)) {
                throw new IllegalArgumentException("expected an OpenSSH certificate line, found "
                        + (text.isEmpty() ? "nothing" : "a plain key or other text"));
            }
            ByteBuffer in = ByteBuffer.wrap(Base64.getDecoder().decode(fields[1]));
            String type = string(in);
            if (!type.equals(fields[0])) {
                throw new IllegalArgumentException("the line says " + fields[0] + " but the certificate is " + type);
            }
            bytes(in); // nonce
            PublicKey key = readKey(type.substring(0, type.length() - CERT_SUFFIX.length()), in);
            if (key == null) {
                throw new IllegalArgumentException("unsupported certificate key type " + type);
            }
            long serial = in.getLong();
            int kind = in.getInt();
            String keyId = string(in);
            ByteBuffer names = ByteBuffer.wrap(bytes(in));
            List<String> principals = new ArrayList<>();
            while (names.hasRemaining()) {
                principals.add(string(names));
            }
            long after = in.getLong();
            long before = in.getLong();
            return new Certificate(key, kind == 2 ? Certificate.Type.HOST : Certificate.Type.USER, serial, keyId, principals,
                    instant(after), instant(before));
        } catch (IllegalArgumentException | BufferUnderflowException | GeneralSecurityException e) {
            throw new IllegalArgumentException("expected an OpenSSH certificate line, found \"" + abbreviate(text) + "\": "
                    + e.getMessage(), e);
        }
    }

    /**
     * An unencrypted OpenSSH private key file ({@code -----BEGIN OPENSSH PRIVATE KEY-----}) for an
     * EC key pair, as {@code ssh-keygen} writes one.
     */
    public static byte[] privateKeyFile(KeyPair keys, String comment, SecureRandom random) {
        if (!(keys.getPublic() instanceof ECPublicKey pub) || !(keys.getPrivate() instanceof ECPrivateKey priv)) {
            throw new IllegalArgumentException("expected an EC key pair, found " + keys.getPublic().getAlgorithm());
        }
        String type = typeOf(pub);
        Out section = new Out();
        int check = random.nextInt();
        section.u32(check).u32(check).string(type).string(curveName(pub.getParams())).bytes(point(pub))
                .mpint(priv.getS()).string(comment);
        for (int pad = 1; section.size() % 8 != 0; pad++) {
            section.write(pad);
        }
        Out file = new Out();
        file.writeBytes("openssh-key-v1\0".getBytes(StandardCharsets.US_ASCII));
        file.string("none").string("none").string("").u32(1).bytes(blob(pub)).bytes(section.toByteArray());
        String body = Base64.getMimeEncoder(70, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(file.toByteArray());
        return ("-----BEGIN OPENSSH PRIVATE KEY-----\n" + body + "\n-----END OPENSSH PRIVATE KEY-----\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static String typeOf(PublicKey key) {
        return switch (key) {
            case ECPublicKey ec -> "ecdsa-sha2-" + curveName(ec.getParams());
            case EdECPublicKey ed when ed.getParams().getName().equalsIgnoreCase("Ed25519") -> "ssh-ed25519";
            case RSAPublicKey r -> "ssh-rsa";
            default -> throw new IllegalArgumentException("SSH public key: expected an EC, Ed25519 or RSA key, found " + key.getAlgorithm());
        };
    }

    private static byte[] blob(PublicKey key) {
        Out out = new Out().string(typeOf(key));
        switch (key) {
            case ECPublicKey ec -> out.string(curveName(ec.getParams())).bytes(point(ec));
            case EdECPublicKey ed -> out.bytes(ed25519(ed.getPoint()));
            case RSAPublicKey r -> out.mpint(r.getPublicExponent()).mpint(r.getModulus());
            default -> throw new IllegalArgumentException("SSH public key: expected an EC, Ed25519 or RSA key, found " + key.getAlgorithm());
        }
        return out.toByteArray();
    }

    /** The key after its type in a blob, or null for a type not read here. */
    private static @Nullable PublicKey readKey(String type, ByteBuffer in) throws GeneralSecurityException {
        if (type.startsWith("ecdsa-sha2-")) {
            String curve = string(in);
            String jdkCurve = CURVES.get(curve);
            if (jdkCurve == null || !type.equals("ecdsa-sha2-" + curve)) {
                return null;
            }
            ECParameterSpec params = params(jdkCurve);
            byte[] q = bytes(in);
            int n = (params.getCurve().getField().getFieldSize() + 7) / 8;
            if (q.length != 1 + 2 * n || q[0] != 4) {
                throw new IllegalArgumentException("expected an uncompressed " + curve + " point, found " + q.length + " bytes");
            }
            ECPoint w = new ECPoint(new BigInteger(1, Arrays.copyOfRange(q, 1, 1 + n)), new BigInteger(1, Arrays.copyOfRange(q, 1 + n, q.length)));
            return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, params));
        }
        return switch (type) {
            case "ssh-ed25519" -> {
                byte[] le = bytes(in);
                if (le.length != 32) {
                    throw new IllegalArgumentException("expected a 32-byte Ed25519 key, found " + le.length + " bytes");
                }
                boolean xOdd = (le[31] & 0x80) != 0;
                byte[] be = new byte[32];
                for (int i = 0; i < 32; i++) {
                    be[i] = le[31 - i];
                }
                be[0] &= 0x7f;
                yield KeyFactory.getInstance("Ed25519").generatePublic(
                        new EdECPublicKeySpec(NamedParameterSpec.ED25519, new EdECPoint(xOdd, new BigInteger(1, be))));
            }
            case "ssh-rsa" -> {
                BigInteger e = new BigInteger(bytes(in));
                BigInteger n = new BigInteger(bytes(in));
                yield KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(n, e));
            }
            default -> null;
        };
    }

    private static ECParameterSpec params(String jdkCurve) throws GeneralSecurityException {
        var parameters = java.security.AlgorithmParameters.getInstance("EC");
        parameters.init(new ECGenParameterSpec(jdkCurve));
        return parameters.getParameterSpec(ECParameterSpec.class);
    }

    private static String curveName(ECParameterSpec params) {
        return switch (params.getCurve().getField().getFieldSize()) {
            case 256 -> "nistp256";
            case 384 -> "nistp384";
            case 521 -> "nistp521";
            default -> throw new IllegalArgumentException("SSH public key: expected a NIST P-256, P-384 or P-521 key, found a "
                    + params.getCurve().getField().getFieldSize() + "-bit curve");
        };
    }

    private static byte[] point(ECPublicKey key) {
        int n = (key.getParams().getCurve().getField().getFieldSize() + 7) / 8;
        byte[] out = new byte[1 + 2 * n];
        out[0] = 4;
        fixed(key.getW().getAffineX(), out, 1, n);
        fixed(key.getW().getAffineY(), out, 1 + n, n);
        return out;
    }

    private static byte[] ed25519(EdECPoint p) {
        byte[] be = new byte[32];
        fixed(p.getY(), be, 0, 32);
        byte[] le = new byte[32];
        for (int i = 0; i < 32; i++) {
            le[i] = be[31 - i];
        }
        if (p.isXOdd()) {
            le[31] |= (byte) 0x80;
        }
        return le;
    }

    private static void fixed(BigInteger v, byte[] out, int offset, int length) {
        byte[] b = v.toByteArray();
        int skip = b.length > length ? b.length - length : 0;
        System.arraycopy(b, skip, out, offset + length - (b.length - skip), b.length - skip);
    }

    private static Instant instant(long seconds) {
        // OpenSSH's "forever" is 2^64-1, which Java reads as -1
        return seconds < 0 ? Instant.MAX : Instant.ofEpochSecond(seconds);
    }

    private static byte[] bytes(ByteBuffer in) {
        int n = in.getInt();
        if (n < 0 || n > in.remaining()) {
            throw new IllegalArgumentException("expected a field of " + n + " bytes, found " + in.remaining() + " left");
        }
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    private static String string(ByteBuffer in) {
        return new String(bytes(in), StandardCharsets.UTF_8);
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }

    /** SSH wire encoding (RFC 4251 §5). */
    private static final class Out extends ByteArrayOutputStream {
        Out u32(int v) {
            write(v >>> 24);
            write(v >>> 16);
            write(v >>> 8);
            write(v);
            return this;
        }

        Out bytes(byte[] b) {
            u32(b.length);
            writeBytes(b);
            return this;
        }

        Out string(String s) {
            return bytes(s.getBytes(StandardCharsets.UTF_8));
        }

        Out mpint(BigInteger v) {
            return bytes(v.signum() == 0 ? new byte[0] : v.toByteArray());
        }
    }
}
