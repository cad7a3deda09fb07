package org.postern.agent.ssh;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

import org.jspecify.annotations.Nullable;
import org.postern.keys.KeyFiles;
import org.postern.keys.SecureFiles;
import org.postern.keys.SshPublicKeys;
import org.postern.keys.SshPublicKeys.Certificate;

/**
 * The laptop's SSH identity for the Postern bastion, kept in {@code <agent home>/ssh/} (0700):
 * {@code id_ecdsa} (an ECDSA P-256 key in OpenSSH's own format, 0600, made here and never sent),
 * {@code id_ecdsa.pub}, and {@code id_ecdsa-cert.pub}, the short-lived user certificate the gateway
 * signs at {@code POST /v1/ssh/certificate} while the device holds a live posture lease. OpenSSH
 * uses the pair as {@code IdentityFile}/{@code CertificateFile}; {@link #sshConfig} writes the
 * {@code Host} blocks with {@code ProxyJump}. The certificate ends with the lease, so
 * {@code postern-agent up} calls {@link #renew} after every renewed posture decision.
 */
public final class SshCertificates {

    /** The gateway endpoint that signs certificates. */
    public static final String PATH = "/v1/ssh/certificate";
    /** Renew when less than this is left, or when the lease was extended beyond the certificate. */
    static final Duration RENEW_MARGIN = Duration.ofSeconds(60);

    /** How the agent reaches the gateway over its mTLS connection: one POST, one answer. */
    @FunctionalInterface
    public interface Gateway {
        Answer post(String path, String contentType, byte[] body) throws IOException, InterruptedException;
    }

    /** An HTTP answer: status, the {@code Postern-Reason} header (or null), the body as text. */
    public record Answer(int status, @Nullable String reason, String body) {
    }

    /** The gateway refused to sign: status and reason code, and the gateway's short text. */
    public static final class RefusedException extends IOException {
        private final int status;
        private final String reason;

        RefusedException(int status, String reason, String message) {
            super("the gateway refused an SSH certificate: " + status + (reason != null ? " " + reason : "") + ": " + message);
            this.status = status;
            this.reason = reason;
        }

        public int status() {
            return status;
        }

        public String reason() {
            return reason;
        }
    }

    private final Path dir;
    private final Clock clock;
    private final SecureRandom random;

    /** @param dir where the key and certificate live, e.g. {@code <agent home>/ssh} */
    public SshCertificates(Path dir, Clock clock, SecureRandom random) {
        this.dir = Objects.requireNonNull(dir, "dir");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.random = Objects.requireNonNull(random, "random");
    }

    /** The adapter for the JDK's HTTP client set up with the device's mTLS context. */
    public static Gateway over(HttpClient http, URI gateway) {
        return (path, type, body) -> {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(gateway.resolve(path))
                    .timeout(Duration.ofSeconds(15)).header("Content-Type", type)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
            return new Answer(r.statusCode(), r.headers().firstValue("Postern-Reason").orElse(null), r.body());
        };
    }

    public Path identityFile() {
        return dir.resolve("id_ecdsa");
    }

    public Path publicKeyFile() {
        return dir.resolve("id_ecdsa.pub");
    }

    public Path certificateFile() {
        return dir.resolve("id_ecdsa-cert.pub");
    }

    /**
     * Makes sure there is a key, asks the gateway for a certificate for it, checks what came back
     * and stores it (0600).
     *
     * @param leaseUntil the end of the posture lease just granted: the certificate may not outlast it
     * @return the certificate stored
     * @throws RefusedException the gateway said no (no lease, device not active, …)
     * @throws IOException      the answer is not a certificate for this key, or it outlasts the lease
     */
    public Certificate renew(Gateway gateway, Instant leaseUntil) throws IOException, InterruptedException {
        Objects.requireNonNull(leaseUntil, "leaseUntil");
        PublicKey key = ensureKey();
        String line = SshPublicKeys.line(key) + " postern-agent\n";
        Answer a = gateway.post(PATH, "text/plain", line.getBytes(StandardCharsets.US_ASCII));
        if (a.status() != 200) {
            throw new RefusedException(a.status(), a.reason(), a.body() == null ? "" : a.body().strip());
        }
        Certificate cert = parseCertificate(a.body());
        if (!key.equals(cert.publicKey())) {
            throw new IOException("the gateway's SSH certificate is for another key (expected " + SshPublicKeys.line(key)
                    + ", found " + SshPublicKeys.line(cert.publicKey()) + ")");
        }
        if (cert.type() != Certificate.Type.USER || cert.principals().isEmpty()) {
            throw new IOException("the gateway's SSH certificate: expected a user certificate with a principal, found "
                    + cert.type() + " for " + cert.principals());
        }
        if (cert.validBefore().isAfter(leaseUntil.plusSeconds(1))) {
            throw new IOException("the gateway's SSH certificate is valid until " + cert.validBefore()
                    + ", expected no later than the lease end " + leaseUntil);
        }
        SecureFiles.replace(certificateFile(), (a.body().strip() + "\n").getBytes(StandardCharsets.US_ASCII), true);
        return cert;
    }

