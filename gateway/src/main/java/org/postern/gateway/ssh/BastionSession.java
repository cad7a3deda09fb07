package org.postern.gateway.ssh;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.server.session.ServerSession;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.session.FlowEnd;

/**
 * One authenticated SSH connection: which device, whose certificate, since when, and — once
 * decided — why it ended. Kept as an attribute of the MINA session; the flows of the session
 * name it in {@code session}.
 */
final class BastionSession {

    static final AttributeRepository.AttributeKey<BastionSession> KEY = new AttributeRepository.AttributeKey<>();

    final String id;
    final String device;
    final String user;
    final String certSerial;
    final String certSha256;
    final String source;
    final Instant since;
    final Lease lease;
    final ServerSession ssh;
    private final AtomicReference<FlowEnd> end = new AtomicReference<>();
    private final List<DirectTcpipChannel> flows = new ArrayList<>();
    /** The earliest end of a window of hours that admitted a forward of it, or null: none did. */
    private @Nullable Instant firstWindowEnd;
    /** The owner's groups as that forward's admission saw them. */
    private Set<String> windowGroups = Set.of();

    BastionSession(String id, String device, String user, String certSerial, String certSha256, String source,
                   Instant since, Lease lease, ServerSession ssh) {
        this.id = Objects.requireNonNull(id, "id");
        this.device = Objects.requireNonNull(device, "device");
        this.user = user;
        this.certSerial = certSerial;
        this.certSha256 = certSha256;
        this.source = source;
        this.since = since;
        this.lease = lease;
        this.ssh = ssh;
    }

    /** The identity fields every event of this session carries. */
    AuditEvent.Builder fill(AuditEvent.Builder b) {
        return b.with("session", id)
                .with("device", device)
                .with("user", user)
                .with("certSerial", certSerial)
                .with("certSha256", certSha256)
                .with("source", source);
    }

    /** Sets why the session ends, the first time only. @return the reason in force */
    FlowEnd ending(FlowEnd why) {
        end.compareAndSet(null, why);
        return end.get();
    }

    /** Why the session ended: set by the gateway, else the client went away. */
    FlowEnd endReason() {
        FlowEnd e = end.get();
        return e != null ? e : FlowEnd.CLIENT_CLOSED;
    }

    /** Whether the gateway has decided to end it (no new channels then). */
    boolean ending() {
        return end.get() != null;
    }

    /** A forward was admitted by a rule's window of hours ending at {@code windowEnd}, for an owner in {@code groups}. */
    synchronized void windowed(Instant windowEnd, List<String> groups) {
        if (firstWindowEnd == null || windowEnd.isBefore(firstWindowEnd)) {
            firstWindowEnd = windowEnd;
        }
        windowGroups = Set.copyOf(groups);
    }

    /** Whether a window that admitted a forward of it has ended by {@code now}. */
    synchronized boolean windowEndedBy(Instant now) {
        return firstWindowEnd != null && !now.isBefore(firstWindowEnd);
    }

    synchronized Set<String> windowGroups() {
        return windowGroups;
    }

    synchronized void add(DirectTcpipChannel flow) {
        flows.add(flow);
    }

    synchronized void remove(DirectTcpipChannel flow) {
        flows.remove(flow);
    }

    synchronized List<DirectTcpipChannel> flows() {
        return List.copyOf(flows);
    }
}
