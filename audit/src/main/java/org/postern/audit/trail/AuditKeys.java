package org.postern.audit.trail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Objects;
import java.util.Set;

/**
 * The audit signing key: ECDSA P-256 signing checkpoints. Kept as {@code audit.key} (PKCS#8 PEM,
 * mode 0600); auditors get {@code audit.pub} (SubjectPublicKeyInfo PEM) and verify with it.
 * {@link #keyId()} is the hex SHA-256 of the public key's DER, written in every checkpoint.
 * {@code toString()} never shows the private key.
 */
public record AuditKeys(PrivateKey privateKey, PublicKey publicKey) {

    public AuditKeys {
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(publicKey, "publicKey");
        if (!(privateKey instanceof ECPrivateKey) || !(publicKey instanceof ECPublicKey ec)
                || ec.getParams().getCurve().getField().getFieldSize() != 256) {
            throw new IllegalArgumentException("audit key: expected an ECDSA P-256 key pair, found "
                    + privateKey.getAlgorithm() + "/" + publicKey.getAlgorithm());
        }
    }

    /** A fresh P-256 key pair. */
    public static AuditKeys generate(SecureRandom random) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), random);
            KeyPair kp = g.generateKeyPair();
            return new AuditKeys(kp.getPrivate(), kp.getPublic());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate an ECDSA P-256 key: " + e.getMessage(), e);
        }
    }

    /**
     * Loads {@code keyFile} (PKCS#8 PEM), or creates it with mode 0600 when it does not exist.
     * The public key is derived from the file, so the pair always matches.
     */
    public static AuditKeys loadOrCreate(Path keyFile, SecureRandom random) throws IOException {
        if (Files.exists(keyFile)) {
            return load(keyFile);
        }
        AuditKeys keys = generate(random);
        Path parent = keyFile.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve(keyFile.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, pem("PRIVATE KEY", keys.privateKey.getEncoded()), StandardOpenOption.TRUNCATE_EXISTING);
        try (var ch = java.nio.channels.FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, keyFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return keys;
    }

    /** Reads a PKCS#8 PEM P-256 private key and derives its public key. */
    public static AuditKeys load(Path keyFile) throws IOException {
        Set<java.nio.file.attribute.PosixFilePermission> perms = Files.getPosixFilePermissions(keyFile);
        if (perms.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
            throw new IOException(keyFile + ": expected mode 0600 for the audit key, found "
                    + PosixFilePermissions.toString(perms));
        }
        byte[] der = unpem(Files.readString(keyFile), "PRIVATE KEY", keyFile);
        try {
            KeyFactory kf = KeyFactory.getInstance("EC");
            ECPrivateKey priv = (ECPrivateKey) kf.generatePrivate(new PKCS8EncodedKeySpec(der));
            return new AuditKeys(priv, derivePublic(priv));
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new IOException(keyFile + ": expected a PKCS#8 ECDSA P-256 private key: " + e.getMessage(), e);
        }
    }

    /** The public key as PEM ({@code -----BEGIN PUBLIC KEY-----}), what {@code postern audit pubkey} prints. */
    public String publicKeyPem() {
        return pem("PUBLIC KEY", publicKey.getEncoded());
    }

    /** Writes {@link #publicKeyPem()} to {@code pubFile} (mode 0644). */
    public void exportPublicKey(Path pubFile) throws IOException {
        Files.writeString(pubFile, publicKeyPem());
    }

    /**
     * Reads an auditor's copy of the public key ({@code audit.pub}, what {@code postern audit pubkey}
     * prints). A missing, empty or wrong file fails with what was expected and what was found.
     */
    public static PublicKey readPublicKey(Path pubFile) throws IOException {
        String expected = pubFile + ": expected the audit public key (PEM \"-----BEGIN PUBLIC KEY-----\", ECDSA P-256, as postern audit pubkey prints it), found ";
        if (!Files.exists(pubFile)) {
            throw new IOException(expected + "nothing there");
        }
        if (!Files.isRegularFile(pubFile)) {
            throw new IOException(expected + "a directory or special file");
        }
        byte[] raw = Files.readAllBytes(pubFile);
        String text = new String(raw, StandardCharsets.UTF_8);
        if (text.isBlank()) {
            throw new IOException(expected + (raw.length == 0 ? "an empty file" : "only white space (" + raw.length + " bytes)"));
        }
        if (text.contains("PRIVATE KEY-----")) {
            throw new IOException(expected + "a private key (give auditors the output of postern audit pubkey KEYFILE instead)");
        }
        if (!text.contains("-----BEGIN PUBLIC KEY-----") || !text.contains("-----END PUBLIC KEY-----")) {
            throw new IOException(expected + raw.length + " bytes without that PEM block"
                    + (text.contains("-----BEGIN ") ? " (another PEM block: " + text.substring(text.indexOf("-----BEGIN ")).lines().findFirst().orElse("") + ")" : ""));
        }
        byte[] der;
        try {
            der = unpem(text, "PUBLIC KEY", pubFile);
        } catch (IllegalArgumentException e) {
            throw new IOException(expected + "a PEM block whose body is not base64 (" + e.getMessage() + ")");
        }
        PublicKey key;
        try {
            key = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new IOException(expected + otherKey(der).map(alg -> "an " + alg + " public key, not an EC one").orElse(
                    "a PEM block that is not an EC public key (" + der.length + " bytes of DER: " + rootMessage(e) + ")"));
        }
        if (!(key instanceof ECPublicKey ec) || ec.getParams().getCurve().getField().getFieldSize() != 256) {
            throw new IOException(expected + "an EC public key on another curve ("
                    + (key instanceof ECPublicKey ec2 ? ec2.getParams().getCurve().getField().getFieldSize() + "-bit" : key.getAlgorithm()) + ")");
        }
        return key;
    }

    /** The algorithm of a public key that is not EC, when the JDK knows it. */
    private static java.util.Optional<String> otherKey(byte[] der) {
        for (String alg : new String[] {"RSA", "Ed25519", "Ed448", "X25519", "X448", "DSA", "ML-DSA", "ML-KEM"}) {
            try {
                KeyFactory.getInstance(alg).generatePublic(new X509EncodedKeySpec(der));
                return java.util.Optional.of(alg);
            } catch (GeneralSecurityException | RuntimeException e) {
                // not this one
            }
        }
        return java.util.Optional.empty();
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    /** Hex SHA-256 of the public key's SubjectPublicKeyInfo DER. */
    public String keyId() {
        return keyId(publicKey);
    }

    public static String keyId(PublicKey key) {
        byte[] der = key.getEncoded();
        return TrailFormat.sha256Hex(der, 0, der.length);
    }

    /** DER ECDSA signature (SHA-256) over {@code message}. */
    byte[] sign(byte[] message) {
        try {
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(privateKey);
            s.update(message);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign an audit checkpoint: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "AuditKeys[keyId=" + keyId() + ", privateKey=<redacted>]";
    }

    private static PublicKey derivePublic(ECPrivateKey priv) throws GeneralSecurityException {
        // Q = d·G, through Bouncy Castle's EC arithmetic (the JDK exposes none).
        var spec = org.bouncycastle.jce.ECNamedCurveTable.getParameterSpec("secp256r1");
        var q = spec.getG().multiply(priv.getS()).normalize();
        var point = new java.security.spec.ECPoint(q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger());
        return KeyFactory.getInstance("EC").generatePublic(new java.security.spec.ECPublicKeySpec(point, priv.getParams()));
    }

    private static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }

    private static byte[] unpem(String text, String label, Path file) throws IOException {
        String begin = "-----BEGIN " + label + "-----";
        String end = "-----END " + label + "-----";
        int b = text.indexOf(begin);
        int e = text.indexOf(end);
        if (b < 0 || e < b) {
            throw new IOException(file + ": expected a PEM block \"" + begin + "\", found none");
        }
        return Base64.getMimeDecoder().decode(text.substring(b + begin.length(), e));
    }
}
