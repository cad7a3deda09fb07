package org.postern.vpn.transport;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicDatagramExtensionEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP datagrams of one QUIC connection (RFC 9297 §2.1): in the {@link QuicChannel}'s
 * pipeline behind the HTTP/3 connection handler, it takes the QUIC DATAGRAM frames, reads their
 * quarter stream id and hands the payload to the {@link H3IpLink} of that stream. A datagram for
 * a stream that is no open CONNECT-IP link (unknown, not yet accepted, closed) or with a broken
 * prefix is dropped and counted ({@link #dropped()}): datagrams are unreliable, the peer copes.
 *
 * <p>It also remembers the largest datagram the peer takes, which QUIC announces once the
 * handshake is done ({@link QuicDatagramExtensionEvent}). One instance per connection, used on
 * the connection's event loop only.
 */
public final class H3Datagrams extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(H3Datagrams.class);
    /**
     * The largest UDP payload either end sends or takes: a 1500-byte Ethernet MTU less IPv6 and
     * UDP headers. QUIC's default (1350, from quiche) leaves datagrams of about 1300 bytes, too
     * little for a 1280-byte IPv6 packet plus its context id; 1452 leaves about 1400.
     */
    public static final int MAX_UDP_PAYLOAD = 1452;

    private final Map<Long, H3IpLink> links = new HashMap<>();
    private final AtomicLong dropped;
    private volatile int maxLength;

    /** @param dropped counts dropped datagrams (shared by all connections of a listener, or per client) */
    public H3Datagrams(AtomicLong dropped) {
        this.dropped = dropped;
    }

    /** The handler of {@code connection}, which must have one. */
    static H3Datagrams of(QuicChannel connection) {
        H3Datagrams d = connection.pipeline().get(H3Datagrams.class);
        if (d == null) {
            throw new IllegalStateException("QUIC connection " + connection + " has no H3Datagrams handler");
        }
        return d;
    }

    /** The largest QUIC DATAGRAM the peer takes (0 until the peer allowed datagrams). */
    int maxLength() {
        return maxLength;
    }

    void register(long quarterStreamId, H3IpLink link) {
        links.put(quarterStreamId, link);
    }

    void unregister(long quarterStreamId) {
        links.remove(quarterStreamId);
    }

    /** Datagrams dropped so far. */
    public long dropped() {
        return dropped.get();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof QuicDatagramExtensionEvent e) {
            maxLength = e.maxLength();
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf datagram)) { // stream channels pass by once set up
            ctx.fireChannelRead(msg);
            return;
        }
        long quarter = HttpDatagrams.readVarint(datagram);
        H3IpLink link = quarter < 0 ? null : links.get(quarter);
        if (link == null) {
            dropped.incrementAndGet();
            LOG.debug("{}: dropped a datagram for {} ({} bytes)", ctx.channel(),
                    quarter < 0 ? "no stream (broken prefix)" : "stream " + quarter * 4 + ", no CONNECT-IP link",
                    datagram.readableBytes());
            datagram.release();
            return;
        }
        link.deliverDatagram(datagram);
    }
}
