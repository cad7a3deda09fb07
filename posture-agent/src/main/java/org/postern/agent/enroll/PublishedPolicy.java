package org.postern.agent.enroll;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.postern.agent.key.DeviceKey;
import org.postern.agent.key.DeviceKeyStore;
import org.postern.agent.state.AgentHome;
import org.postern.config.ConfigException;
import org.postern.config.ConfigReader;
import org.postern.config.posture.PosturePolicy;

/**
 * The posture policy the gateway publishes ({@code GET /v1/posture/policy}), fetched with the
 * device's own key and certificate over TLS pinned to the enrolled CA: what {@code postern-agent
 * check} judges with when no policy file is given, so the laptop is judged here as the gateway
 * will judge it.
 */
public final class PublishedPolicy {
    static final String PATH = "/v1/posture/policy";
    private static final Duration TIMEOUT = Duration.ofSeconds(15);

    private PublishedPolicy() {
    }

    /** The policy and where it came from. */
    public record Fetched(PosturePolicy policy, URI from) {
    }

    /**
     * Fetches the policy from the gateway this laptop enrolled at.
     *
     * @throws IOException not enrolled, the gateway unreachable or refusing (the message names the
     *                     URL, the HTTP status and the reason), or a document that is not a policy
     */
    public static Fetched fetch(AgentHome home, Map<String, String> env) throws IOException, InterruptedException {
        AgentHome.Enrollment e = home.enrollment().orElseThrow(() -> new IOException("not enrolled: run postern-agent enroll first"));
        X509Certificate current = home.certificate();
        DeviceKey key = DeviceKeyStore.open(e.key(), env).current(current);
        URI url = URI.create(e.gateway().replaceFirst("/+$", "") + PATH);
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TIMEOUT)
                .sslContext(EstClient.withDeviceKey(e.caSha256(), key, List.of(current))).build()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(url).timeout(TIMEOUT).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException("GET " + url + ": expected 200 with the policy, found HTTP " + r.statusCode() + " "
                        + r.headers().firstValue("Postern-Reason").orElse("") + " " + r.body().strip());
            }
            try {
                return new Fetched(ConfigReader.parse(r.body(), url.toString(), home.dir(), PosturePolicy::read), url);
            } catch (ConfigException x) {
                throw new IOException("GET " + url + ": expected a posture policy, found one with problems: "
                        + String.join("; ", x.problems()), x);
            }
        }
    }
}
