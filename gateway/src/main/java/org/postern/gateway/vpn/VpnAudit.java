package org.postern.gateway.vpn;

import java.time.Clock;
import java.time.Instant;
import java.util.Objects;

import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.gate.Grounds;
import org.postern.gateway.session.Session;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit records of VPN flows: {@code flow.open} (durable before the flow's first packet is
 * forwarded), {@code flow.close} (kept until the trail can take it), {@code access.denied} and
 * {@code vpn.spoofed}. Every record carries the session's common fields ({@code via: vpn}). Blocks:
 * call on a worker, never on an event loop.
 */
final class VpnAudit {

    private static final Logger LOG = LoggerFactory.getLogger(VpnAudit.class);

    /**
     * What a flow's records say of it, fixed when the gate passed it; {@code grounds} for its {@code flow.open}.
     *
     * @param windowEnd when the window of the rule's hours that admitted it closes, or null (an always-open rule)
     */
    record Opened(String flowId, String protocol, String innerSource, String destAddress, String rule,
                  String leaseUntil, Grounds grounds, Instant at, @Nullable Instant windowEnd) {
        Opened {
            Objects.requireNonNull(grounds, "grounds");
        }

        Opened(String flowId, String protocol, String innerSource, String destAddress, String rule,
               String leaseUntil, Grounds grounds, Instant at) {
            this(flowId, protocol, innerSource, destAddress, rule, leaseUntil, grounds, at, null);
        }
    }

    /** A flow's counters when it closed (taken on the session's event loop). */
    record Counts(long bytesUp, long bytesDown, long packetsUp, long packetsDown) {
    }

    private final AuditSink audit;
    private final Clock clock;

    VpnAudit(AuditSink audit, Clock clock) {
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    Clock clock() {
        return clock;
    }

    /**
     * {@code flow.open}, durably.
     *
     * @throws AuditUnavailableException when the trail cannot take it ({@code audit.failMode: closed}
     *                                   then refuses the flow)
     */
    void flowOpen(Session session, Opened o) {
        audit.record(o.grounds().addTo(flow(session, "flow.open", o.at(), o)).build());
    }

    /** {@code flow.close}: written now, or kept and written once the trail can take it again. */
    void flowClose(Session session, Opened o, Counts c, String how) {
        Instant now = clock.instant();
        AuditEvent event = flow(session, "flow.close", now, o)
                .with("bytesUp", c.bytesUp())
                .with("bytesDown", c.bytesDown())
                .with("packetsUp", c.packetsUp())
                .with("packetsDown", c.packetsDown())
                .with("durationMs", Math.max(0, now.toEpochMilli() - o.at().toEpochMilli()))
                .with("how", how)
                .build();
        try {
            if (!audit.recordOrDefer(event)) {
                LOG.warn("{}: flow.close of VPN flow {} waits for the audit trail to be writable again", session, o.flowId());
            }
        } catch (AuditUnavailableException e) {
            LOG.error("{}: flow.close of VPN flow {} could not be recorded: {}", session, o.flowId(), e.getMessage());
        }
    }

    /** {@code access.denied} of a VPN flow; the refusal stands even when the trail cannot take it (logged). */
    void denied(Session session, GateDecision.Refusal r, String protocol, String innerSource, String dest) {
        try {
            audit.record(session.audit("access.denied", clock.instant())
                    .with("protocol", protocol)
                    .with("innerSource", innerSource)
                    .with("dest", dest)
                    .with("destAddress", dest) // a VPN flow names its address itself: the same text as its flow.open
                    .with("reason", r.code())
                    .with("detail", r.detail())
                    .with("remedy", r.remedy())
                    .build());
        } catch (AuditUnavailableException e) {
            LOG.error("{}: access.denied {} for VPN flow {} {} -> {} could not be recorded: {}", session, r.code(),
                    protocol, innerSource, dest, e.getMessage());
        }
    }

    /** {@code vpn.spoofed}: {@code count} packets claimed {@code claimedSource} since the last record. */
    void spoofed(Session session, String claimedSource, long count) {
        try {
            audit.record(session.audit("vpn.spoofed", clock.instant())
                    .with("claimedSource", claimedSource)
                    .with("count", count)
                    .build());
        } catch (AuditUnavailableException e) {
            LOG.error("{}: vpn.spoofed ({} packets from {}) could not be recorded: {}", session, count, claimedSource,
                    e.getMessage());
        }
    }

    private static AuditEvent.Builder flow(Session session, String type, Instant at, Opened o) {
        return session.audit(type, at)
                .with("flow", o.flowId())
                .with("protocol", o.protocol())
                .with("innerSource", o.innerSource())
                .with("dest", o.destAddress())
                .with("destAddress", o.destAddress())
                .with("rule", o.rule())
                .with("leaseUntil", o.leaseUntil())
                .with("windowEnd", o.windowEnd() == null ? null : o.windowEnd().toString());
    }
}
