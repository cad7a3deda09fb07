package org.postern.gateway.metrics;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import org.jspecify.annotations.Nullable;
import org.postern.gateway.vpn.VpnCounters;
import org.postern.gateway.vpn.VpnDrop;

/**
 * The gateway's meters, in one Micrometer registry scraped as Prometheus text on the admin
 * listener's {@code /metrics} (docs/gateway.md, "Metrics"). The handlers report with one call each
 * ({@link #handshake}, {@link #postureDecision}); live figures (sessions, flows, bytes relayed,
 * audit queue) are read from their owners when scraped. Thread-safe.
 */
public final class GatewayMetrics {

    /** Prometheus text exposition format, as {@code /metrics} answers it. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // Micrometer may hold a meter's object weakly: these keep the bound suppliers alive
    private final List<Object> bound = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** A registry with the gateway's meters, all at zero until something happens. */
    public GatewayMetrics() {
        for (String listener : List.of("tunnel", "admin")) {
            handshakes(listener); // present from the first scrape, so rate() has a start
        }
    }

    /**
     * A TLS handshake on {@code listener} ended.
     *
     * @param cause null for a completed handshake, else why it failed ({@link HandshakeFailure})
     */
    public void handshake(String listener, @Nullable HandshakeFailure cause) {
        if (cause == null) {
            handshakes(listener).increment();
        } else {
            Counter.builder("postern.tls.handshake.failures")
                    .description("TLS handshakes that failed, by listener and cause")
                    .tag("listener", listener).tag("cause", cause.label())
                    .register(registry).increment();
        }
    }

    /**
     * A posture decision was recorded.
     *
     * @param result  {@code compliant}, {@code non_compliant} or {@code rejected}, as in {@code posture.decision}
     * @param reasons its reason codes (none for a compliant decision)
     */
    public void postureDecision(String result, List<String> reasons) {
        Counter.builder("postern.posture.decisions")
                .description("Posture decisions by result")
                .tag("result", result).register(registry).increment();
        for (String reason : reasons) {
            Counter.builder("postern.posture.decision.reasons")
                    .description("Reason codes of posture decisions, one count per reason per decision")
                    .tag("result", result).tag("reason", reason).register(registry).increment();
        }
    }

    /** A configuration reload ended ({@code ok} or {@code failed}). */
    public void reload(boolean ok) {
        Counter.builder("postern.config.reloads").description("Configuration reloads by result")
                .tag("result", ok ? "ok" : "failed").register(registry).increment();
    }

    /** Live sessions, read from {@code live} at each scrape. */
    public void bindSessions(IntSupplier live) {
        bound.add(Objects.requireNonNull(live, "live"));
        Gauge.builder("postern.sessions.live", live::getAsInt).description("Sessions open now").register(registry);
    }

    /** Live flows (tunnels), read from {@code live} at each scrape. */
    public void bindFlows(IntSupplier live) {
        bound.add(Objects.requireNonNull(live, "live"));
        Gauge.builder("postern.flows.live", live::getAsInt).description("Tunnels open now").register(registry);
    }

    /** Bytes relayed so far, laptop → admin hosts ({@code up}) and back ({@code down}); monotonic. */
    public void bindBytesRelayed(LongSupplier up, LongSupplier down) {
        bound.add(up);
        bound.add(down);
        FunctionCounter.builder("postern.relay.bytes", up, LongSupplier::getAsLong)
                .description("Bytes relayed through tunnels").baseUnit("bytes").tag("direction", "up").register(registry);
        FunctionCounter.builder("postern.relay.bytes", down, LongSupplier::getAsLong)
                .description("Bytes relayed through tunnels").baseUnit("bytes").tag("direction", "down").register(registry);
    }

    /**
     * The VPN mode: live links, packets and bytes each way, packets dropped by reason (the
     * {@code dropped} reasons of {@code session.end}).
     */
    public void bindVpn(IntSupplier links, VpnCounters counters) {
        bound.add(Objects.requireNonNull(links, "links"));
        bound.add(Objects.requireNonNull(counters, "counters"));
        Gauge.builder("postern.vpn.links", links::getAsInt).description("VPN links open now").register(registry);
        FunctionCounter.builder("postern.vpn.packets", counters, VpnCounters::packetsUp).description("VPN packets forwarded")
                .tag("direction", "up").register(registry);
        FunctionCounter.builder("postern.vpn.packets", counters, VpnCounters::packetsDown).description("VPN packets forwarded")
                .tag("direction", "down").register(registry);
        FunctionCounter.builder("postern.vpn.bytes", counters, VpnCounters::bytesUp).description("VPN bytes forwarded")
                .baseUnit("bytes").tag("direction", "up").register(registry);
        FunctionCounter.builder("postern.vpn.bytes", counters, VpnCounters::bytesDown).description("VPN bytes forwarded")
                .baseUnit("bytes").tag("direction", "down").register(registry);
        for (VpnDrop reason : VpnDrop.values()) {
            FunctionCounter.builder("postern.vpn.dropped", counters, c -> c.dropped(reason))
                    .description("VPN packets dropped").tag("reason", reason.wireName()).register(registry);
        }
    }

    /** Records waiting for the audit writer, read at each scrape. */
    public void bindAuditQueue(IntSupplier depth) {
        bound.add(Objects.requireNonNull(depth, "depth"));
        Gauge.builder("postern.audit.queue.depth", depth::getAsInt)
                .description("Audit records waiting to be written and synced").register(registry);
    }

    /** The current values in Prometheus text format. */
    public String scrape() {
        return registry.scrape();
    }

    /** For the odd test or binder that needs the registry itself. */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    private Counter handshakes(String listener) {
        return Counter.builder("postern.tls.handshakes")
                .description("TLS handshakes completed, by listener")
                .tag("listener", listener).register(registry);
    }

    /** Why a TLS handshake failed, as a small fixed set of labels (bounded cardinality). */
    public enum HandshakeFailure {
        /** The client sent something that is not TLS. */
        NOT_TLS,
        /** No handshake within the timeout. */
        TIMEOUT,
        /** The peer closed the connection before the handshake ended. */
        CLOSED,
        /** A certificate was refused: unknown CA, expired, revoked, missing where required. */
        CERTIFICATE,
        /** No common protocol version or cipher suite, or a protocol error. */
        PROTOCOL,
        /** Anything else. */
        OTHER;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
