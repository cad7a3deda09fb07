package org.postern.agent.state;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.postern.pki.ca.KeyFiles;
import org.postern.pki.ca.Pem;
import org.postern.pki.ca.SecureFiles;

/**
 * The agent's directory ({@code --home}, {@code $POSTERN_AGENT_HOME} or {@code ~/.postern-agent},
 * 0700): the device key ({@code device.key}, 0600, generated here and never sent anywhere), the
 * device certificate, the pinned CA chain, what enrollment recorded, and the last decision.
 */
public final class AgentHome {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** What enrollment recorded: where the gateway is, the pinned root, and the device id. */
    public record Enrollment(String gateway, String caSha256, String device, Instant enrolledAt) {}

    private final Path dir;

    public AgentHome(Path dir) {
        this.dir = dir;
    }

    public static Path defaultDir(Map<String, String> env) {
        String h = env.get("POSTERN_AGENT_HOME");
        return h != null && !h.isBlank() ? Path.of(h) : Path.of(System.getProperty("user.home"), ".postern-agent");
    }

    public Path dir() {
        return dir;
    }

    /** The directory, created 0700 if missing, or null when it cannot be (collectors then keep no state). */
    public Path stateDir() {
        try {
            return SecureFiles.privateDirectory(dir);
        } catch (IOException e) {
            return null;
        }
    }

    public Path keyFile() {
        return dir.resolve("device.key");
    }

    public Path certificateFile() {
        return dir.resolve("device.crt");
    }

    public Path caFile() {
        return dir.resolve("ca.pem");
    }

    public Path decisionFile() {
        return dir.resolve("last-decision.json");
    }

    private Path enrollmentFile() {
        return dir.resolve("enrollment.json");
    }

    public boolean enrolled() {
        return Files.exists(enrollmentFile()) && Files.exists(certificateFile()) && Files.exists(keyFile());
    }

    /** Stores a fresh enrollment: key (0600), certificate, CA chain, and the record. */
    public void saveEnrollment(Enrollment e, KeyPair keys, X509Certificate cert, List<X509Certificate> caChain) throws IOException {
        SecureFiles.privateDirectory(dir);
        SecureFiles.replace(keyFile(), KeyFiles.plainPem(keys.getPrivate()), true);
        saveCertificate(cert);
        SecureFiles.replace(caFile(), Pem.encodeAll(caChain).getBytes(StandardCharsets.US_ASCII), false);
        SecureFiles.replace(enrollmentFile(), JSON.writeValueAsBytes(Map.of(
                "gateway", e.gateway(), "caSha256", e.caSha256(), "device", e.device(), "enrolledAt", e.enrolledAt().toString())), false);
    }

    /** Replaces the certificate (and, on rekey, the key) after a renewal. */
    public void saveRenewal(KeyPair keys, X509Certificate cert) throws IOException {
        SecureFiles.replace(keyFile(), KeyFiles.plainPem(keys.getPrivate()), true);
        saveCertificate(cert);
    }

    private void saveCertificate(X509Certificate cert) throws IOException {
        SecureFiles.replace(certificateFile(), Pem.encode(cert).getBytes(StandardCharsets.US_ASCII), false);
    }

    public Optional<Enrollment> enrollment() throws IOException {
        if (!Files.exists(enrollmentFile())) {
            return Optional.empty();
        }
        var n = JSON.readTree(enrollmentFile().toFile());
        return Optional.of(new Enrollment(n.path("gateway").asText(), n.path("caSha256").asText(), n.path("device").asText(),
                Instant.parse(n.path("enrolledAt").asText())));
    }

    public X509Certificate certificate() throws IOException {
        return Pem.readCertificate(certificateFile());
    }

    public List<X509Certificate> caChain() throws IOException {
        return new ArrayList<>(Pem.readCertificates(caFile()));
    }

    /** The device key pair: the private key from {@code device.key}, the public one from the certificate. */
    public KeyPair keys() throws IOException {
        PrivateKey key = KeyFiles.readPlain(keyFile());
        return new KeyPair(certificate().getPublicKey(), key);
    }
}
