package org.postern.gateway.ssh;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.io.IoWriteFuture;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.buffer.ByteArrayBuffer;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.server.forward.TcpForwardingFilter;
import org.apache.sshd.server.forward.TcpipServerChannel;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditUnavailableException;
import org.jspecify.annotations.Nullable;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.gate.Grounds;
import org.postern.gateway.gate.TunnelGate;
import org.postern.gateway.gate.Who;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.session.FlowEnd;
import org.postern.protocol.HostPort;
import org.postern.protocol.Reasons;

/**
 * A {@code direct-tcpip} channel ({@code ssh -J}, {@code -W}, {@code -L}) through the same gate as
 * a CONNECT: session authenticated and not ending, then the {@link TunnelGate} (device active, live
 * lease, destination resolved ONCE, {@code AccessPolicy} on that address). The gates block (registry, DNS, audit) and run on
 * the workers. On a pass the request is handed to MINA SSHD's own channel with the host replaced
 * by the resolved IP literal, so MINA connects to exactly the address that was checked (no second
 * lookup, no DNS rebinding); MINA's forwarding filter ({@link PolicyForwardingFilter}) admits only
 * what a gate approved. {@code flow.open} is written before the client learns the channel is open;
 * {@code flow.close} when it closes, with the bytes each way.
 */
final class DirectTcpipChannel extends TcpipServerChannel {

    static final String UNRESOLVED = Reasons.UNRESOLVED.code();
    static final String CONNECT_FAILED = Reasons.CONNECT_FAILED.code();

    /** Makes the channel for each {@code direct-tcpip} open request. */
    static final class Factory implements ChannelFactory {
        private final BastionContext ctx;

        Factory(BastionContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public String getName() {
            return TcpForwardingFilter.Type.Direct.getName();
        }

        @Override
        public Channel createChannel(Session session) {
            return new DirectTcpipChannel(ctx);
        }
    }

    /** A request that passed the gates. */
    private record Pass(String flowId, String dest, String destAddress, String rule, Lease lease, Grounds grounds,
                        @Nullable Instant windowEnd, List<String> groups) {
    }

    private final BastionContext ctx;
    private final LongAdder up = new LongAdder();
    private final LongAdder down = new LongAdder();
    private final AtomicReference<FlowEnd> firstClosed = new AtomicReference<>();
    /** When the window of the rule's hours that admitted this forward closes; null: an always-open rule. */
    private volatile @Nullable Instant windowEnd;
    private volatile Instant openedAt;

    private DirectTcpipChannel(BastionContext ctx) {
        super(TcpForwardingFilter.Type.Direct, null);
        this.ctx = ctx;
    }

    @Override
    protected OpenFuture doInit(Buffer buffer) {
        String host = buffer.getString();
        int port = buffer.getInt();
        String originHost = buffer.getString();
        int originPort = buffer.getInt();
        BastionSession s = getSession().getAttribute(BastionSession.KEY);
        DefaultOpenFuture result = new DefaultOpenFuture(this, this);
        try {
            ctx.workers().execute(() -> {
                try {
                    gate(s, host, port, originHost, originPort, result);
                } catch (RuntimeException e) {
                    fail(result, SshConstants.SSH_OPEN_CONNECT_FAILED, "internal error");
                    org.slf4j.LoggerFactory.getLogger(DirectTcpipChannel.class).error("direct-tcpip gate failed", e);
                }
            });
        } catch (RejectedExecutionException e) {
            fail(result, SshConstants.SSH_OPEN_CONNECT_FAILED, "gateway shutting down");
        }
        return result;
    }

