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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.jspecify.annotations.Nullable;
import org.postern.agent.key.DeviceKeys;
import org.postern.keys.KeyFiles;
import org.postern.keys.Pem;
import org.postern.keys.SecureFiles;

/**
 * The agent's directory ({@code --home}, {@code $POSTERN_AGENT_HOME} or {@code ~/.postern-agent},
 * 0700): the device key ({@code device.key}, 0600, generated here and never sent anywhere; or a
 * PKCS#11 token entry, recorded in {@code enrollment.json}), the
 * device certificate, the pinned CA chain, what enrollment recorded, and the last decision.
 */
public final class AgentHome {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** What enrollment recorded: where the gateway is, the pinned root, the device id, and where its key lives. */
    public record Enrollment(String gateway, String caSha256, String device, Instant enrolledAt, DeviceKeys key) {
        public Enrollment {
            java.util.Objects.requireNonNull(key, "key");
        }
    }

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
    public @Nullable Path stateDir() {
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

    /** The SSH key and certificate for the bastion ({@code agent.ssh.SshCertificates}). */
    public Path sshDir() {
        return dir.resolve("ssh");
    }

    /** Why the gateway refuses this laptop ({@code agent.session.Barred}), until a posture decision comes again. */
    public Path barredFile() {
        return dir.resolve("barred.json");
    }

    public Path decisionFile() {
        return dir.resolve("last-decision.json");
    }

    private Path enrollmentFile() {
        return dir.resolve("enrollment.json");
    }

    public boolean enrolled() {
        if (!Files.exists(enrollmentFile()) || !Files.exists(certificateFile())) {
            return false;
        }
        try {
            return switch (enrollment().orElseThrow().key()) {
                case DeviceKeys.FileKey f -> Files.exists(f.file());
                case DeviceKeys.Pkcs11Key p -> true; // the token is checked when the key is used
            };
        } catch (IOException | RuntimeException e) {
            return Files.exists(keyFile());
        }
    }

    /** The file key's place: {@code device.key} in this directory (the default). */
    public DeviceKeys.FileKey fileKey() {
        return new DeviceKeys.FileKey(keyFile());
    }

    /**
     * Stores a fresh enrollment (the key is already stored where it lives): certificate, CA chain,
     * and the record.
     */
    public void saveEnrollment(Enrollment e, X509Certificate cert, List<X509Certificate> caChain) throws IOException {
        SecureFiles.privateDirectory(dir);
        saveCertificate(cert);
        SecureFiles.replace(caFile(), Pem.encodeAll(caChain).getBytes(StandardCharsets.US_ASCII), false);
        saveRecord(e);
    }

    /** Replaces the certificate after a renewal, and the record when the key moved (a new token alias). */
    public void saveRenewal(X509Certificate cert, DeviceKeys key) throws IOException {
        saveCertificate(cert);
        Enrollment e = enrollment().orElseThrow(() -> new IOException("not enrolled: no " + enrollmentFile()));
        if (!e.key().equals(key)) {
            saveRecord(new Enrollment(e.gateway(), e.caSha256(), e.device(), e.enrolledAt(), key));
        }
    }

    private void saveRecord(Enrollment e) throws IOException {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("gateway", e.gateway());
        record.put("caSha256", e.caSha256());
        record.put("device", e.device());
        record.put("enrolledAt", e.enrolledAt().toString());
        switch (e.key()) {
            // the file key in this directory is the default and is not recorded, as before
            case DeviceKeys.FileKey f when f.equals(fileKey()) -> { }
            case DeviceKeys.FileKey f -> record.put("key", Map.of("type", "file", "file", f.file().toString()));
            case DeviceKeys.Pkcs11Key p -> {
                Map<String, Object> k = new LinkedHashMap<>();
                k.put("type", "pkcs11");
                k.put("config", p.config().toString());
                k.put("alias", p.alias());
                if (p.pinFile() != null) {
                    k.put("pinFile", p.pinFile().toString());
                }
                record.put("key", k);
            }
        }
        SecureFiles.replace(enrollmentFile(), JSON.writeValueAsBytes(record), false);
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
                Instant.parse(n.path("enrolledAt").asText()), key(n.path("key"))));
    }

    private DeviceKeys key(JsonNode k) throws IOException {
        String type = k.path("type").asText("file");
        return switch (type) {
            case "file" -> k.hasNonNull("file") ? new DeviceKeys.FileKey(Path.of(k.get("file").asText())) : fileKey();
            case "pkcs11" -> new DeviceKeys.Pkcs11Key(Path.of(k.path("config").asText()), k.path("alias").asText(),
                    k.hasNonNull("pinFile") ? Path.of(k.get("pinFile").asText()) : null);
            default -> throw new IOException(enrollmentFile() + ": key.type: expected \"file\" or \"pkcs11\", found \"" + type + "\"");
        };
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
