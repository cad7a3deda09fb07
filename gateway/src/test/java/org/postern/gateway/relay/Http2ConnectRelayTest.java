package org.postern.gateway.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.gateway.session.FlowEnd;
import org.postern.audit.AuditEvent;
import org.postern.gateway.testing.H2Client;

/**
 * CONNECT streams on one HTTP/2 connection (cleartext, prior knowledge; TLS and ALPN are
 * {@code Http2GatewayIT}'s) against loopback admin hosts, driven by hyper-h2: the relay, its
 * half-close, its end by lease, idle and destination, and its memory bounds.
 */
class Http2ConnectRelayTest {

    private static final RelaySettings SETTINGS =
            new RelaySettings(Duration.ofSeconds(2), Duration.ofMinutes(1), Duration.ofSeconds(1));

    private RelayFixture gw;
    private RelayFixture.AdminHost host;

    @AfterEach
    void tearDown() throws Exception {
        if (host != null) {
            host.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    private void start(RelaySettings settings, RelayFixture.Behaviour behaviour) throws Exception {
        host = new RelayFixture.AdminHost(behaviour);
        gw = RelayFixture.h2(settings, 100, "staff -> 127.0.0.1/32:" + host.port());
        gw.grantLease();
    }

    private Map<String, Object> connect(int send, boolean end) {
        Map<String, Object> r = new HashMap<>();
        r.put("method", "CONNECT");
        r.put("authority", "127.0.0.1:" + host.port());
        r.put("send", send);
        r.put("end", end);
        return r;
    }

    @Test
    void h2Connect_parallelStreams_relayBothWaysWithHalfCloseAndOneFlowEach() throws Exception {
        start(SETTINGS, RelayFixture.Behaviour.ECHO);
        List<Map<String, Object>> streams = new ArrayList<>();
        int[] sizes = {1 << 20, 700_000, 65_537, 1};
        for (int size : sizes) {
            streams.add(connect(size, true));
        }
        H2Client.Result r = H2Client.run(gw.h2Plan(streams));
        for (int i = 0; i < sizes.length; i++) {
            H2Client.Stream s = r.stream(i);
            assertThat(s.status()).as(s.toString()).isEqualTo(200);
            assertThat(s.sent()).isEqualTo(sizes[i]);
            assertThat(s.received()).as(s.toString()).isEqualTo(sizes[i]);
            assertThat(s.receivedSha256()).isEqualTo(s.sentSha256());
            assertThat(s.ended()).as("the echo's FIN came back as END_STREAM").isTrue();
            assertThat(s.reset()).isNull();
        }
        await().atMost(5, TimeUnit.SECONDS).until(() -> gw.audit.of("flow.close").size() == sizes.length);
        assertThat(gw.audit.of("flow.open")).hasSize(sizes.length)
                .allSatisfy(e -> assertThat(e.fields()).containsEntry("device", "laptop-1")
                        .containsEntry("dest", "127.0.0.1:" + host.port()).containsEntry("rule", "rule-0"));
        assertThat(gw.audit.of("flow.close")).extracting(e -> e.fields().get("bytesUp"))
                .containsExactlyInAnyOrder(1L << 20, 700_000L, 65_537L, 1L);
        assertThat(gw.audit.of("flow.close")).allSatisfy(e -> assertThat(e.fields())
                .containsEntry("how", "client_closed").containsEntry("bytesDown", e.fields().get("bytesUp")));
        assertThat(gw.flows.count("laptop-1")).isZero();
    }

    @Test
    void h2Connect_dataBeforeThe200_reachesTheHostFirstAndInOrder() throws Exception {
        start(SETTINGS, RelayFixture.Behaviour.ECHO);
        Map<String, Object> early = connect(100_000, true);
        early.put("early", true); // DATA right behind the HEADERS, while the gates still run
        H2Client.Stream s = H2Client.run(gw.h2Plan(List.of(early))).stream(0);
        assertThat(s.status()).as(s.toString()).isEqualTo(200);
        assertThat(s.received()).isEqualTo(100_000);
        assertThat(s.receivedSha256()).isEqualTo(s.sentSha256());
        assertThat(s.ended()).isTrue();
    }

    @Test
    void h2Connect_laptopResetsTheStream_flowEndsAndConnectionServesOn() throws Exception {
        start(SETTINGS, RelayFixture.Behaviour.ECHO);
        Map<String, Object> cancelled = connect(0, false);
        cancelled.put("resetOn200", true);
        H2Client.Result r = H2Client.run(gw.h2Plan(List.of(cancelled, connect(5, true))));
        assertThat(r.stream(0).status()).isEqualTo(200);
        assertThat(r.stream(1).received()).as("the other stream on the connection").isEqualTo(5);
        await().atMost(5, TimeUnit.SECONDS).until(() -> gw.audit.of("flow.close").size() == 2);
        assertThat(gw.audit.of("flow.close")).allSatisfy(e -> assertThat(e.fields()).containsEntry("how", "client_closed"));
        assertThat(gw.flows.count("laptop-1")).isZero();
    }

    @Test
    void h2Connect_halfClose_answerAfterClientEndStreamStillArrives() throws Exception {
        start(SETTINGS, RelayFixture.Behaviour.COUNT_THEN_ANSWER);
        H2Client.Result r = H2Client.run(gw.h2Plan(List.of(connect(12, true), connect(100_000, true))));
        assertThat(r.stream(0).text()).isEqualTo("got 12\n");
        assertThat(r.stream(1).text()).isEqualTo("got 100000\n");
        assertThat(r.stream(1).ended()).isTrue();
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "client_closed");
    }

    @Test
    void h2Connect_refusedBeforeLease_isAuditedLikeHttp11() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = RelayFixture.h2(SETTINGS, 100, "staff -> 127.0.0.1/32:" + host.port());
        H2Client.Stream s = H2Client.run(gw.h2Plan(List.of(connect(1, true)))).stream(0);
        assertThat(s.status()).isEqualTo(403);
        assertThat(s.reason()).isEqualTo("posture.no_lease");
        assertThat(s.text()).isEqualTo("no live posture lease\n");
        assertThat(gw.audit.await("access.denied").fields()).containsEntry("reason", "posture.no_lease")
                .containsEntry("device", "laptop-1").containsEntry("dest", "127.0.0.1:" + host.port());
    }

