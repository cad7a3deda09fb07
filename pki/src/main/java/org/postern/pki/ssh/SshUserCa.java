package org.postern.pki.ssh;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.apache.sshd.certificate.OpenSshCertificateBuilder;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.OpenSshCertificate;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.postern.keys.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import org.postern.keys.SecureFiles;
import org.postern.pki.registry.Device;
import org.postern.keys.SshPublicKeys;

/**
 * The SSH user CA: an ECDSA P-256 key that signs short-lived OpenSSH user certificates for
 * compliant devices (key id = device id, principal = the device's owner, valid no longer than the
 * posture lease, only {@code permit-port-forwarding}). The bastion trusts exactly this key.
 *
 * <p>Files in {@code DATA/ca/}: {@code ssh-user-ca.key} — PKCS#8, encrypted with the CA passphrase
 * when the CA keeps its keys in files, mode 0600 either way; with a PKCS#11 CA it is a plain 0600
 * file, an online key like the OCSP responder's (the gateway signs with it at every posture
 * decision, and OpenSSH certificates need a signer MINA SSHD can drive in software) — and
 * {@code ssh-user-ca.pub}, the public key as one OpenSSH line, what {@code postern pki
 * ssh-ca-pubkey} prints. Created on first use; never replaced silently.
 */
public final class SshUserCa {

    /** The only extension a Postern certificate carries: no pty, no agent or X11 forwarding, no rc. */
    public static final String PERMIT_PORT_FORWARDING = "permit-port-forwarding";
    static final String KEY_FILE = "ssh-user-ca.key";
    static final String PUB_FILE = "ssh-user-ca.pub";
    /** The longest certificate ever issued, whatever the lease says (a lease is minutes). */
    public static final Duration MAX_LIFETIME = Duration.ofHours(24);

    /** An issued certificate and its OpenSSH line ({@code ecdsa-sha2-nistp256-cert-v01@openssh.com AAAA… id}). */
    public record Issued(OpenSshCertificate certificate, String line) {
        public Issued {
            Objects.requireNonNull(certificate, "certificate");
            Objects.requireNonNull(line, "line");
        }
    }

    private final KeyPair keys;
    private final SecureRandom random;

    private SshUserCa(KeyPair keys, SecureRandom random) {
        this.keys = keys;
        this.random = random;
    }

    /** A CA on a key held in memory only (tests, and a second CA to be refused). */
    public static SshUserCa ephemeral(SecureRandom random) {
        return new SshUserCa(KeyFiles.generateP256(random), random);
    }

    /**
     * Unlocks the SSH user CA of {@code dataDir}, creating it the first time.
     *
     * @param protection how the CA keeps its keys: the passphrase encrypts the SSH CA key too
     */
    public static SshUserCa loadOrCreate(Path dataDir, KeyProtection protection, SecureRandom random) throws IOException {
        Path dir = dataDir.resolve("ca");
        Path keyFile = dir.resolve(KEY_FILE);
        if (Files.exists(keyFile)) {
            PrivateKey priv = switch (protection) {
                case KeyProtection.Passphrase p -> KeyFiles.readEncrypted(keyFile, p.passphrase());
                case KeyProtection.Pkcs11 p -> KeyFiles.readPlain(keyFile);
            };
            if (!(priv instanceof ECPrivateKey ec)) {
                throw new IOException(keyFile + ": expected an ECDSA P-256 key, found " + priv.getAlgorithm());
            }
            SshUserCa ca = new SshUserCa(new KeyPair(SshKeys.publicOf(ec), priv), random);
            ca.writePublic(dir.resolve(PUB_FILE)); // the public file is derived, so it can never disagree
            return ca;
        }
        SecureFiles.privateDirectory(dir);
        KeyPair kp = KeyFiles.generateP256(random);
        byte[] pem = switch (protection) {
            case KeyProtection.Passphrase p -> KeyFiles.encryptedPem(kp.getPrivate(), p.passphrase(), random);
            case KeyProtection.Pkcs11 p -> KeyFiles.plainPem(kp.getPrivate());
        };
        SecureFiles.createSecret(keyFile, pem);
        SshUserCa ca = new SshUserCa(kp, random);
        ca.writePublic(dir.resolve(PUB_FILE));
        return ca;
    }

