package org.postern.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.AuditEvent;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditTrailConfig;
import org.postern.audit.trail.AuditVerifier;

/**
 * Issue 11 item 5: after a run that did not stop cleanly, the next start closes what it left open
 * in the trail ({@code gateway_crashed}) and records {@code gateway.recovered}; a clean stop
 * ({@code gateway.stop}) leaves nothing to recover.
 */
class SessionRecoveryTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final AuditKeys KEYS = AuditKeys.generate(new SecureRandom());
    private static final Instant T0 = Instant.parse("2026-11-30T08:00:00Z");

    @TempDir
    Path dir;

    @Test
    void recover_afterAnUncleanStop_closesOnlyWhatWasLeftOpenSinceTheLastStop_acrossSegments() throws Exception {
        try (AuditTrail trail = open(T0.plusSeconds(30))) { // its clock: the checkpoint at close is its last sign of life
            trail.record(start("s-old", T0));                  // a run that stopped cleanly: not looked at again
            trail.record(AuditEvent.of(SessionRecovery.STOP, T0.plusSeconds(1)).build());
            trail.record(start("s-1", T0.plusSeconds(10)));
            trail.record(flowOpen("s-1", "f-1", T0.plusSeconds(11)));
            trail.record(start("s-2", T0.plusSeconds(12)));
            trail.record(flowOpen("s-2", "f-2", T0.plusSeconds(13)));
            for (int i = 0; i < 40; i++) {                    // enough to rotate past a 4 KiB segment
                trail.record(AuditEvent.of("posture.decision", T0.plusSeconds(14)).with("device", "laptop-" + i).build());
            }
            trail.record(AuditEvent.of("flow.close", T0.plusSeconds(20)).with("session", "s-2").with("flow", "f-2").build());
            trail.record(AuditEvent.of("session.end", T0.plusSeconds(21)).with("session", "s-2").with("reason", "client_closed").build());
            trail.record(AuditEvent.of("access.denied", T0.plusSeconds(29)).with("device", "laptop-9").build());
        } // (closing writes a shutdown checkpoint, but no gateway.stop: the gateway did not stop cleanly)
        assertThat(segments()).as("the open session spans a rotation").hasSizeGreaterThan(1);

        SessionRecovery.Recovered r;
        try (AuditTrail trail = open(T0.plusSeconds(3600))) {
            r = SessionRecovery.recover(trail, clock(T0.plusSeconds(3600)));
        }
        assertThat(r).isNotNull();
        assertThat(r.sessions()).isEqualTo(1);
        assertThat(r.flows()).isEqualTo(1);
        List<JsonNode> added = recordsAfter("access.denied");
        assertThat(added).extracting(n -> n.path("type").asText())
                .containsSubsequence("flow.close", "session.end", SessionRecovery.RECOVERED);
        JsonNode close = added.stream().filter(n -> n.path("type").asText().equals("flow.close")).findFirst().orElseThrow();
        assertThat(close.path("flow").asText()).isEqualTo("f-1");
        assertThat(close.path("session").asText()).isEqualTo("s-1");
        assertThat(close.path("dest").asText()).isEqualTo("db.internal:5432");
        assertThat(close.path("how").asText()).isEqualTo("gateway_crashed");
        assertThat(close.path("time").asText()).as("when the previous run was last known alive").isEqualTo("2026-11-30T08:00:30.000Z");
        JsonNode end = added.stream().filter(n -> n.path("type").asText().equals("session.end")).findFirst().orElseThrow();
        assertThat(end.path("session").asText()).isEqualTo("s-1");
        assertThat(end.path("device").asText()).isEqualTo("laptop-1");
        assertThat(end.path("user").asText()).isEqualTo("alice");
        assertThat(end.path("reason").asText()).isEqualTo("gateway_crashed");
        assertThat(end.path("flows").asInt()).isEqualTo(1);
        assertThat(end.path("durationMs").asLong()).isEqualTo(20_000);
        JsonNode recovered = added.stream().filter(n -> n.path("type").asText().equals(SessionRecovery.RECOVERED)).findFirst().orElseThrow();
        assertThat(recovered.path("sessions").asInt()).isEqualTo(1);
        assertThat(recovered.path("flows").asInt()).isEqualTo(1);
        assertThat(recovered.path("lastSeen").asText()).isEqualTo("2026-11-30T08:00:30Z");
        assertThat(recovered.path("time").asText()).isEqualTo("2026-11-30T09:00:00.000Z");
        assertThat(AuditVerifier.verify(dir, KEYS.publicKey(), false).problem()).isNull();

        // once recovered, a second start after another unclean stop finds nothing more to close
        try (AuditTrail trail = open(T0.plusSeconds(7200))) {
            assertThat(SessionRecovery.recover(trail, clock(T0.plusSeconds(7200)))).isNull();
        }
    }

    @Test
    void stopped_everyEndRecorded_writesGatewayStop_soTheNextStartRecoversNothing() throws Exception {
        try (AuditTrail trail = open(T0)) {
            trail.record(start("s-1", T0));
            trail.record(AuditEvent.of("session.end", T0.plusSeconds(5)).with("session", "s-1").build());
            assertThat(SessionRecovery.stopped(trail, clock(T0.plusSeconds(6)), true)).isTrue();
        }
        try (AuditTrail trail = open(T0.plusSeconds(60))) {
            assertThat(SessionRecovery.recover(trail, clock(T0.plusSeconds(60)))).isNull();
        }
    }

    @Test
    void stopped_withEndsMissing_writesNoGatewayStop_soTheNextStartRecovers() throws Exception {
        try (AuditTrail trail = open(T0)) {
            trail.record(start("s-1", T0));
            assertThat(SessionRecovery.stopped(trail, clock(T0.plusSeconds(6)), false)).isFalse();
        }
        try (AuditTrail trail = open(T0.plusSeconds(60))) {
            SessionRecovery.Recovered r = SessionRecovery.recover(trail, clock(T0.plusSeconds(60)));
            assertThat(r).isNotNull();
            assertThat(r.sessions()).isEqualTo(1);
        }
    }

    private AuditTrail open(Instant now) throws IOException {
        return new AuditTrail(dir, AuditTrailConfig.defaults("gw-test").withTickEvery(Duration.ZERO).withMaxSegmentBytes(4096),
                KEYS, clock(now), p -> Long.MAX_VALUE);
    }

    private static Clock clock(Instant now) {
        return Clock.fixed(now, ZoneOffset.UTC);
    }

    private static AuditEvent start(String session, Instant at) {
        return AuditEvent.of("session.start", at).with("session", session).with("device", "laptop-1").with("user", "alice")
                .with("certSerial", "6f1c").with("source", "127.0.0.1:5000").with("via", "tls").build();
    }

    private static AuditEvent flowOpen(String session, String flow, Instant at) {
        return AuditEvent.of("flow.open", at).with("session", session).with("flow", flow).with("device", "laptop-1")
                .with("dest", "db.internal:5432").with("destAddress", "10.0.0.5:5432").build();
    }

    private List<Path> segments() throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList();
        }
    }

    /** The records after the last one of this type. */
    private List<JsonNode> recordsAfter(String type) throws IOException {
        List<JsonNode> all = new ArrayList<>();
        for (Path s : segments()) {
            for (String line : Files.readAllLines(s)) {
                all.add(JSON.readTree(line));
            }
        }
        int last = -1;
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).path("type").asText().equals(type)) {
                last = i;
            }
        }
        return all.subList(last + 1, all.size());
    }
}
