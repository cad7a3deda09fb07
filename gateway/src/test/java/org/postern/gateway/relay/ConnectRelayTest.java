package org.postern.gateway.relay;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.gateway.session.FlowEnd;
import org.postern.audit.AuditEvent;
import org.postern.pki.registry.DeviceStatus;

class ConnectRelayTest {

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

    private RelayFixture.Answer open(RelayFixture.Behaviour behaviour, String... rules) throws Exception {
        return open(SETTINGS, behaviour, rules);
    }

    private RelayFixture.Answer open(RelaySettings settings, RelayFixture.Behaviour behaviour, String... rules)
            throws Exception {
        host = new RelayFixture.AdminHost(behaviour);
        String[] withPort = new String[rules.length];
        for (int i = 0; i < rules.length; i++) {
            withPort[i] = rules[i].replace("PORT", String.valueOf(host.port()));
        }
        gw = new RelayFixture(settings, withPort);
        gw.grantLease();
        return gw.connect("127.0.0.1:" + host.port());
    }

    // ---- the relay ------------------------------------------------------------------------------

    @Test
    void connect_allowed_relaysOneMebibyteBothWaysAndRecordsTheFlow() throws Exception {
        RelayFixture.Answer a = open(RelayFixture.Behaviour.ECHO, "staff -> 127.0.0.1/32:PORT");
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.headers()).doesNotContainKey("content-length").doesNotContainKey("transfer-encoding");
        byte[] data = new byte[1 << 20];
        new Random(42).nextBytes(data);
        Socket s = a.socket();
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                s.getOutputStream().write(data);
                s.shutdownOutput(); // half-close: the echo ends its output only after it sees this
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        byte[] back = s.getInputStream().readAllBytes(); // to EOF: the half-close came back
        writer.get(RelayFixture.WAIT.toSeconds(), TimeUnit.SECONDS);
        s.close();
        assertThat(back).hasSize(data.length).isEqualTo(data);