    /** On a worker: the session, the {@link TunnelGate}, then MINA's channel on the resolved address. */
    private void gate(BastionSession s, String host, int port, String originHost, int originPort, DefaultOpenFuture result) {
        String dest = HostPort.format(host, port);
        if (s == null || s.ending()) {
            refuse(s, dest, null, CertificateAuth.NO_LEASE, "the SSH session is not authenticated or is ending", null, result,
                    SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED);
            return;
        }
        GateDecision.Pass passed;
        switch (ctx.gate().open(Who.device(s.device, s.source), host, port)) {
            case GateDecision.Refusal r -> {
                boolean unavailable = r.reason() == Reasons.REGISTRY_UNAVAILABLE || r.reason() == Reasons.UNRESOLVED;
                refuse(s, dest, r.destAddress(), r.code(), r.detail(), r.remedy(), result, unavailable
                        ? SshConstants.SSH_OPEN_CONNECT_FAILED : SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED);
                return;
            }
            case GateDecision.Pass p -> passed = p;
        }
        InetAddress address = passed.target().address();
        String destAddress = passed.target().destAddress();
        String rule = passed.target().rule();
        Pass pass = new Pass(UUID.randomUUID().toString(), dest, destAddress, rule, passed.lease(), passed.grounds(),
                passed.target().until(), passed.device().groups());
        SshdSocketAddress target = new SshdSocketAddress(address.getHostAddress(), port);
        PolicyForwardingFilter.approve(getSession(), target);
        Buffer rewritten = new ByteArrayBuffer();
        rewritten.putString(address.getHostAddress());
        rewritten.putInt(port);
        rewritten.putString(originHost);
        rewritten.putInt(originPort);
        OpenFuture inner = super.doInit(rewritten);
        inner.addListener(f -> {
            if (!f.isOpened()) {
                Throwable t = f.getException();
                ctx.denied(s.fill(ctx.event("access.denied")).with("dest", dest).with("destAddress", destAddress),
                        CONNECT_FAILED, "connect to " + destAddress + " (asked " + dest + ", rule " + rule + ") failed: " + t);
                result.setException(t != null ? t : new SshChannelOpenException(getChannelId(),
                        SshConstants.SSH_OPEN_CONNECT_FAILED, "cannot connect to destination"));
                return;
            }
            opened(s, pass, result);
        });
    }

    /** Connected: {@code flow.open} durably, then the client may use the channel. */
    private void opened(BastionSession s, Pass pass, DefaultOpenFuture result) {
        try {
            ctx.audit().record(pass.grounds().addTo(s.fill(ctx.event("flow.open"))
                    .with("flow", pass.flowId())
                    .with("dest", pass.dest())
                    .with("destAddress", pass.destAddress())
                    .with("rule", pass.rule())
                    .with("leaseUntil", pass.lease().until().toString())
                    .with("windowEnd", pass.windowEnd() == null ? null : pass.windowEnd().toString()))
                    .build());
        } catch (AuditUnavailableException e) {
            ctx.denied(s.fill(ctx.event("access.denied")).with("dest", pass.dest()).with("destAddress", pass.destAddress()),
                    CertificateAuth.AUDIT_UNAVAILABLE, e.getMessage());
            result.setException(new SshChannelOpenException(getChannelId(), SshConstants.SSH_OPEN_CONNECT_FAILED,
                    "audit trail unavailable"));
            close(true);
            return;
        }
        openedAt = ctx.clock().instant();
        windowEnd = pass.windowEnd();
        if (windowEnd != null) {
            s.windowed(windowEnd, pass.groups());
        }
        s.add(this);
        addCloseFutureListener(f -> closed(s, pass));
        result.setOpened();
    }

