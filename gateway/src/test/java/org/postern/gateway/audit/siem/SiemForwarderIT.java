package org.postern.gateway.audit.siem;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.AuditEvent;
import org.postern.audit.siem.SiemForwarder;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditTrail;
import org.postern.audit.trail.AuditTrailConfig;
import org.postern.config.HostPort;
import org.postern.config.gateway.GatewaySettings;
import org.postern.pki.testing.TestPki;

/** The forwarder against a real rsyslogd over TLS: the collector goes away and comes back. */
class SiemForwarderIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SiemForwarder.Tuning FAST = new SiemForwarder.Tuning(Duration.ofMillis(300), 200,
            Duration.ofMillis(20), Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofMillis(50), Duration.ofMillis(400));

    @TempDir
    Path tmp;
    private TestPki pki;
    private TestPki otherPki;
    private AuditTrail trail;
    private SiemForwarder forwarder;
    private RsyslogCollector collector;
    private final AtomicInteger events = new AtomicInteger();

    @BeforeEach
    void setUp() throws Exception {
        pki = TestPki.create();
        trail = new AuditTrail(tmp.resolve("trail"), AuditTrailConfig.defaults("gw-siem").withTickEvery(Duration.ZERO),
                AuditKeys.generate(new SecureRandom()));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (forwarder != null) {
            forwarder.close();
        }
        if (collector != null) {
            collector.close();
        }
        trail.close();
        pki.close();
        if (otherPki != null) {
            otherPki.close();
        }
    }

    @Test
    void forward_collectorStoppedAndRestarted_everyRecordArrivesOnceInOrder() throws Exception {
        collector = collector(pki);
        collector.start();
        forwarder = forwarder(collector.port);

        write(40);
        awaitDelivered();
        collector.stop(); // SIGTERM to its PID, between batches

        write(40);        // spooled in the trail while the collector is down
        Awaitility.await("the forwarder noticed the collector is gone").atMost(Duration.ofSeconds(20))
                .until(() -> forwarder.status().failures() > 0);
        assertThat(forwarder.status().delivered()).isEqualTo(40);
        assertThat(forwarder.status().lastError()).contains("cannot connect");

        collector.start();
        write(40);
        awaitDelivered();
        awaitReceived(trail.durableSeq());

        assertThat(collector.seqs()).containsExactlyElementsOf(LongStream.rangeClosed(1, 120).boxed().toList());
        assertMessagesAreTheRecords();
    }

    @Test
    void forward_collectorStoppedWhileSending_nothingLostOrderKeptRepeatsOnlyInTheBrokenBatch() throws Exception {
        collector = collector(pki);
        collector.start();
        forwarder = forwarder(collector.port);

        Thread writer = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 600; i++) {
                write(1);
                java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
            }
        });
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> forwarder.status().delivered() >= 100);
        collector.stop(); // while records are being written and sent
        long deliveredAtStop = forwarder.status().delivered();
        Thread.sleep(300); // down for a while: a bounded wait, not a synchronisation
        collector.start();
        writer.join(Duration.ofSeconds(30));
        assertThat(writer.isAlive()).as("writer finished").isFalse();
        awaitDelivered();
        awaitReceived(trail.durableSeq());

        List<Long> seqs = collector.seqs();
        long n = trail.durableSeq();
        assertThat(new LinkedHashSet<>(seqs)).as("every record arrived, first arrivals in order")
                .containsExactlyElementsOf(LongStream.rangeClosed(1, n).boxed().toList());
        // A repeat is a resend of the batch that broke: the stream restarts at most once, just after
        // the last confirmed record, and never goes back further than one batch.
        List<Integer> restarts = new ArrayList<>();
        for (int i = 1; i < seqs.size(); i++) {
            if (seqs.get(i) != seqs.get(i - 1) + 1) {
                restarts.add(i);
                assertThat(seqs.get(i)).as("a restart resends from a confirmed point").isLessThanOrEqualTo(seqs.get(i - 1));
                assertThat(seqs.get(i - 1) - seqs.get(i) + 1).as("repeats at most one batch").isLessThanOrEqualTo(FAST.maxBatch());
            }
        }
        assertThat(restarts).as("the stream restarted at most once (at the stop)").hasSizeLessThanOrEqualTo(1);
        System.out.printf("stopped after %d confirmed; %d messages for %d records (%d repeated)%n",
                deliveredAtStop, seqs.size(), n, seqs.size() - n);
    }

    @Test
    void forward_collectorWithCertificateFromAnotherCa_refusedLoggedNothingDelivered() throws Exception {
        otherPki = TestPki.create();
        collector = collector(otherPki);
        collector.start();
        forwarder = forwarder(collector.port);

        write(5);
        Awaitility.await("handshake refused").atMost(Duration.ofSeconds(20))
                .until(() -> forwarder.status().failures() >= 2);
        SiemForwarder.Status s = forwarder.status();
        assertThat(s.lastError()).startsWith("TLS handshake failed (the collector's certificate must chain to")
                .contains("PKIX path");
        assertThat(s.delivered()).isZero();
        assertThat(s.batches()).isZero();
        assertThat(collector.lines()).as("the collector received nothing").isEmpty();
        Path cursor = tmp.resolve("siem.cursor");
        assertThat(!Files.exists(cursor) || Files.readString(cursor).contains("seq=0")).isTrue();
    }

    @Test
    void forward_collectorRequiringAClientCertificate_takesOursAndRefusesWithout() throws Exception {
        collector = RsyslogCollector.withCertificateFrom(pki, tmp.resolve("rsyslog"), "x509/certvalid");
        collector.start();
        write(3);
        forwarder = forwarder(collector.port); // no client certificate
        Awaitility.await("refused without a client certificate").atMost(Duration.ofSeconds(20))
                .until(() -> forwarder.status().failures() >= 1);
        forwarder.close();
        assertThat(forwarder.status().delivered()).isZero();

        TestPki.Enrolled client = pki.enroll("siem-client", "gateway");
        Path cert = TestPki.writePem(tmp.resolve("client.crt"), client.certificate());
        Path key = Files.write(tmp.resolve("client.key"), org.postern.keys.KeyFiles.plainPem(client.keys().getPrivate()));
        GatewaySettings.Siem s = new GatewaySettings.Siem(new HostPort("127.0.0.1", collector.port), pki.chainFile(), cert, key,
                "postern", GatewaySettings.Siem.Facility.AUTHPRIV, tmp.resolve("siem.cursor"), false);
        forwarder = SiemForwarder.start(trail.directory(), trail::durableSeq, s, FAST, Clock.systemUTC());
        awaitDelivered();
        awaitReceived(3);
        assertThat(collector.seqs()).containsExactly(1L, 2L, 3L);
    }

    private void assertMessagesAreTheRecords() throws Exception {
        List<String> trailLines = new ArrayList<>();
        try (var files = Files.list(tmp.resolve("trail"))) {
            for (Path p : files.filter(f -> f.getFileName().toString().matches("segment-\\d{6}\\.jsonl")).sorted().toList()) {
                trailLines.addAll(Files.readAllLines(p, StandardCharsets.UTF_8));
            }
        }
        List<String> received = collector.lines();
        assertThat(received).hasSize(trailLines.size());
        for (int i = 0; i < received.size(); i++) {
            String line = received.get(i);
            JsonNode record = JSON.readTree(trailLines.get(i));
            String type = record.path("type").asText();
            assertThat(line).startsWith(type + " [postern@32473 seq=\"" + record.path("seq").asLong() + "\"");
            String msg = line.substring(line.indexOf("] ") + 2).replace("\uFEFF", "");
            assertThat(msg).as("MSG is the record's line, byte for byte").isEqualTo(trailLines.get(i));
        }
        String first = received.getFirst();
        assertThat(first).contains("device=\"lap\\\"top\\]-1\"").contains("user=\"alice\"").contains("session=\"s-1\"");
    }

    private void write(int count) {
        for (int i = 0; i < count; i++) {
            int n = events.incrementAndGet();
            trail.record(AuditEvent.of("session.start", Instant.now()).with("session", "s-" + n)
                    .with("device", "lap\"top]-" + n).with("user", "alice").with("source", "10.0.0.1:5" + n).build());
        }
    }

    private void awaitDelivered() {
        Awaitility.await("forwarder caught up").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                .until(() -> forwarder.status().delivered() == trail.durableSeq());
    }

    private void awaitReceived(long n) {
        Awaitility.await("rsyslog wrote " + n + " messages").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> new LinkedHashSet<>(collector.seqs()).size() >= n);
    }

    private SiemForwarder forwarder(int port) throws Exception {
        GatewaySettings.Siem s = new GatewaySettings.Siem(new HostPort("127.0.0.1", port), pki.chainFile(), null, null,
                "postern", GatewaySettings.Siem.Facility.AUTHPRIV, tmp.resolve("siem.cursor"), false);
        return SiemForwarder.start(trail.directory(), trail::durableSeq, s, FAST, Clock.systemUTC());
    }

    private RsyslogCollector collector(TestPki issuer) throws Exception {
        return RsyslogCollector.withCertificateFrom(issuer, tmp.resolve("rsyslog"));
    }
}
