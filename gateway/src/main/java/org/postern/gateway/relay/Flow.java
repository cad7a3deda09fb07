package org.postern.gateway.relay;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.SslHandler;
import org.postern.gateway.session.FlowEnd;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.gateway.session.Session;
import org.postern.gateway.session.SessionEnd;

/**
 * One tunnelled connection: the laptop's channel, the admin host's channel, the bytes relayed
 * each way, and the one place that ends it. Ending closes both channels and, once both are
 * closed (so the counts are final), writes {@code flow.close}. Both channels share one event
 * loop; {@link #close} may be called from any thread.
 */
final class Flow {

    /** Who asked for what, as the audit trail names it. */
    record Endpoints(String device, String user, String certSerial, String certSha256, String source,
                     String dest, String destAddress) {
    }

    /** The trailer field that says why the gateway ended an HTTP/2 tunnel; its value is {@link FlowEnd#wireName()}. */
    static final String CLOSE_TRAILER = "postern-close";

    /**
     * On the answer that opens a tunnel admitted by a rule with hours, when
     * {@code access.endSessionsAtWindowEnd} will end it: when its window closes (an ISO-8601 instant),
     * so the agent can warn its user. Not sent when the gateway leaves such tunnels open.
     */
    static final String WINDOW_END_HEADER = "Postern-Window-End";
    /**
     * Beside {@link #WINDOW_END_HEADER}: how many whole seconds before that end the agent warns its
     * user ({@code access.warnBeforeWindowEnd}; 0: no warning).
     */
    static final String WINDOW_WARNING_HEADER = "Postern-Window-Warning";

    final String id;
    final Endpoints who;
    final Channel client;
    final Channel server;
    final Session session;
    /** When the window of the rule's hours that admitted it closes, or null (an always-open rule). */
    final @Nullable Instant until;
    private final FlowRegistry registry;
    private final Instant openedAt;
    private final LongAdder up = new LongAdder();
    private final LongAdder down = new LongAdder();
    private final AtomicBoolean closed = new AtomicBoolean();
    // event-loop confined: both channels run on the same loop
    private TunnelRelayHandler.Side firstEof;

    Flow(String id, Endpoints who, Channel client, Channel server, FlowRegistry registry, Instant openedAt,
         Session session, @Nullable Instant until) {
        this.id = id;
        this.until = until;
        this.session = session;
        this.who = who;
        this.client = client;
        this.server = server;
        this.registry = registry;
        this.openedAt = openedAt;
    }

    /**
     * The value of {@link #WINDOW_WARNING_HEADER} for this tunnel (the lead in force now, in whole
     * seconds), or null when its answer announces no window end: an always-open rule admitted it, or
     * the gateway will not end it ({@code access.endSessionsAtWindowEnd: false}).
     */
    @Nullable String windowWarning() {
        Duration lead = until == null ? null : registry.windowWarning();
        return lead == null ? null : Long.toString(lead.toSeconds());
    }

    Channel peerOf(TunnelRelayHandler.Side side) {
        return side == TunnelRelayHandler.Side.CLIENT ? server : client;
    }

    void relayed(TunnelRelayHandler.Side from, int bytes) {
        (from == TunnelRelayHandler.Side.CLIENT ? up : down).add(bytes);
        session.relayed(from == TunnelRelayHandler.Side.CLIENT, bytes);
        registry.relayed(from, bytes);
    }

    long bytesUp() {
        return up.sum();
    }

    long bytesDown() {
        return down.sum();
    }

    boolean isClosed() {
        return closed.get();
    }

