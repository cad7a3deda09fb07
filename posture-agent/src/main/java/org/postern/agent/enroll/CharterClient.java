package org.postern.agent.enroll;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.jspecify.annotations.Nullable;
import org.postern.agent.key.DeviceKey;
import org.postern.agent.key.DeviceKeyStore;
import org.postern.agent.state.AgentHome;

/**
 * The remote-work charter the gateway requires ({@code GET /v1/charter}) and this laptop's
 * acceptance of it ({@code POST /v1/charter/accept}), both with the device's own key and
 * certificate over TLS pinned to the enrolled CA. The text's SHA-256 is checked here before it is
 * shown, so what the user accepts is exactly what was shown.
 */
public final class CharterClient {
    static final String PATH = "/v1/charter";
    static final String ACCEPT_PATH = "/v1/charter/accept";
    private static final Duration TIMEOUT = Duration.ofSeconds(15);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AgentHome home;
    private final Map<String, String> env;

    public CharterClient(AgentHome home, Map<String, String> env) {
        this.home = home;
        this.env = env;
    }

    /** The charter in force, as the gateway sent it, and this device's latest acceptance (null: none). */
    public record Charter(int version, String text, String sha256, @Nullable Acceptance accepted) {
        /** Whether this device accepted this version with this text, or a later version (the gateway's rule). */
        public boolean acceptedNow() {
            return accepted != null && org.postern.config.gateway.Charter.isCurrent(accepted.version(), accepted.sha256(), version, sha256);
        }
    }

    /** An acceptance the gateway recorded. */
    public record Acceptance(int version, String sha256, Instant acceptedAt) {
    }

    /**
     * The charter in force, or empty when the gateway requires none.
     *
     * @throws IOException not enrolled, the gateway unreachable or refusing (URL, status and reason named),
     *                     or an answer whose text does not match its hash
     */
    public Optional<Charter> fetch() throws IOException, InterruptedException {
        URI url = url(PATH);
        try (HttpClient http = client()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(url).timeout(TIMEOUT).GET().build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (r.statusCode() == 404 && "charter.none".equals(r.headers().firstValue("Postern-Reason").orElse(null))) {
                return Optional.empty();
            }
            return Optional.of(charter("GET " + url, ok(r, "GET " + url, "the charter")));
        }
    }

    /** How the user accepted: asked on the terminal and typed yes, or with a command-line flag (no question asked). */
    public enum How {
        PROMPT("prompt"), FLAG("flag");

        final String wire;

        How(String wire) {
            this.wire = wire;
        }
    }

    /**
     * The charter in the gateway's answer {@code body} to {@code what}, checked before anything shows it:
     * the text must have the SHA-256 the answer names, and pass the gateway's own text check
     * ({@link org.postern.config.gateway.Charter#textProblem}: no control, invisible or bidirectional
     * formatting characters), so a text that would drive the terminal or hide words is neither shown nor accepted.
     */
    static Charter charter(String what, JsonNode body) throws IOException {
        int version = body.path("version").asInt(0);
        String text = body.path("text").asText("");
        String sha256 = body.path("sha256").asText("");
        if (version < 1 || text.isEmpty() || !sha256(text).equals(sha256)) {
            throw new IOException(what + ": expected a charter whose text has the SHA-256 it names, found version "
                    + version + ", sha256 \"" + sha256 + "\" and a text whose SHA-256 is " + sha256(text));
        }
        String problem = org.postern.config.gateway.Charter.textProblem(text);
        if (problem != null) {
            throw new IOException(what + ": the gateway sent a charter text this agent will not show or accept: " + problem);
        }
        JsonNode a = body.path("accepted");
        Acceptance accepted = a.isObject() ? new Acceptance(a.path("version").asInt(), a.path("sha256").asText(),
                Instant.parse(a.path("acceptedAt").asText())) : null;
        return new Charter(version, text, sha256, accepted);
    }

    /**
     * Accepts {@code charter} (the version and text shown), saying {@code how} (recorded in the trail).
     *
     * @throws IOException the gateway refused: 409 {@code charter.mismatch} when it was reloaded with
     *                     another version or text since it was read (the message says to read it again)
     */
    public Acceptance accept(Charter charter, How how) throws IOException, InterruptedException {
        URI url = url(ACCEPT_PATH);
        String body = JSON.writeValueAsString(Map.of("version", charter.version(), "sha256", charter.sha256(), "how", how.wire));
        try (HttpClient http = client()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(url).timeout(TIMEOUT)
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            JsonNode a = ok(r, "POST " + url, "the acceptance recorded");
            return new Acceptance(a.path("version").asInt(), a.path("sha256").asText(), Instant.parse(a.path("acceptedAt").asText()));
        }
    }

    private static JsonNode ok(HttpResponse<String> r, String what, String expected) throws IOException {
        if (r.statusCode() != 200) {
            throw new IOException(what + ": expected 200 with " + expected + ", found HTTP " + r.statusCode() + " "
                    + r.headers().firstValue("Postern-Reason").orElse("") + " " + r.body().strip());
        }
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new IOException(what + ": expected JSON with " + expected + ", found " + e.getMessage(), e);
        }
    }

    private URI url(String path) throws IOException {
        AgentHome.Enrollment e = enrollment();
        return URI.create(e.gateway().replaceFirst("/+$", "") + path);
    }

    private AgentHome.Enrollment enrollment() throws IOException {
        return home.enrollment().orElseThrow(() -> new IOException("not enrolled: run postern-agent enroll first"));
    }

    private HttpClient client() throws IOException {
        AgentHome.Enrollment e = enrollment();
        X509Certificate current = home.certificate();
        DeviceKey key = DeviceKeyStore.open(e.key(), env).current(current);
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT)
                .sslContext(EstClient.withDeviceKey(e.caSha256(), key, List.of(current))).build();
    }

    /** Hex SHA-256 of the UTF-8 text, as the gateway computes it. */
    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is in every JDK", e);
        }
    }
}
