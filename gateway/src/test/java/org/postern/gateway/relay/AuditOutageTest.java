package org.postern.gateway.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.AuditEvent;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditTrailConfig;
import org.postern.audit.trail.AuditVerifier;
import org.postern.config.gateway.GatewaySettings.Audit.FailMode;

/**
 * Issue 11 item 5: tunnels that close while the audit trail cannot be written (its free space
 * under {@code audit.minFree}). Their {@code flow.close} and {@code session.end} used to be logged
 * as errors and lost, so the report counted the user as still connected; now the trail keeps them
 * and writes them, in order and with their own times, once it can. New tunnels stay refused.
 */
class AuditOutageTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final RelaySettings SETTINGS =
            new RelaySettings(Duration.ofSeconds(2), Duration.ofMinutes(1), Duration.ofSeconds(1));
    private static final AuditKeys KEYS = AuditKeys.generate(new SecureRandom());

    @TempDir
    Path dir;
    private final AtomicLong free = new AtomicLong(Long.MAX_VALUE);
    private RelayFixture gw;
    private RelayFixture.AdminHost host;
    private AuditTrail trail;

    @AfterEach
    void tearDown() throws Exception {
        if (host != null) {
            host.close();
        }
        if (gw != null) {
            gw.close();
        }
        if (trail != null) {
            free.set(Long.MAX_VALUE);
            trail.close();
        }
    }

    @Test
    void tunnelsClosedDuringOutage_endsWrittenInOrderWithTheirTimesWhenTheTrailIsBack_newTunnelsRefusedMeanwhile() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, FailMode.CLOSED, 64, "staff -> 127.0.0.1/32:" + host.port());
        trail = new AuditTrail(dir, AuditTrailConfig.defaults("gw-test").withTickEvery(Duration.ZERO), KEYS, gw.pki.clock,
                p -> free.get());
        gw.audit.trail = trail;
        gw.grantLease();
        RelayFixture.Answer first = gw.connect("127.0.0.1:" + host.port());
        RelayFixture.Answer second = gw.connect("127.0.0.1:" + host.port());
        assertThat(first.status()).isEqualTo(200);
        assertThat(second.status()).isEqualTo(200);
        ping(first.socket());
        ping(second.socket());

        free.set(AuditTrailConfig.MIB); // under the 64 MiB floor: the trail is unavailable
        gw.pki.clock.advance(Duration.ofSeconds(7));
        first.socket().close();
        await().atMost(Duration.ofSeconds(5)).until(() -> gw.audit.of("session.end").size() == 1);
        gw.pki.clock.advance(Duration.ofSeconds(3));
        second.socket().close();
        await().atMost(Duration.ofSeconds(5)).until(() -> gw.audit.of("session.end").size() == 2);
        assertThat(trail.deferred()).isEqualTo(4);

        // fail closed while the trail is down: a new tunnel is refused, the admin host never reached
        int accepted = host.acceptedCount();
        RelayFixture.Answer refused = gw.connect("127.0.0.1:" + host.port());
        assertThat(refused.status()).isEqualTo(503);
        assertThat(refused.reason()).isEqualTo("audit.unavailable");
        refused.socket().close();
        assertThat(host.acceptedCount()).isEqualTo(accepted);

        gw.pki.clock.advance(Duration.ofMinutes(2));
        free.set(Long.MAX_VALUE);
        trail.tick(); // the periodic retry finds the trail writable and writes what it kept
        assertThat(trail.deferred()).isZero();
        assertThat(trail.available()).isTrue();

        List<JsonNode> records = records();
        List<String> ends = records.stream().map(r -> r.path("type").asText())
                .filter(t -> t.equals("flow.close") || t.equals("session.end")).toList();
        assertThat(ends).containsExactly("flow.close", "session.end", "flow.close", "session.end");
        // each end as it happened: the memory sink saw the events in the order the gateway made them
        List<AuditEvent> made = gw.audit.all().stream()
                .filter(e -> e.type().equals("flow.close") || e.type().equals("session.end")).toList();
        List<JsonNode> written = records.stream()
                .filter(r -> r.path("type").asText().equals("flow.close") || r.path("type").asText().equals("session.end")).toList();
        for (int i = 0; i < made.size(); i++) {
            assertThat(Instant.parse(written.get(i).path("time").asText()))
                    .isEqualTo(made.get(i).time().truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
            Object id = made.get(i).fields().get(made.get(i).type().equals("flow.close") ? "flow" : "session");
            assertThat(written.get(i).path(made.get(i).type().equals("flow.close") ? "flow" : "session").asText()).isEqualTo(id);
        }
        Instant firstEnd = Instant.parse(written.getFirst().path("time").asText());
        assertThat(firstEnd).isBefore(gw.pki.clock.instant().minus(Duration.ofMinutes(1)));
        assertThat(written.get(1).path("reason").asText()).isEqualTo("client_closed");
        // the ends come before the checkpoint the retry wrote: the trail is in the order things happened
        assertThat(records.getLast().path("type").asText()).isEqualTo("audit.checkpoint");
        assertThat(AuditVerifier.verify(dir, KEYS.publicKey(), false).problem()).isNull();
    }

    private static void ping(Socket s) throws IOException {
        s.getOutputStream().write('x');
        assertThat(s.getInputStream().read()).isEqualTo('x');
    }

    private List<JsonNode> records() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("segment-000001.jsonl"))) {
            out.add(JSON.readTree(line));
        }
        return out;
    }
}