        AuditEvent open = gw.audit.await("flow.open");
        assertThat(open.fields()).containsEntry("device", "laptop-1").containsEntry("user", "alice")
                .containsEntry("dest", "127.0.0.1:" + host.port())
                .containsEntry("destAddress", "127.0.0.1:" + host.port())
                .containsEntry("rule", "rule-0")
                .containsEntry("certSerial", RelayFixture.serial(gw.laptop).toString(16));
        AuditEvent close = gw.audit.await("flow.close");
        assertThat(close.fields()).containsEntry("bytesUp", (long) data.length)
                .containsEntry("bytesDown", (long) data.length)
                .containsEntry("how", "client_closed")
                .containsEntry("flow", open.fields().get("flow"))
                .containsKey("durationMs");
        assertThat(gw.flows.count("laptop-1")).isZero();
    }

    @Test
    void connect_halfClose_answerAfterClientFinishedStillArrives() throws Exception {
        RelayFixture.Answer a = open(RelayFixture.Behaviour.COUNT_THEN_ANSWER, "staff -> 127.0.0.1/32:PORT");
        assertThat(a.status()).isEqualTo(200);
        Socket s = a.socket();
        s.getOutputStream().write("twelve bytes".getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput();
        String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        s.close();
        assertThat(answer).isEqualTo("got 12\n");
        AuditEvent close = gw.audit.await("flow.close");
        assertThat(close.fields()).containsEntry("bytesUp", 12L).containsEntry("bytesDown", 7L)
                .containsEntry("how", "client_closed");
    }

    @Test
    void connect_adminHostCloses_closesTheLaptopSide() throws Exception {
        RelayFixture.Answer a = open(RelayFixture.Behaviour.ECHO, "staff -> 127.0.0.1/32:PORT");
        assertThat(a.status()).isEqualTo(200);
        Socket s = a.socket();
        s.getOutputStream().write('x');
        assertThat(s.getInputStream().read()).isEqualTo('x');
        host.close(); // the admin host goes away
        assertThat(readToEnd(s.getInputStream())).isTrue(); // its FIN reached the laptop
        s.close(); // and the laptop finishes too
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "server_closed");
    }

    @Test
    void closeAll_liveFlow_closesItWithinTwoSeconds() throws Exception {
        RelayFixture.Answer a = open(RelayFixture.Behaviour.ECHO, "staff -> 127.0.0.1/32:PORT");
        assertThat(a.status()).isEqualTo(200);
        Socket s = a.socket();
        s.getOutputStream().write('x');
        assertThat(s.getInputStream().read()).isEqualTo('x');
        assertThat(gw.flows.count("laptop-1")).isEqualTo(1);

        long start = System.nanoTime();
        assertThat(gw.flows.closeAll("laptop-1", FlowEnd.LEASE_ENDED)).isEqualTo(1);
        s.setSoTimeout(2000);
        assertThat(readToEnd(s.getInputStream())).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "lease_ended")
                .containsEntry("bytesUp", 1L).containsEntry("bytesDown", 1L);
        assertThat(gw.flows.count("laptop-1")).isZero();
        assertThat(gw.flows.closeAll("laptop-1", FlowEnd.LEASE_ENDED)).isZero();
    }

    @Test
    void relay_quietFlow_closesAfterIdleTimeout() throws Exception {
        RelaySettings quick = new RelaySettings(Duration.ofSeconds(2), Duration.ofMillis(200), Duration.ofSeconds(1));
        RelayFixture.Answer a = open(quick, RelayFixture.Behaviour.ECHO, "staff -> 127.0.0.1/32:PORT");
        assertThat(a.status()).isEqualTo(200);
        assertThat(readToEnd(a.socket().getInputStream())).isTrue();
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "idle");
    }

    @Test
    void relay_adminHostStopsReading_gatewayStopsReadingTheLaptop() throws Exception {
        RelayFixture.Answer a = open(RelayFixture.Behaviour.SINK, "staff -> 127.0.0.1/32:PORT");
        assertThat(a.status()).isEqualTo(200);
        Socket tunnel = a.socket();
        long cap = 256L << 20;
        byte[] chunk = new byte[64 * 1024];
        var out = tunnel.getOutputStream();
        var progress = new AtomicLong();
        Thread writer = Thread.ofVirtual().start(() -> {
            try {
                while (progress.get() < cap) {
                    out.write(chunk);
                    progress.addAndGet(chunk.length);
                }
            } catch (IOException e) {
                // closed at the end of the test
            }
        });
        // the writer blocks once the kernel buffers on the way are full: wait until it stops moving
        long last = -1;
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline && progress.get() != last) {
            last = progress.get();
            writer.join(Duration.ofMillis(500)); // bounded: returns early only if the writer finished
        }
        long written = progress.get();
        Flow flow = gw.flows.flowsOf("laptop-1").getFirst();
        long pending = flow.server.eventLoop().submit(() -> flow.server.unsafe().outboundBuffer() == null ? 0L
                : flow.server.unsafe().outboundBuffer().totalPendingWriteBytes()).get(5, TimeUnit.SECONDS);
        assertThat(written).as("bytes the laptop could write into a stalled tunnel").isLessThan(64L << 20);
        assertThat(pending).as("bytes the gateway holds for the stalled admin host").isLessThanOrEqualTo(1L << 20);
        assertThat(flow.bytesUp()).isLessThan(64L << 20);
        // a stalled flow does not read, so it notices a laptop leaving only at the idle timeout;
        // ending the lease still cuts it at once
        assertThat(gw.flows.closeAll("laptop-1", FlowEnd.LEASE_ENDED)).isEqualTo(1);
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("how", "lease_ended");
        tunnel.close();
        writer.join(Duration.ofSeconds(5));
    }

    // ---- what follows a CONNECT is the tunnel's ----------------------------------------------------

    @Test
    void connect_pipelinedRequestsInTheSameWrite_reachTheAdminHostAsBytes_oneFlow() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "staff -> 127.0.0.1/32:" + host.port());
        gw.grantLease();
        String after = "GET /nowhere HTTP/1.1\r\nHost: gw\r\n\r\nCONNECT 127.0.0.1:" + host.port()
                + " HTTP/1.1\r\n\r\n";
        RelayFixture.Answer a = gw.connect("127.0.0.1:" + host.port(), after);
        assertThat(a.status()).isEqualTo(200);
        byte[] back = a.socket().getInputStream().readNBytes(after.length());
        assertThat(new String(back, StandardCharsets.US_ASCII)).isEqualTo(after); // not a 404, not a second 200
        assertThat(host.acceptedCount()).isEqualTo(1);
        assertThat(gw.flows.count("laptop-1")).isEqualTo(1);
        a.socket().close();
        assertThat(gw.audit.await("flow.close").fields()).containsEntry("bytesUp", (long) after.length());
        assertThat(gw.audit.of("flow.open")).hasSize(1);
        assertThat(gw.flows.count("laptop-1")).isZero();
    }

    @Test
    void connect_withBody_is400Malformed_andClosed() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "staff -> 127.0.0.1/32:" + host.port());
        gw.grantLease();
        Socket s = new Socket(InetAddress.getLoopbackAddress(), gw.port());
        s.setSoTimeout((int) RelayFixture.WAIT.toMillis());
        s.getOutputStream().write(("CONNECT 127.0.0.1:" + host.port() + " HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody")
                .getBytes(StandardCharsets.US_ASCII));
        String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII); // to the close
        s.close();
        assertThat(answer).startsWith("HTTP/1.1 400 ").containsIgnoringCase("postern-reason: connect.malformed")
                .containsIgnoringCase("connection: close");
        assertThat((String) gw.audit.await("access.denied").fields().get("detail")).contains("Content-Length: 4");
        assertThat(host.acceptedCount()).isZero();
    }

    // ---- refusals -------------------------------------------------------------------------------

    @Test
    void connect_noRuleForGroups_is403AccessNoRuleAndAudited() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "dba -> 192.0.2.0/24:22");
        gw.grantLease();
        RelayFixture.Answer a = gw.connect("192.0.2.7:22"); // refused before any connect
        assertThat(a.status()).isEqualTo(403);
        assertThat(a.reason()).isEqualTo("access.no_rule");
        a.socket().close();
        AuditEvent denied = gw.audit.await("access.denied");
        assertThat(denied.fields()).containsEntry("device", "laptop-1").containsEntry("user", "alice")
                .containsEntry("reason", "access.no_rule")
                .containsEntry("dest", "192.0.2.7:22")
                .containsEntry("destAddress", "192.0.2.7:22")
                .containsEntry("certSerial", RelayFixture.serial(gw.laptop).toString(16))
                .containsKey("source");
        assertThat((String) denied.fields().get("detail")).contains("groups [staff]", "no rule names any of these groups");
        assertThat(gw.audit.of("flow.open")).isEmpty();
    }

    @Test
    void connect_noLease_is403PostureNoLease() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "staff -> 127.0.0.1/32:" + host.port());
        RelayFixture.Answer a = gw.connect("127.0.0.1:" + host.port());
        assertThat(a.status()).isEqualTo(403);
        assertThat(a.reason()).isEqualTo("posture.no_lease");
        a.socket().close();
        assertThat(gw.audit.await("access.denied").fields()).containsEntry("reason", "posture.no_lease")
                .containsEntry("device", "laptop-1");
    }

    @Test
    void connect_noClientCertificate_is401() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "staff -> 127.0.0.1/32:" + host.port());
        gw.identity = null;
        RelayFixture.Answer a = gw.connect("127.0.0.1:" + host.port());
        assertThat(a.status()).isEqualTo(401);
        assertThat(a.reason()).isEqualTo("tls.client_cert_required");
        a.socket().close();
        assertThat(gw.audit.await("access.denied").fields()).doesNotContainKey("device");
    }

    @Test
    void connect_suspendedDevice_is403DeviceNotActive() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "staff -> 127.0.0.1/32:" + host.port());
        gw.grantLease();
        gw.pki.registry.suspendDevice("laptop-1", gw.pki.clock.instant());
        RelayFixture.Answer a = gw.connect("127.0.0.1:" + host.port());
        assertThat(a.status()).isEqualTo(403);
        assertThat(a.reason()).isEqualTo("device.not_active");
        a.socket().close();
        assertThat((String) gw.audit.await("access.denied").fields().get("detail"))
                .contains("expected status active, found " + DeviceStatus.SUSPENDED.wireName());
    }

    @Test
    void connect_loopbackNotNamedByARule_is403ForbiddenAddress() throws Exception {
        RelayFixture.Answer a = open(RelayFixture.Behaviour.ECHO, "staff -> 0.0.0.0/0:1-65535");
        assertThat(a.status()).isEqualTo(403);
        assertThat(a.reason()).isEqualTo("access.forbidden_address");
        a.socket().close();
        assertThat((String) gw.audit.await("access.denied").fields().get("detail")).contains("loopback");
    }

    @Test
    void connect_metadataAddress_evenWithLinkLocalRule_is403ForbiddenAddress_andOthersStillServed() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "staff -> 169.254.0.0/16:80", "staff -> 127.0.0.1/32:" + host.port());
        gw.grantLease();
        RelayFixture.Answer a = gw.connect("169.254.169.254:80");
        assertThat(a.status()).isEqualTo(403);
        assertThat(a.reason()).isEqualTo("access.forbidden_address");
        a.socket().close();
        AuditEvent denied = gw.audit.await("access.denied");
        assertThat(denied.fields()).containsEntry("dest", "169.254.169.254:80");
        assertThat((String) denied.fields().get("detail")).contains("metadata");
        assertAnotherTunnelWorks();
    }

    @Test
    void connect_nameResolvingToLoopback_is403ForbiddenAddress_evenWhenARuleNamesTheHost() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "staff -> sneaky.admin.example:" + host.port(), "staff -> 127.0.0.1/32:" + host.port());
        gw.names.put("sneaky.admin.example", InetAddress.getByName("127.0.0.1"));
        gw.grantLease();
        RelayFixture.Answer a = gw.connect("sneaky.admin.example:" + host.port());
        assertThat(a.status()).isEqualTo(403);
        assertThat(a.reason()).isEqualTo("access.forbidden_address");
        a.socket().close();
        AuditEvent denied = gw.audit.await("access.denied");
        assertThat(denied.fields()).containsEntry("dest", "sneaky.admin.example:" + host.port());
        assertThat((String) denied.fields().get("detail")).contains("127.0.0.1");
        assertThat(host.acceptedCount()).as("never connected to the forbidden address").isZero();
        assertAnotherTunnelWorks();
    }

    @Test
    void connect_loopbackPortNoRuleNames_is403ForbiddenAddress_andOthersStillServed() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "staff -> 127.0.0.1/32:" + host.port());
        gw.grantLease();
        RelayFixture.Answer a = gw.connect("127.0.0.1:22"); // loopback, but not the port the rule names
        assertThat(a.status()).isEqualTo(403);
        assertThat(a.reason()).isEqualTo("access.forbidden_address");
        a.socket().close();
        assertAnotherTunnelWorks();
    }

    /** The allowed tunnel to the echo host relays: the gateway kept serving after a refusal. */
    private void assertAnotherTunnelWorks() throws IOException {
        RelayFixture.Answer ok = gw.connect("127.0.0.1:" + host.port());
        assertThat(ok.status()).isEqualTo(200);
        ok.socket().getOutputStream().write('x');
        assertThat(ok.socket().getInputStream().read()).isEqualTo('x');
        ok.socket().close();
    }

    @Test
    void connect_nothingListening_is502ConnectFailed() throws Exception {
        int closedPort;
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = ss.getLocalPort();
        }
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "staff -> 127.0.0.1/32:1-65535");
        gw.grantLease();
        RelayFixture.Answer a = gw.connect("127.0.0.1:" + closedPort);
        assertThat(a.status()).isEqualTo(502);
        assertThat(a.reason()).isEqualTo("connect.failed");
        a.socket().close();
        AuditEvent denied = gw.audit.await("access.denied");
        assertThat(denied.fields()).containsEntry("reason", "connect.failed")
                .containsEntry("destAddress", "127.0.0.1:" + closedPort);
        assertThat(gw.flows.count("laptop-1")).isZero();
    }

    @Test
    void connect_unknownName_is502Unresolved() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "staff -> nowhere.invalid:22");
        gw.grantLease();
        RelayFixture.Answer a = gw.connect("nowhere.invalid:22");
        assertThat(a.status()).isEqualTo(502);
        assertThat(a.reason()).isEqualTo("connect.unresolved");
        a.socket().close();
    }

    @Test
    void connect_portZero_is400BadDestination() throws Exception {
        host = new RelayFixture.AdminHost(RelayFixture.Behaviour.ECHO);
        gw = new RelayFixture(SETTINGS, "staff -> 127.0.0.1/32:1-65535");
        gw.grantLease();
        RelayFixture.Answer a = gw.connect("127.0.0.1:0");
        assertThat(a.status()).isEqualTo(400);
        assertThat(a.reason()).isEqualTo("access.bad_destination");
        a.socket().close();
    }

    /** Reads until end of stream (true) or a reset, which also ends the tunnel; fails on a timeout. */
    private static boolean readToEnd(InputStream in) throws IOException {
        try {
            in.readAllBytes();
            return true;
        } catch (SocketException e) {
            return true; // connection reset: closed abruptly, as a cut flow may be
        }
    }
}