    /**
     * One side sent its last byte (TCP FIN). Pass the half-close on once what it sent is flushed;
     * when both sides are done, the flow ends, named after the side that finished first.
     */
    void inputShutdown(TunnelRelayHandler.Side side) {
        if (firstEof == null) {
            firstEof = side;
        } else if (firstEof != side) {
            close(firstEof == TunnelRelayHandler.Side.CLIENT ? FlowEnd.CLIENT_CLOSED : FlowEnd.SERVER_CLOSED);
            return;
        }
        Channel peer = peerOf(side);
        if (peer instanceof Http2StreamChannel) {
            peer.writeAndFlush(new DefaultHttp2DataFrame(true)); // after the DATA already given to the stream
            return;
        }
        peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                return; // the peer is gone; its own close ends the flow
            }
            SslHandler tls = peer.pipeline().get(SslHandler.class);
            if (tls != null) {
                tls.closeOutbound(); // close_notify: TLS 1.3 lets the laptop keep sending
            } else if (peer instanceof DuplexChannel duplex) {
                duplex.shutdownOutput();
            } else {
                close(side == TunnelRelayHandler.Side.CLIENT ? FlowEnd.CLIENT_CLOSED : FlowEnd.SERVER_CLOSED);
            }
        });
    }

    /**
     * How the flow ended when {@code gone}'s channel closed: named after the side that finished
     * first, if one had half-closed already (an admin host's FIN, then the laptop dropping the
     * whole connection, is still {@code server_closed}).
     */
    FlowEnd finishedFirst(TunnelRelayHandler.Side gone) {
        TunnelRelayHandler.Side first = firstEof != null ? firstEof : gone;
        return first == TunnelRelayHandler.Side.CLIENT ? FlowEnd.CLIENT_CLOSED : FlowEnd.SERVER_CLOSED;
    }

    /** Ends the flow once: both channels closed, {@code flow.close} written. */
    void close(FlowEnd how) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        session.flowEnding(how);
        registry.remove(this);
        if (how == FlowEnd.OUTSIDE_HOURS && !(client instanceof Http2StreamChannel)) {
            // an HTTP/1.1 connection carries this one tunnel and goes with it: its session ends for the same
            // reason, not client_closed (an HTTP/2 connection stays, its session ends only by the sweep's rule)
            session.end(SessionEnd.OUTSIDE_HOURS, null);
        }
        AtomicInteger open = new AtomicInteger(2);
        ChannelFutureListener whenBothClosed = f -> {
            if (open.decrementAndGet() == 0) {
                // after the current task: the relay counts a chunk when its write completes, and HTTP/2 merges
                // DATA frames queued for a stream, so the END_STREAM that closed it can complete first
                Runnable record = () -> registry.recordClose(this, how, Duration.between(openedAt, registry.clock().instant()));
                try {
                    server.eventLoop().execute(record);
                } catch (RejectedExecutionException e) { // the event loop is shutting down: record now
                    record.run();
                }
            }
        };
        client.closeFuture().addListener(whenBothClosed);
        server.closeFuture().addListener(whenBothClosed);
        shut(client, how);
        shut(server, how);
    }

    private void shut(Channel ch, FlowEnd how) {
        if (how.abrupt() && ch instanceof Http2StreamChannel && ch.isActive()) {
            // the laptop is told why: trailers "postern-close: <how>" end the stream (docs/gateway.md "Close reasons"),
            // then it closes, at the latest after the grace; the admin host's side is cut at once
            ch.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().add(CLOSE_TRAILER, how.wireName()), true))
                    .addListener(ChannelFutureListener.CLOSE);
            ch.eventLoop().schedule(() -> ch.close(), registry.settings().closeGrace().toMillis(), TimeUnit.MILLISECONDS);
            return;
        }
        if (how.abrupt() || !ch.isActive()) {
            ch.close();
            return;
        }
        // HexDumpProxy's closeOnFlush, bounded: a peer that stopped reading is cut after the grace;
        // an HTTP/2 stream ends with END_STREAM rather than a reset
        Object last = ch instanceof Http2StreamChannel ? new DefaultHttp2DataFrame(true) : Unpooled.EMPTY_BUFFER;
        ch.writeAndFlush(last).addListener(ChannelFutureListener.CLOSE);
        ch.eventLoop().schedule(() -> {
            ch.close();
        }, registry.settings().closeGrace().toMillis(), TimeUnit.MILLISECONDS);
    }

    AuditEvent.Builder audit(String type, Instant at) {
        return AuditEvent.of(type, at)
                .with("session", session.id())
                .with("flow", id)
                .with("device", who.device())
                .with("user", who.user())
                .with("certSerial", who.certSerial())
                .with("certSha256", who.certSha256())
                .with("source", who.source())
                .with("dest", who.dest())
                .with("destAddress", who.destAddress());
    }

    @Override
    public String toString() {
        return "flow " + id + " " + who.device() + " " + who.source() + " -> " + who.dest() + " (" + who.destAddress() + ")";
    }
}
