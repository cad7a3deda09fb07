package org.postern.gateway.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.postern.gateway.testing.H2Client;
import org.postern.net.Transport;

/**
 * Regression (docs/benchmarks.md, "epoll — tried and not kept"): an admin host that writes at once
 * and closes — a banner, then gone — before the relay is attached (the laptop's 200 is still on its
 * way) lost its bytes under epoll: the native transport reads a hang-up's pending bytes even with
 * {@code AUTO_READ} off, and with no relay yet they fell off the outbound pipeline's tail, with the
 * FIN. Every tunnel here must deliver the greeting, then the end, over HTTP/1.1 CONNECT and HTTP/2
 * CONNECT, under every transport; many tunnels per case, as the race was lost most of the time but
 * not always.
 */
class EarlyBytesRelayTest {

    private static final RelaySettings SETTINGS =
            new RelaySettings(Duration.ofSeconds(2), Duration.ofMinutes(1), Duration.ofSeconds(1));
    private static final int TUNNELS = 20;

    enum Framing { HTTP1, HTTP2 }

    private RelayFixture gw;
    private RelayFixture.AdminHost host;

    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        for (Transport t : Transport.values()) {
            for (Framing f : Framing.values()) {
                for (RelayFixture.Behaviour b : List.of(RelayFixture.Behaviour.WRITE_THEN_CLOSE,
                        RelayFixture.Behaviour.WRITE_THEN_HALF_CLOSE)) {
                    all.add(Arguments.of(t, f, b));
                }
            }
        }
        return all.stream();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (host != null) {
            host.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void destinationWritesThenCloses_beforeTheRelayStarts_laptopGetsEveryByteThenTheEnd(
            Transport transport, Framing framing, RelayFixture.Behaviour behaviour) throws Exception {
        host = new RelayFixture.AdminHost(behaviour);
        String rule = "staff -> 127.0.0.1/32:" + host.port();
        gw = framing == Framing.HTTP1 ? new RelayFixture(transport, SETTINGS, rule)
                : RelayFixture.h2(transport, SETTINGS, 100, rule);
        gw.grantLease();
        byte[] greeting = RelayFixture.AdminHost.GREETING.getBytes(StandardCharsets.US_ASCII);
        boolean halfClose = behaviour == RelayFixture.Behaviour.WRITE_THEN_HALF_CLOSE;
        if (framing == Framing.HTTP1) {
            for (int i = 0; i < TUNNELS; i++) {
                RelayFixture.Answer a = gw.connect("127.0.0.1:" + host.port());
                assertThat(a.status()).isEqualTo(200);
                try (Socket s = a.socket()) {
                    byte[] got = s.getInputStream().readAllBytes(); // to the FIN the host's end became
                    assertThat(new String(got, StandardCharsets.US_ASCII)).as("tunnel %d", i)
                            .isEqualTo(RelayFixture.AdminHost.GREETING);
                    if (halfClose) { // the host still reads: the laptop's bytes go up after the host's FIN
                        s.getOutputStream().write("bye".getBytes(StandardCharsets.US_ASCII));
                        s.shutdownOutput();
                    }
                }
            }
        } else {
            List<Map<String, Object>> streams = new ArrayList<>();
            for (int i = 0; i < TUNNELS; i++) {
                Map<String, Object> r = new HashMap<>();
                r.put("method", "CONNECT");
                r.put("authority", "127.0.0.1:" + host.port());
                r.put("send", 0);
                r.put("end", false); // the laptop does not end its side: the END_STREAM that comes is the host's
                streams.add(r);
            }
            Map<String, Object> plan = gw.h2Plan(streams);
            plan.put("timeout", 10);
            H2Client.Result r = H2Client.run(plan);
            for (H2Client.Stream s : r.streams()) {
                assertThat(s.status()).as(s.toString()).isEqualTo(200);
                assertThat(s.text()).as(s.toString()).isEqualTo(RelayFixture.AdminHost.GREETING);
                assertThat(s.ended()).as("the host's FIN came as END_STREAM: " + s).isTrue();
            }
        }
        await().atMost(10, TimeUnit.SECONDS).until(() -> gw.audit.of("flow.close").size() == TUNNELS);
        assertThat(gw.audit.of("flow.close")).allSatisfy(e -> assertThat(e.fields())
                .containsEntry("how", "server_closed").containsEntry("bytesDown", (long) greeting.length));
        if (halfClose && framing == Framing.HTTP1) {
            assertThat(gw.audit.of("flow.close")).allSatisfy(e -> assertThat(e.fields()).containsEntry("bytesUp", 3L));
            await().atMost(5, TimeUnit.SECONDS).until(() -> host.received.get() == 3L * TUNNELS);
        }
        assertThat(gw.flows.count("laptop-1")).isZero();
    }
}
