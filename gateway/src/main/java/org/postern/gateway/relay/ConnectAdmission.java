package org.postern.gateway.relay;

import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2StreamChannel;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.gate.Grounds;
import org.postern.gateway.gate.TunnelGate;
import org.postern.gateway.gate.Who;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.session.Session;
import org.postern.gateway.session.SessionEnd;
import org.postern.gateway.session.Sessions;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.protocol.Reasons;

/**
 * Admission of one CONNECT, on a worker: the {@link TunnelGate} (identity, device, lease, policy),
 * then the limits of this path — a flow slot of the device ({@code limits.flowsPerDevice}), then
 * the connection's session, started now ({@code session.start} durable) if it has none. A
 * {@link Admitted} holds a slot and a count in its session until its flow opens, or
 * {@link #abandon} gives them back. A pass whose window of hours closed before the tunnel got its
 * place in a session is judged again (docs/gateway.md "Remote-work hours").
 */
final class ConnectAdmission {

    /** What admission decided: {@link Admitted} or {@link Refused}. */
    sealed interface Outcome permits Admitted, Refused {
    }

    /** A CONNECT that passed every check: connect to {@code target}; {@code grounds} for its {@code flow.open}. */
    record Admitted(String flowId, Flow.Endpoints who, GateDecision.Target target, Lease lease, Grounds grounds,
                    Session session) implements Outcome {
        Admitted {
            Objects.requireNonNull(grounds, "grounds");
            Objects.requireNonNull(session, "session");
        }
    }

    /** Refused by the gate or by a limit of this path. */
    record Refused(GateDecision.Refusal refusal) implements Outcome {
        Refused {
            Objects.requireNonNull(refusal, "refusal");
        }
    }

    private final TunnelGate gate;
    private final FlowRegistry flows;
    private final Sessions sessions;

    ConnectAdmission(TunnelGate gate, FlowRegistry flows, Sessions sessions) {
        this.gate = Objects.requireNonNull(gate, "gate");
        this.flows = Objects.requireNonNull(flows, "flows");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
    }

    Outcome admit(Channel channel, ClientIdentity id, String authority, String source) {
        Who who = id == null ? new Who(null, null, source) : Who.device(id.deviceId(), source);
        for (int judged = 0; judged < 3; judged++) {
            GateDecision.Pass pass;
            switch (gate.open(who, authority)) {
                case GateDecision.Refusal r -> {
                    return new Refused(r.reason() == Reasons.CLIENT_CERT_REQUIRED
                            ? new GateDecision.Refusal(r.reason(), "CONNECT without a device certificate")
                            : r);
                }
                case GateDecision.Pass p -> pass = p;
            }
            Flow.Endpoints endpoints = new Flow.Endpoints(id.deviceId(), pass.user(), id.serialHex(), id.sha256(), source,
                    authority, pass.target().destAddress());
            Outcome outcome = limits(channel, pass, endpoints);
            if (outcome != null) {
                return outcome;
            }
            // the window of hours that let it pass closed while it was admitted: judged again, so no tunnel
            // opens after its window (the gate refuses access.outside_hours with the remedy, or another rule admits it)
        }
        return new Refused(new GateDecision.Refusal(Reasons.SESSION_ENDED, "the window of hours admitting a tunnel to "
                + authority + " for device " + id.deviceId() + " kept closing while it was admitted"));
    }

    /**
     * The limits of this path, last: a flow slot of the device, then the session. Null when the
     * gate's pass is stale: the window of hours that admitted it has closed by now, or the sweep ended
     * the session at a window's end ({@code outside_hours}) in between — then nothing is held and the
     * CONNECT must be judged again.
     */
    private @Nullable Outcome limits(Channel channel, GateDecision.Pass pass, Flow.Endpoints who) {
        if (!flows.reserve(who.device(), sessions.flowsPerDevice())) {
            return new Refused(new GateDecision.Refusal(Reasons.FLOWS_PER_DEVICE, "device " + who.device() + " already has "
                    + sessions.flowsPerDevice() + " tunnels open or opening (limits.flowsPerDevice); refused " + who.dest(),
                    who.user(), who.destAddress()));
        }
        Session.Who owner = new Session.Who(who.device(), who.user(), who.certSerial(), who.certSha256(), who.source(),
                "tls");
        Instant until = pass.target().until();
        for (int attempt = 0; attempt < 3; attempt++) {
            Session session;
            try {
                session = sessions.admit(connectionOf(channel), owner, pass.grounds());
            } catch (AuditUnavailableException e) {
                flows.unreserve(who.device());
                return new Refused(new GateDecision.Refusal(Reasons.AUDIT_UNAVAILABLE, "session.start for device " + who.device()
                        + " could not be recorded (audit.failMode: closed): " + e.getMessage(), who.user(), who.destAddress()));
            }
            if (session.tryAddFlow()) {
                if (until != null && !flows.clock().instant().isBefore(until)) {
                    // the window closed since the gate's decision (session.start may have waited on the trail)
                    flows.unreserve(who.device());
                    session.flowGone();
                    return null;
                }
                if (until != null) {
                    session.windowed(until, pass.device().groups());
                }
                return new Admitted(UUID.randomUUID().toString(), who, pass.target(), pass.lease(), pass.grounds(),
                        session);
            }
            if (session.ended() == SessionEnd.OUTSIDE_HOURS) {
                // the sweep ended it at a window's end after the gate passed: a new session must not open a
                // tunnel the window no longer allows
                flows.unreserve(who.device());
                return null;
            }
            // it ended between admission and now (lease ended, killed): a new one starts on the next try
        }
        flows.unreserve(who.device());
        return new Refused(new GateDecision.Refusal(Reasons.SESSION_ENDED, "the session of device " + who.device()
                + " kept ending while this tunnel was admitted", who.user(), who.destAddress()));
    }

    /** An admission that will not become a flow gives back its slot and its count in the session (never blocks). */
    void abandon(Admitted a) {
        flows.unreserve(a.who().device());
        a.session().flowGone();
    }

    /** The connection a request came on: itself for HTTP/1.1, the parent of an HTTP/2 stream. */
    static Channel connectionOf(Channel ch) {
        return ch instanceof Http2StreamChannel ? ch.parent() : ch;
    }
}
