package org.postern.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.testing.TestPki;

class ClientIdentityHandlerTest {

    final TestPki pki = TestPki.create();
    final TestPki.Enrolled laptop = pki.enroll("laptop-1", "alice");
    final List<AuditEvent> audit = new ArrayList<>();
    final AuditSink sink = audit::add;
    final List<Object> seen = new ArrayList<>();
    final AtomicLong nanos = new AtomicLong();
    /** Polled by hand: {@link LiveRevocations#refresh()} is the poller's one step. */
    final LiveRevocations revocations = new LiveRevocations(pki.registry, pki.clock, nanos::get, Duration.ofSeconds(5), null);

    @AfterEach
    void close() {
        pki.close();
    }

    /** A channel whose handler sees {@code cert} as the peer; audit writes run at once. */
    EmbeddedChannel handshake(X509Certificate cert) {
        revocations.refresh();
        ClientIdentityHandler handler = new ClientIdentityHandler(revocations, sink, pki.clock, Runnable::run, ctx -> cert);
        EmbeddedChannel ch = new EmbeddedChannel(handler, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                seen.add(msg);
            }
        });
        ch.pipeline().fireUserEventTriggered(SslHandshakeCompletionEvent.SUCCESS);
        ch.runPendingTasks();
        return ch;
    }

    @Test
    void activeDevice_identitySet_handlerGone() {
        EmbeddedChannel ch = handshake(laptop.certificate());
        ClientIdentity id = ClientIdentity.of(ch).orElseThrow();
        assertThat(id.deviceId()).isEqualTo("laptop-1");
        assertThat(id.serial()).isEqualTo(laptop.certificate().getSerialNumber());
        assertThat(id.sha256()).hasSize(64);
        assertThat(ch.isOpen()).isTrue();
        assertThat(ch.pipeline().get(ClientIdentityHandler.class)).isNull();
        assertThat(audit).isEmpty();
        ch.writeInbound("GET /");
        assertThat(seen).containsExactly("GET /");
    }

    @Test
    void noClientCertificate_noIdentity_stillServed() {
        EmbeddedChannel ch = handshake(null);
        assertThat(ClientIdentity.of(ch)).isEmpty();
        assertThat(ch.isOpen()).isTrue();
        ch.writeInbound("GET /cacerts");
        assertThat(seen).containsExactly("GET /cacerts");
    }

    @Test
    void deviceRevokedSinceTheHandshake_closedAndAudited() {
        pki.service.revoke("laptop-1", RevocationReason.lost, "test");
        EmbeddedChannel ch = handshake(laptop.certificate());
        assertThat(ch.isOpen()).isFalse();
        assertThat(ClientIdentity.of(ch)).isEmpty();
        AuditEvent e = audit.getLast();
        assertThat(e.type()).isEqualTo("tls.rejected");
        assertThat(e.fields()).containsEntry("device", "laptop-1")
                .containsEntry("certSerial", laptop.certificate().getSerialNumber().toString(16))
                .containsEntry("reason", "device.revoked")
                .containsEntry("why", "device laptop-1: expected status active, found revoked")
                .containsKey("subject").containsKey("certSha256");
    }

    @Test
    void suspendedDevice_closed() {
        pki.service.suspend("laptop-1", "test");
        EmbeddedChannel ch = handshake(laptop.certificate());
        assertThat(ch.isOpen()).isFalse();
        assertThat(audit.getLast().fields()).containsEntry("reason", "device.suspended")
                .containsEntry("why", "device laptop-1: expected status active, found suspended");
    }

    @Test
    void staleRevocationView_closed_failClosed() {
        revocations.refresh();
        pki.registry.close(); // unreadable from now on
        nanos.addAndGet(Duration.ofSeconds(6).toNanos());
        EmbeddedChannel ch = handshake(laptop.certificate());
        assertThat(ch.isOpen()).isFalse();
        assertThat(audit.getLast().fields()).containsEntry("reason", "registry.unavailable");
        assertThat((String) audit.getLast().fields().get("why"))
                .startsWith("revocation view is stale: the registry was last read 6000 ms ago (limit 5000 ms): ")
                .endsWith("is closed; failing closed");
    }

    @Test
    void notADeviceCertificate_closed() {
        X509Certificate server = pki.service.issueServer(List.of("localhost"), List.of(), "test").certificate();
        EmbeddedChannel ch = handshake(server);
        assertThat(ch.isOpen()).isFalse();
        assertThat(audit.getLast().fields()).containsEntry("reason", "cert.not_device");
        assertThat((String) audit.getLast().fields().get("why")).contains("expected a SAN URI urn:postern:device:<id>");
    }

    @Test
    void failedHandshake_passesThroughUntouched() {
        revocations.refresh();
        EmbeddedChannel ch = new EmbeddedChannel(
                new ClientIdentityHandler(revocations, sink, pki.clock, Runnable::run, ctx -> laptop.certificate()));
        ch.pipeline().fireUserEventTriggered(new SslHandshakeCompletionEvent(new javax.net.ssl.SSLException("boom")));
        assertThat(ClientIdentity.of(ch)).isEmpty();
        assertThat(ch.pipeline().get(ClientIdentityHandler.class)).isNotNull();
        assertThat(audit).isEmpty();
    }
}