    @Test
    void h2Connect_malformed_isAuditedAndResetWithProtocolError() throws Exception {
        start(SETTINGS, RelayFixture.Behaviour.ECHO);
        Map<String, Object> withPath = connect(1, true);
        withPath.put("headers", Map.of(":scheme", "https"));
        H2Client.Stream s = H2Client.run(gw.h2Plan(List.of(withPath))).stream(0);
        assertThat(s.status()).isEqualTo(400);
        assertThat(s.reason()).isEqualTo("connect.malformed");
        assertThat(s.reset()).isEqualTo(1);
        assertThat((String) gw.audit.await("access.denied").fields().get("detail"))
                .contains("expected only :method and :authority", ":scheme https");
        assertThat(gw.audit.of("flow.open")).isEmpty();
    }

    @Test
    void closeAll_liveH2Flows_endsTheStreamsWithinTwoSeconds() throws Exception {
        start(SETTINGS, RelayFixture.Behaviour.ECHO);
        Map<String, Object> plan = gw.h2Plan(List.of(connect(10, false), connect(10, false)));
        try (H2Client client = H2Client.start(plan)) {
            await().atMost(10, TimeUnit.SECONDS).until(() -> gw.flows.flowsOf("laptop-1").size() == 2
                    && gw.flows.flowsOf("laptop-1").stream().allMatch(f -> f.bytesDown() == 10));
            long start = System.nanoTime();
            assertThat(gw.flows.closeAll("laptop-1", FlowEnd.LEASE_ENDED)).isEqualTo(2);
            H2Client.Result r = client.result(Duration.ofSeconds(5));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
            for (H2Client.Stream s : r.streams()) {
                assertThat(s.status()).isEqualTo(200);
                assertThat(s.received()).isEqualTo(10);
                // ended by the gateway's trailers (postern-close: lease_ended, docs/gateway.md "Close reasons"),
                // then closed (a RST_STREAM CANCEL may follow: the laptop had not ended its side)
                assertThat(s.ended()).as(s.toString()).isTrue();
            }
            assertThat(r.connectionClosed()).as("only the streams end, not the connection").isFalse();
        }
        await().atMost(5, TimeUnit.SECONDS).until(() -> gw.audit.of("flow.close").size() == 2);
        assertThat(gw.audit.of("flow.close")).allSatisfy(e -> assertThat(e.fields())
                .containsEntry("how", "lease_ended").containsEntry("bytesUp", 10L).containsEntry("bytesDown", 10L));
    }

