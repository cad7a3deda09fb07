package org.postern.cli.vpn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http3.DefaultHttp3Headers;
import io.netty.handler.codec.http3.Http3Headers;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.agent.key.DeviceKey;
import org.postern.agent.vpn.ConnectIpClient;
import org.postern.agent.vpn.ConnectIpRefusedException;
import org.postern.audit.AuditEvent;
import org.postern.gateway.tls.DeviceTrustManager;
import org.postern.gateway.tls.LiveRevocations;
import org.postern.gateway.vpn.ConnectIpAcceptor;
import org.postern.gateway.vpn.ConnectIpListener;
import org.postern.gateway.vpn.ConnectIpRequest;
import org.postern.pki.PkiService;
import org.postern.pki.testing.TestPki;
import org.postern.vpn.transport.IpLink;

/**
 * The CONNECT-IP transport end to end on loopback with real certificates: the gateway's HTTP/3
 * listener with an echo acceptor, the agent's ConnectIpClient, and a bare HTTP/3 client for what
 * the agent never sends.
 */
class ConnectIpTransportTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    final TestPki pki = TestPki.create();
    final TestPki.Enrolled laptop = pki.enroll("laptop-1", "alice");
    final PkiService.Issued server = pki.service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test");
    final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
    final List<ConnectIpRequest> asked = new CopyOnWriteArrayList<>();
    final List<AutoCloseable> closing = new ArrayList<>();
    ConnectIpAcceptor acceptor = request -> {
        asked.add(request);
        echo(request.accept());
    };
    ConnectIpListener listener;

    ConnectIpListener start() throws Exception {
        LiveRevocations revocations = LiveRevocations.start(pki.registry, pki.clock);
        closing.add(revocations);
        DeviceTrustManager trust = new DeviceTrustManager(pki.ca.chain(), revocations, audit::add, pki.clock, Runnable::run);
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(server.certificate());
        chain.addAll(pki.ca.chain());
        listener = ConnectIpListener.start(new InetSocketAddress("127.0.0.1", 0), server.keys().getPrivate(), chain, trust,
                request -> acceptor.onRequest(request));
        return listener;
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        if (listener != null) {
            listener.close();
        }
        pki.close();
    }

    static void echo(IpLink link) {
        link.setReceiver(new IpLink.Receiver() {
            @Override
            public void onStream(ByteBuf bytes) {
                link.sendStream(bytes);
                link.flush();
            }

            @Override
            public void onDatagram(ByteBuf payload) {
                link.sendDatagram(payload);
                link.flush();
            }

            @Override
            public void onClose(String why) {
            }
        });
    }

    DeviceKey deviceKey(TestPki.Enrolled device) {
        return new DeviceKey(device.keys().getPrivate(), device.keys().getPublic(), Security.getProvider("SunEC"));
    }

    ConnectIpClient agent() {
        return ConnectIpClient.forGateway("localhost", listener.address().getPort(), pki.ca.rootSha256(), deviceKey(laptop),
                laptop.certificate());
    }

    /** What a link received, for the test thread. */
    static final class Collected implements IpLink.Receiver {
        final LinkedBlockingQueue<byte[]> stream = new LinkedBlockingQueue<>();
        final Map<Integer, byte[]> datagrams = new ConcurrentHashMap<>();
        final LinkedBlockingQueue<String> closed = new LinkedBlockingQueue<>();

        @Override
        public void onStream(ByteBuf bytes) {
            stream.add(ByteBufUtil.getBytes(bytes));
            bytes.release();
        }

        @Override
        public void onDatagram(ByteBuf payload) {
            byte[] b = ByteBufUtil.getBytes(payload);
            payload.release();
            datagrams.put(((b[0] & 0xff) << 8) | (b[1] & 0xff), b);
        }

        @Override
        public void onClose(String why) {
            closed.add(why);
        }
    }

    static byte[] datagram(int seq, int length) {
        byte[] b = new byte[length];
        b[0] = (byte) (seq >>> 8);
        b[1] = (byte) seq;
        for (int i = 2; i < length; i++) {
            b[i] = (byte) (seq * 31 + i);
        }
        return b;
    }

    @Test
    void h3_streamBytesAndThousandDatagrams_echoed() throws Exception {
        start();
        IpLink link = agent().openH3(WAIT).get(10, TimeUnit.SECONDS);
        closing.add(() -> link.close("test over"));
        Collected got = new Collected();
        link.setReceiver(got);
        assertThat(link.transport()).isEqualTo("h3");
        assertThat(asked).singleElement().satisfies(r -> {
            assertThat(r.device().deviceId()).isEqualTo("laptop-1");
            assertThat(r.transport()).isEqualTo("h3");
            assertThat(r.target()).isEqualTo("*");
            assertThat(r.ipproto()).isEqualTo("*");
            assertThat(r.source().getAddress().isLoopbackAddress()).isTrue();
        });

        link.sendStream(Unpooled.copiedBuffer("capsules are opaque here", StandardCharsets.US_ASCII));
        link.flush();
        StringBuilder echoed = new StringBuilder();
        while (echoed.length() < "capsules are opaque here".length()) {
            byte[] b = got.stream.poll(10, TimeUnit.SECONDS);
            assertThat(b).as("stream bytes echoed").isNotNull();
            echoed.append(new String(b, StandardCharsets.US_ASCII));
        }
        assertThat(echoed).hasToString("capsules are opaque here");

        Awaitility.await().atMost(WAIT).until(() -> link.maxDatagramPayload() >= 1300);
        int sent = 1000;
        for (int i = 0; i < sent; i++) {
            assertThat(link.sendDatagram(Unpooled.wrappedBuffer(datagram(i, 1200)))).isEqualTo(IpLink.DatagramResult.QUEUED);
            if (i % 16 == 15) {
                // at most ~64 datagrams in flight (as a TUN device's reads would pace them): what is
                // measured is loss in QUIC, not an overrun of the loopback socket buffers
                link.flush();
                int floor = i - 64 - i / 100; // tolerates the 1 % allowed
                Awaitility.await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(1))
                        .until(() -> got.datagrams.size() >= floor);
            }
        }
        link.flush();
        Awaitility.await().atMost(WAIT).pollInterval(Duration.ofMillis(10)).untilAsserted(() -> assertThat(got.datagrams.size())
                .as("datagrams echoed of %d sent", sent).isGreaterThanOrEqualTo(sent * 99 / 100));
        System.out.printf("h3 datagrams of 1200 bytes echoed: %d of %d (max payload %d)%n", got.datagrams.size(), sent,
                link.maxDatagramPayload());
        for (Map.Entry<Integer, byte[]> e : got.datagrams.entrySet()) {
            assertThat(e.getValue()).as("datagram %d", e.getKey()).isEqualTo(datagram(e.getKey(), 1200));
        }
        assertThat(got.datagrams.keySet()).allMatch(k -> k >= 0 && k < sent);

        assertThat(link.sendDatagram(Unpooled.wrappedBuffer(new byte[link.maxDatagramPayload() + 1])))
                .isEqualTo(IpLink.DatagramResult.TOO_LARGE);
    }

    @Test
    void h3_refusedByAcceptor_clientGetsStatusAndReason() throws Exception {
        acceptor = request -> request.refuse(403, "vpn.not_allowed", "no VPN for laptop-1");
        start();
        assertThatThrownBy(() -> agent().openH3(WAIT).get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).cause().isInstanceOf(ConnectIpRefusedException.class)
                .hasMessage("the gateway refused CONNECT-IP: 403 vpn.not_allowed: no VPN for laptop-1")
                .satisfies(e -> {
                    assertThat(((ConnectIpRefusedException) e).status()).isEqualTo(403);
                    assertThat(((ConnectIpRefusedException) e).reason()).isEqualTo("vpn.not_allowed");
                });
    }

    @Test
    void h3_noClientCertificate_handshakeRefused() throws Exception {
        start();
        // TLS 1.3: the client's side of the handshake ends before the server judges its (absent)
        // certificate, so the refusal shows as the connection closing, or the connect failing
        try (RawH3Client raw = new RawH3Client(listener.address(), pki.ca.root(), null)) {
            assertThat(raw.connection.closeFuture().await(10, TimeUnit.SECONDS))
                    .as("the gateway closes a QUIC connection without a client certificate").isTrue();
        } catch (ExecutionException refused) {
            assertThat(refused).hasStackTraceContaining("Quic");
        }
        assertThat(asked).isEmpty();
    }

    @Test
    void h3_deviceOfAnotherCa_refusedInTheHandshake() throws Exception {
        start();
        try (TestPki other = TestPki.create()) {
            TestPki.Enrolled stranger = other.enroll("laptop-1", "mallory");
            ConnectIpClient client = ConnectIpClient.forGateway("localhost", listener.address().getPort(), pki.ca.rootSha256(),
                    deviceKey(stranger), stranger.certificate());
            assertThatThrownBy(() -> client.openH3(WAIT).get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
        }
        assertThat(asked).isEmpty();
        Awaitility.await().atMost(WAIT).until(() -> audit.stream().anyMatch(e -> e.type().equals("tls.rejected")));
    }

    static Http3Headers connectIp() {
        Http3Headers h = new DefaultHttp3Headers().method("CONNECT").protocol("connect-ip").scheme("https")
                .authority("localhost:8443").path("/.well-known/masque/ip/*/*/");
        h.set("capsule-protocol", "?1");
        return h;
    }

    @Test
    void h3_malformedRequests_400ConnectMalformed_neverAsked() throws Exception {
        start();
        try (RawH3Client raw = new RawH3Client(listener.address(), pki.ca.root(), laptop.keys().getPrivate(),
                laptop.certificate(), pki.ca.chain().getFirst())) {
            Http3Headers wrongPath = connectIp().path("/.well-known/masque/udp/*/*/");
            Http3Headers noCapsules = connectIp();
            noCapsules.remove("capsule-protocol");
            Http3Headers scoped = connectIp().path("/.well-known/masque/ip/10.0.0.1/6/");
            Http3Headers get = new DefaultHttp3Headers().method("GET").scheme("https").authority("localhost").path("/");
            for (var c : List.of(Map.entry(wrongPath, "expected :path /.well-known/masque/ip/{target}/{ipproto}/"),
                    Map.entry(noCapsules, "expected header capsule-protocol: ?1"),
                    Map.entry(get, "expected :method CONNECT, found \"GET\""))) {
                RawH3Client.Answer a = raw.request(c.getKey()).get(10, TimeUnit.SECONDS);
                assertThat(a.status()).isEqualTo(400);
                assertThat(a.reason()).isEqualTo("connect.malformed");
                assertThat(a.body()).contains(c.getValue());
            }
            RawH3Client.Answer a = raw.request(scoped).get(10, TimeUnit.SECONDS);
            assertThat(a.status()).isEqualTo(501);
            assertThat(a.reason()).isEqualTo("connect.malformed");
        }
        assertThat(asked).isEmpty();
    }

    @Test
    void h3_datagramForUnknownStream_droppedAndCounted_linkUnharmed() throws Exception {
        start();
        try (RawH3Client raw = new RawH3Client(listener.address(), pki.ca.root(), laptop.keys().getPrivate(),
                laptop.certificate(), pki.ca.chain().getFirst())) {
            RawH3Client.Answer ok = raw.request(connectIp()).get(10, TimeUnit.SECONDS);
            assertThat(ok.status()).isEqualTo(200);
            raw.datagram(new byte[] {0x25, 1, 2, 3}); // quarter stream id 37: stream 148, never opened
            raw.datagram(new byte[] {(byte) 0xC0}); // an 8-byte varint cut short
            Awaitility.await().atMost(WAIT).until(() -> listener.droppedDatagrams() == 2);
        }
        assertThat(asked).hasSize(1);
    }
}
