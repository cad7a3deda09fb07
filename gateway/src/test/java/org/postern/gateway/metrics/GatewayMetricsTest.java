package org.postern.gateway.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.channels.ClosedChannelException;
import java.security.cert.CertificateExpiredException;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLHandshakeException;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import org.junit.jupiter.api.Test;
import org.postern.gateway.metrics.GatewayMetrics.HandshakeFailure;

class GatewayMetricsTest {

    @Test
    void classify_namesTheCause_fromTypesThenAlertText() {
        assertThat(HandshakeMetricsHandler.classify(new NotSslRecordException("not an SSL/TLS record")))
                .isEqualTo(HandshakeFailure.NOT_TLS);
        assertThat(HandshakeMetricsHandler.classify(new SslHandshakeTimeoutException("handshake timed out after 10000ms")))
                .isEqualTo(HandshakeFailure.TIMEOUT);
        assertThat(HandshakeMetricsHandler.classify(new ClosedChannelException())).isEqualTo(HandshakeFailure.CLOSED);
        SSLHandshakeException expired = new SSLHandshakeException("PKIX path validation failed");
        expired.initCause(new CertificateExpiredException("NotAfter: 2026-01-01"));
        assertThat(HandshakeMetricsHandler.classify(expired)).isEqualTo(HandshakeFailure.CERTIFICATE);
        assertThat(HandshakeMetricsHandler.classify(new SSLHandshakeException(
                "error:100000c0:SSL routines:OPENSSL_internal:PEER_DID_NOT_RETURN_A_CERTIFICATE")))
                .isEqualTo(HandshakeFailure.CERTIFICATE);
        assertThat(HandshakeMetricsHandler.classify(new SSLHandshakeException(
                "error:100000f0:SSL routines:OPENSSL_internal:UNSUPPORTED_PROTOCOL")))
                .isEqualTo(HandshakeFailure.PROTOCOL);
        assertThat(HandshakeMetricsHandler.classify(new IllegalStateException("odd"))).isEqualTo(HandshakeFailure.OTHER);
    }

    @Test
    void handler_countsOnce_thenStepsOut() {
        GatewayMetrics metrics = new GatewayMetrics();
        EmbeddedChannel ch = new EmbeddedChannel(new HandshakeMetricsHandler(metrics, "tunnel"));
        ch.pipeline().fireUserEventTriggered(SslHandshakeCompletionEvent.SUCCESS);
        assertThat(ch.pipeline().get(HandshakeMetricsHandler.class)).isNull();
        EmbeddedChannel failed = new EmbeddedChannel(new HandshakeMetricsHandler(metrics, "admin"));
        failed.pipeline().fireUserEventTriggered(new SslHandshakeCompletionEvent(new NotSslRecordException("x")));
        assertThat(metrics.scrape())
                .contains("postern_tls_handshakes_total{listener=\"tunnel\"} 1.0")
                .contains("postern_tls_handshakes_total{listener=\"admin\"} 0.0")
                .contains("postern_tls_handshake_failures_total{cause=\"not_tls\",listener=\"admin\"} 1.0");
    }

    @Test
    void scrape_readsLiveFigures_andCountsDecisionsByReason() {
        GatewayMetrics metrics = new GatewayMetrics();
        AtomicInteger flows = new AtomicInteger(3);
        AtomicLong up = new AtomicLong(10);
        metrics.bindFlows(flows::get);
        metrics.bindSessions(() -> 2);
        metrics.bindAuditQueue(() -> 7);
        metrics.bindBytesRelayed(up::get, () -> 20);
        metrics.postureDecision("non_compliant", List.of("disk.not_encrypted", "patch.stale"));
        metrics.postureDecision("compliant", List.of());
        flows.set(5);
        up.set(4096);
        System.gc(); // Micrometer holds function counters' objects weakly: the figures must survive a collection
        assertThat(metrics.scrape())
                .contains("postern_flows_live 5.0")
                .contains("postern_sessions_live 2.0")
                .contains("postern_audit_queue_depth 7.0")
                .contains("postern_relay_bytes_total{direction=\"up\"} 4096.0")
                .contains("postern_posture_decisions_total{result=\"non_compliant\"} 1.0")
                .contains("postern_posture_decision_reasons_total{reason=\"patch.stale\",result=\"non_compliant\"} 1.0")
                .contains("postern_posture_decisions_total{result=\"compliant\"} 1.0");
    }
}
