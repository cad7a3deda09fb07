package org.postern.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

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
    final List<Runnable> work = new ArrayList<>();

    @AfterEach
    void close() {
        pki.close();
    }

    /** A channel whose handler sees {@code cert} as the peer; checks run on {@code executor}. */
    EmbeddedChannel channel(X509Certificate cert, java.util.concurrent.Executor executor) {
        ClientIdentityHandler handler = new ClientIdentityHandler(pki.registry, sink, pki.clock, executor, ctx -> cert);
        return new EmbeddedChannel(handler, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                seen.add(msg);
            }
        });
    }

    EmbeddedChannel handshake(X509Certificate cert) {
        EmbeddedChannel ch = channel(cert, Runnable::run);
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
    void revokedDevice_closedAndAudited() {
        pki.service.revoke("laptop-1", RevocationReason.lost, "test");
        EmbeddedChannel ch = handshake(laptop.certificate());
        assertThat(ch.isOpen()).isFalse();
        assertThat(ClientIdentity.of(ch)).isEmpty();
        AuditEvent e = audit.getLast();
        assertThat(e.type()).isEqualTo("tls.rejected");
        assertThat(e.fields()).containsEntry("device", "laptop-1")
                .containsEntry("certSerial", laptop.certificate().getSerialNumber().toString(16))
                .containsEntry("why", "device laptop-1: expected status active, found revoked")
                .containsKey("subject").containsKey("certSha256");
    }

    @Test
    void suspendedDevice_closed() {
        pki.service.suspend("laptop-1", "test");
        EmbeddedChannel ch = handshake(laptop.certificate());
        assertThat(ch.isOpen()).isFalse();
        assertThat(audit.getLast().fields()).containsEntry("why", "device laptop-1: expected status active, found suspended");
    }

    @Test
    void deviceUnknownToThisRegistry_closed() {
        try (TestPki elsewhere = TestPki.create()) {
            TestPki.Enrolled stranger = elsewhere.enroll("laptop-9", "mallory");
            EmbeddedChannel ch = handshake(stranger.certificate());
            assertThat(ch.isOpen()).isFalse();
            assertThat(audit.getLast().fields()).containsEntry("why", "device laptop-9 is not in the registry");
        }
    }

    @Test
    void notADeviceCertificate_closed() {
        X509Certificate server = pki.service.issueServer(List.of("localhost"), List.of(), "test").certificate();
        EmbeddedChannel ch = handshake(server);
        assertThat(ch.isOpen()).isFalse();
        assertThat((String) audit.getLast().fields().get("why")).contains("expected a SAN URI urn:postern:device:<id>");
    }

    @Test
    void dataArrivingDuringTheCheck_isHeldThenPassedInOrder() {
        EmbeddedChannel ch = channel(laptop.certificate(), work::add);
        ch.pipeline().fireUserEventTriggered(SslHandshakeCompletionEvent.SUCCESS);
        ch.writeInbound("first");
        ch.writeInbound("second");
        assertThat(seen).isEmpty();
        assertThat(ch.config().isAutoRead()).isFalse();

        work.forEach(Runnable::run);
        ch.runPendingTasks();

        assertThat(seen).containsExactly("first", "second");
        assertThat(ch.config().isAutoRead()).isTrue();
        assertThat(ClientIdentity.of(ch)).isPresent();
    }

    @Test
    void failedHandshake_passesThroughUntouched() {
        EmbeddedChannel ch = channel(laptop.certificate(), Runnable::run);
        ch.pipeline().fireUserEventTriggered(new SslHandshakeCompletionEvent(new javax.net.ssl.SSLException("boom")));
        assertThat(ClientIdentity.of(ch)).isEmpty();
        assertThat(ch.pipeline().get(ClientIdentityHandler.class)).isNotNull();
    }
}