    /** The certificate on file, if any and readable. */
    public Optional<Certificate> current() {
        try {
            return Files.exists(certificateFile()) ? Optional.of(parseCertificate(Files.readString(certificateFile())))
                    : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Whether to ask for a new certificate: none, ending within a minute, or shorter than the lease now is. */
    public boolean needsRenewal(Instant leaseUntil) {
        Optional<Certificate> c = current();
        if (c.isEmpty()) {
            return true;
        }
        Instant end = c.get().validBefore();
        return end.isBefore(clock.instant().plus(RENEW_MARGIN)) || end.plus(RENEW_MARGIN).isBefore(leaseUntil);
    }

    /**
     * What {@code postern-agent ssh-config} prints: a {@code Host} block for the bastion with this
     * identity, and one that sends {@code hostPatterns} through it with {@code ProxyJump}.
     *
     * @param alias        the bastion's name in the config, e.g. {@code postern}
     * @param bastionHost  the gateway's host name
     * @param bastionPort  {@code listeners.ssh}'s port (2222 by default)
     * @param user         the login: the device owner, the certificate's principal
     * @param hostPatterns which admin hosts go through the bastion, e.g. {@code *.admin.internal 10.20.*}
     * @param knownHosts   a known_hosts file pinning the bastion's host key, or null for the user's own
     */
    public String sshConfig(String alias, String bastionHost, int bastionPort, @Nullable String user,
                            String hostPatterns, @Nullable Path knownHosts) {
        StringBuilder b = new StringBuilder();
        b.append("# written by postern-agent: the Postern SSH bastion and the admin hosts behind it\n");
        b.append(bastionBlock(alias, bastionHost, bastionPort, user, knownHosts));
        b.append("\nHost ").append(hostPatterns).append('\n')
                .append("  ProxyJump ").append(alias).append('\n');
        return b.toString();
    }

    /**
     * The {@code Host} block for the bastion alone: its address, the login, this identity and
     * certificate, and the known_hosts file that pins its host key (if given).
     *
     * @param user the login (the certificate's principal), or null to leave it to OpenSSH
     */
    public String bastionBlock(String alias, String bastionHost, int bastionPort, @Nullable String user,
                               @Nullable Path knownHosts) {
        StringBuilder b = new StringBuilder();
        b.append("Host ").append(alias).append('\n')
                .append("  HostName ").append(bastionHost).append('\n')
                .append("  Port ").append(bastionPort).append('\n');
        if (user != null) {
            b.append("  User ").append(user).append('\n');
        }
        b.append("  IdentityFile ").append(identityFile()).append('\n')
                .append("  CertificateFile ").append(certificateFile()).append('\n')
                .append("  IdentitiesOnly yes\n");
        if (knownHosts != null) {
            b.append("  UserKnownHostsFile ").append(knownHosts).append('\n');
        }
        return b.toString();
    }

    /** The key, made on first use: OpenSSH format, 0600, in a 0700 directory. */
    private PublicKey ensureKey() throws IOException {
        if (Files.exists(identityFile()) && Files.exists(publicKeyFile())) {
            return SshPublicKeys.parse(Files.readString(publicKeyFile()));
        }
        SecureFiles.privateDirectory(dir);
        KeyPair kp = KeyFiles.generateP256(random);
        Files.deleteIfExists(identityFile());
        SecureFiles.createSecret(identityFile(), SshPublicKeys.privateKeyFile(kp, "postern-agent", random));
        SecureFiles.replace(publicKeyFile(), (SshPublicKeys.line(kp.getPublic()) + " postern-agent\n")
                .getBytes(StandardCharsets.US_ASCII), false);
        return kp.getPublic();
    }

    private static Certificate parseCertificate(String text) throws IOException {
        try {
            return SshPublicKeys.parseCertificate(text);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static String abbreviate(String s) {
        if (s == null) {
            return "";
        }
        String t = s.strip();
        return t.length() <= 40 ? t : t.substring(0, 40) + "…";
    }
}