    private void closed(BastionSession s, Pass pass) {
        s.remove(this);
        FlowEnd first = firstClosed.get();
        FlowEnd how = s.ending() ? s.endReason() : first != null ? first : FlowEnd.CLIENT_CLOSED;
        AuditEvent e = s.fill(ctx.event("flow.close"))
                .with("flow", pass.flowId())
                .with("dest", pass.dest())
                .with("destAddress", pass.destAddress())
                .with("bytesUp", up.sum())
                .with("bytesDown", down.sum())
                .with("durationMs", Duration.between(openedAt, ctx.clock().instant()).toMillis())
                .with("how", how.wireName())
                .build();
        Runnable write = () -> {
            try {
                ctx.audit().recordOrDefer(e); // closed already: kept for later when the trail cannot take it now
            } catch (AuditUnavailableException ex) {
                org.slf4j.LoggerFactory.getLogger(DirectTcpipChannel.class)
                        .error("flow {} closed ({}) but flow.close could not be recorded: {}", pass.flowId(), how.wireName(),
                                ex.getMessage());
            }
        };
        try {
            ctx.workers().execute(write);
        } catch (RejectedExecutionException ex) {
            write.run();
        }
    }

    private void refuse(BastionSession s, String dest, String destAddress, String reason, String detail,
                        @Nullable String remedy, DefaultOpenFuture result, int code) {
        AuditEvent.Builder b = s != null ? s.fill(ctx.event("access.denied"))
                : ctx.event("access.denied").with("source", SshBastion.source(getSession()));
        ctx.denied(b.with("dest", AuditEvent.peerText(dest)).with("destAddress", destAddress).with("remedy", remedy),
                reason, detail);
        // the message carries the remedy (when access opens), though MINA answers the client with its own
        // generic text (OpenSSH prints "administratively prohibited"): the trail's remedy is what stays
        fail(result, code, code == SshConstants.SSH_OPEN_CONNECT_FAILED ? "cannot connect to destination"
                : "access denied: " + reason + (remedy == null ? "" : "; " + remedy));
    }

    private void fail(DefaultOpenFuture result, int code, String message) {
        try {
            result.setException(new SshChannelOpenException(getChannelId(), code, message));
        } finally {
            close(true);
        }
    }

    @Override
    protected void doWriteData(byte[] data, int off, long len) throws IOException {
        up.add(len);
        super.doWriteData(data, off, len);
    }

    @Override
    public IoWriteFuture writePacket(Buffer buffer) throws IOException {
        // SSH_MSG_CHANNEL_DATA: byte cmd, uint32 recipient, string data — count the data bytes going down
        int p = buffer.rpos();
        if (buffer.available() >= 9 && buffer.array()[p] == SshConstants.SSH_MSG_CHANNEL_DATA) {
            byte[] a = buffer.array();
            long len = ((a[p + 5] & 0xffL) << 24) | ((a[p + 6] & 0xffL) << 16) | ((a[p + 7] & 0xffL) << 8) | (a[p + 8] & 0xffL);
            down.add(len);
        }
        return super.writePacket(buffer);
    }

    @Override
    public void handleEof() throws IOException {
        firstClosed.compareAndSet(null, FlowEnd.CLIENT_CLOSED);
        super.handleEof();
    }

    @Override
    public void handleClose() throws IOException {
        firstClosed.compareAndSet(null, FlowEnd.CLIENT_CLOSED);
        super.handleClose();
    }

    @Override
    protected IoWriteFuture sendEof() throws IOException {
        firstClosed.compareAndSet(null, FlowEnd.SERVER_CLOSED); // the admin host finished first
        return super.sendEof();
    }

    /** Ends the flow now, for the reason the session records ({@code lease_ended}, {@code revoked}, …). */
    void cut() {
        close(true);
    }

    /** Cuts this forward with {@code outside_hours} when its window has ended by {@code now}; whether it did. */
    boolean cutIfWindowEnded(Instant now) {
        Instant end = windowEnd;
        if (end == null || now.isBefore(end) || isClosing() || isClosed()) {
            return false;
        }
        firstClosed.compareAndSet(null, FlowEnd.OUTSIDE_HOURS);
        // graceful: the client is sent CHANNEL_CLOSE (an immediate close only drops the channel here, and an
        // `ssh -W` would wait on it), while its SSH session stays for the forwards other rules still allow
        close(false);
        return true;
    }
}