    @Test
    void h2Connect_adminHostCloses_endsTheStream() throws Exception {
        start(SETTINGS, RelayFixture.Behaviour.COUNT_THEN_ANSWER);
        // the host answers only at end of input; here the laptop never ends, so the host is closed under it
        Map<String, Object> plan = gw.h2Plan(List.of(connect(5, false)));
        try (H2Client client = H2Client.start(plan)) {
            await().atMost(10, TimeUnit.SECONDS).until(() -> gw.flows.count("laptop-1") == 1);
            host.close();
            H2Client.Stream s = client.result(Duration.ofSeconds(10)).stream(0);
            assertThat(s.ended() || s.reset() != null).as(s.toString()).isTrue();
        }
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "server_closed");
    }

    @Test
    void h2Connect_quietStream_closesAfterIdleTimeout() throws Exception {
        start(new RelaySettings(Duration.ofSeconds(2), Duration.ofMillis(300), Duration.ofSeconds(1)),
                RelayFixture.Behaviour.ECHO);
        Map<String, Object> plan = gw.h2Plan(List.of(connect(0, false)));
        plan.put("timeout", 10);
        H2Client.Stream s = H2Client.run(plan).stream(0);
        assertThat(s.status()).isEqualTo(200);
        assertThat(s.ended()).as("ended by trailers postern-close: idle: " + s).isTrue();
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "idle");
    }

    @Test
    void h2Connect_clientNeverReads_floodingHostStallsAndGatewayHoldsLittle() throws Exception {
        start(SETTINGS, RelayFixture.Behaviour.FLOOD);
        int streams = 4;
        List<Map<String, Object>> list = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            list.add(connect(0, false));
        }
        Map<String, Object> plan = gw.h2Plan(list);
        plan.put("noRead", true); // no WINDOW_UPDATE, and the socket is not read after the 200s
        try (H2Client client = H2Client.start(plan)) {
            H2Client.Result r = client.result(Duration.ofSeconds(10));
            assertThat(r.streams()).allSatisfy(s -> assertThat(s.status()).isEqualTo(200));
            // the hosts write until the gateway stops reading them: wait until the count stands still
            long last = -1;
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (System.nanoTime() < deadline && host.written.get() != last) {
                last = host.written.get();
                Thread.sleep(500); // sampling a counter; bounded by the deadline
            }
            assertThat(host.written.get()).as("stood still").isEqualTo(last);
            List<Flow> flows = gw.flows.flowsOf("laptop-1");
            assertThat(flows).hasSize(streams);
            io.netty.channel.Channel connection = flows.getFirst().client.parent();
            long queued = connection.eventLoop().submit(() -> connection.unsafe().outboundBuffer() == null ? 0L
                    : connection.unsafe().outboundBuffer().totalPendingWriteBytes()).get(5, TimeUnit.SECONDS);
            long down = flows.stream().mapToLong(Flow::bytesDown).sum();
            assertThat(written(host)).as("bytes the admin hosts could push into a tunnel nobody reads")
                    .isLessThan(streams * (16L << 20));
            assertThat(down).as("bytes relayed to a laptop that gives no window back").isLessThanOrEqualTo(1L << 20);
            assertThat(queued).as("bytes queued on the laptop's connection").isLessThanOrEqualTo(1L << 20);
            for (Flow f : flows) {
                assertThat(f.client.isWritable() || f.client.bytesBeforeWritable() <= (1L << 20)).isTrue();
            }
        }
        assertThat(gw.flows.closeAll("laptop-1", FlowEnd.LEASE_ENDED)).isLessThanOrEqualTo(streams);
    }

    @Test
    void h2Connect_adminHostStopsReading_laptopIsNotReadEither() throws Exception {
        start(SETTINGS, RelayFixture.Behaviour.SINK);
        Map<String, Object> big = connect(64 << 20, true);
        Map<String, Object> plan = gw.h2Plan(List.of(big));
        plan.put("timeout", 8); // the client sends what flow control lets through in this time
        H2Client.Stream s = H2Client.run(plan).stream(0);
        assertThat(s.status()).isEqualTo(200);
        assertThat(s.sent()).as("bytes the laptop could send into a stalled tunnel").isLessThan(16L << 20);
        Flow flow = gw.flows.flowsOf("laptop-1").isEmpty() ? null : gw.flows.flowsOf("laptop-1").getFirst();
        if (flow != null) {
            long pending = flow.server.eventLoop().submit(() -> flow.server.unsafe().outboundBuffer() == null ? 0L
                    : flow.server.unsafe().outboundBuffer().totalPendingWriteBytes()).get(5, TimeUnit.SECONDS);
            assertThat(pending).as("bytes the gateway holds for the stalled admin host").isLessThanOrEqualTo(1L << 20);
        }
        AuditEvent close = gw.audit.await("flow.close"); // the client left at its timeout
        assertThat((Long) close.fields().get("bytesUp")).isLessThanOrEqualTo(s.sent());
    }

    private static long written(RelayFixture.AdminHost h) {
        return h.written.get();
    }
}