    /**
     * The public key line of the SSH user CA of {@code dataDir}, without unlocking anything.
     *
     * @throws IOException naming what to run when there is none yet
     */
    public static String readPublicLine(Path dataDir) throws IOException {
        Path pub = dataDir.resolve("ca").resolve(PUB_FILE);
        if (!Files.exists(pub)) {
            throw new IOException("no SSH user CA in " + dataDir + " (expected " + pub + "); it is created the first time"
                    + " the gateway starts, or by: postern pki ssh-ca-pubkey --dir " + dataDir + " --create");
        }
        return Files.readString(pub, StandardCharsets.US_ASCII).strip();
    }

    /** The CA's public key. */
    public PublicKey publicKey() {
        return keys.getPublic();
    }

    /** The CA's public key as one OpenSSH line, e.g. {@code ecdsa-sha2-nistp256 AAAA… postern-ssh-user-ca}. */
    public String publicLine() {
        return PublicKeyEntry.toString(keys.getPublic()) + " postern-ssh-user-ca";
    }

    /** SHA-256 fingerprint of the CA key as OpenSSH prints it ({@code SHA256:…}). */
    public String fingerprint() {
        return KeyUtils.getFingerPrint(keys.getPublic());
    }

    /**
     * Signs a user certificate for {@code userKey}.
     *
     * @param userKey  the device's SSH public key (ECDSA P-256/384/521 or Ed25519; not a certificate)
     * @param deviceId the key id
     * @param owner    the one principal: the device's owner, the login name at the bastion
     * @param now      start of validity
     * @param until    end of validity: the posture lease's end, never later
     */
    public Issued issue(PublicKey userKey, String deviceId, String owner, Instant now, Instant until) {
        Objects.requireNonNull(userKey, "userKey");
        Device.checkId(deviceId);
        Objects.requireNonNull(owner, "owner");
        if (owner.isBlank() || owner.chars().anyMatch(c -> c <= ' ' || c == ',')) {
            throw new IllegalArgumentException("SSH principal: expected a login name without spaces or commas, found \""
                    + owner + "\"");
        }
        if (userKey instanceof OpenSshCertificate) {
            throw new IllegalArgumentException("SSH user key: expected a plain public key, found a certificate");
        }
        if (!until.isAfter(now)) {
            throw new IllegalArgumentException("SSH certificate for " + deviceId + ": expected a validity end after "
                    + now + ", found " + until);
        }
        Instant end = until.isAfter(now.plus(MAX_LIFETIME)) ? now.plus(MAX_LIFETIME) : until;
        try {
            OpenSshCertificate cert = OpenSshCertificateBuilder.userCertificate()
                    .publicKey(userKey)
                    .serial(random.nextLong() & Long.MAX_VALUE)
                    .id(deviceId)
                    .principals(List.of(owner))
                    .extensions(Map.of(PERMIT_PORT_FORWARDING, ""))
                    .validAfter(now)
                    .validBefore(end)
                    .sign(keys, "ecdsa-sha2-nistp256");
            return new Issued(cert, PublicKeyEntry.toString(cert) + " " + deviceId);
        } catch (Exception e) {
            throw new IllegalStateException("cannot sign an SSH certificate for " + deviceId + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses one OpenSSH public key line ({@code TYPE BASE64 [comment]}), as a device sends it.
     *
     * @throws IllegalArgumentException saying what was expected and found
     */
    public static PublicKey parsePublicKey(String line) {
        return SshPublicKeys.parse(line);
    }

    private void writePublic(Path file) throws IOException {
        SecureFiles.replace(file, (publicLine() + "\n").getBytes(StandardCharsets.US_ASCII), false);
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }

    @Override
    public String toString() {
        return "SshUserCa[" + fingerprint() + ", privateKey=<redacted>]";
    }
}
