package org.postern.gateway.relay;

import java.util.Objects;

import org.postern.audit.AuditEvent;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.session.Session;
import org.postern.gateway.tls.ClientIdentity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The audit records of the CONNECT path: {@code access.denied} and {@code flow.open}. Blocks: call on a worker. */
final class ConnectAudit {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectAudit.class);

    private final FlowRegistry flows;

    ConnectAudit(FlowRegistry flows) {
        this.flows = Objects.requireNonNull(flows, "flows");
    }

    /**
     * {@code access.denied}: by the endpoints of an admitted flow when there is one ({@code who}),
     * else by the client certificate ({@code id}, may be null). A refusal stands even when the
     * trail cannot take it; it is logged instead.
     */
    void denied(GateDecision.Refusal r, Session session, ClientIdentity id, String source, String authority,
                Flow.Endpoints who) {
        try {
            flows.audit().record(AuditEvent.of("access.denied", flows.clock().instant())
                    .with("session", session == null ? null : session.id())
                    .with("device", who != null ? who.device() : id != null ? id.deviceId() : null)
                    .with("user", who != null ? who.user() : r.user())
                    .with("certSerial", who != null ? who.certSerial() : id != null ? id.serialHex() : null)
                    .with("certSha256", who != null ? who.certSha256() : id != null ? id.sha256() : null)
                    .with("source", source)
                    .with("dest", who != null ? who.dest() : AuditEvent.peerHeader(authority))
                    .with("destAddress", who != null ? who.destAddress() : r.destAddress())
                    .with("reason", r.code())
                    .with("detail", r.detail())
                    .with("remedy", r.remedy())
                    .build());
        } catch (AuditUnavailableException e) {
            // refused anyway; the refusal is not lost from the logs
            LOG.error("access.denied {} for {} could not be recorded: {}", r.code(), source, e.getMessage());
        }
    }

    /** {@code flow.open}, durably, before the peer learns the tunnel is open. */
    void flowOpen(ConnectAdmission.Admitted a) {
        Flow.Endpoints who = a.who();
        flows.audit().record(a.grounds().addTo(AuditEvent.of("flow.open", flows.clock().instant())
                .with("session", a.session().id())
                .with("flow", a.flowId())
                .with("device", who.device())
                .with("user", who.user())
                .with("certSerial", who.certSerial())
                .with("certSha256", who.certSha256())
                .with("source", who.source())
                .with("dest", who.dest())
                .with("destAddress", who.destAddress())
                .with("rule", a.target().rule())
                .with("leaseUntil", a.lease().until().toString())
                // the end of the window of the rule's hours that admitted it (absent: an always-open rule)
                .with("windowEnd", a.target().until() == null ? null : a.target().until().toString()))
                .build());
    }
}
