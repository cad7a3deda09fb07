package org.postern.gateway.limits;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.postern.protocol.Reasons;
import org.postern.protocol.http.ClientAddress;

/**
 * {@code limits.connectionsPerSource}: at most this many concurrent connections from one source
 * address ({@link ClientAddress}: behind a trusted proxy, its client's), checked when the connection is
 * accepted (after the PROXY header, when there is one), before TLS — one over is closed at once. A
 * flood is audited once per burst, not per connection: the first refusal writes
 * {@code connection.denied} and logs a warning; while refusals go on, one more record (and log
 * line) per {@code window} counts them ({@code refused}); a window without refusals ends the burst.
 * Then the handler leaves the pipeline: a gate decides once. Sharable, one per listener.
 */
@ChannelHandler.Sharable
public final class SourceLimitHandler extends ChannelInboundHandlerAdapter {

    public static final String REASON = Reasons.LIMITS_CONNECTIONS_PER_SOURCE.code();
    private static final Logger LOG = LoggerFactory.getLogger(SourceLimitHandler.class);

    /** Refusals from one source not yet audited. */
    private static final class Burst {
        int unreported;
        long total;
    }

    private final int limit;
    private final Duration window;
    private final LimitAudit audit;
    private final Map<InetAddress, Integer> open = new ConcurrentHashMap<>();
    private final Map<InetAddress, Burst> bursts = new ConcurrentHashMap<>();

    public SourceLimitHandler(int limit, Duration window, LimitAudit audit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limits.connectionsPerSource: expected at least 1, found " + limit);
        }
        this.limit = limit;
        this.window = window;
        this.audit = audit;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        Channel ch = ctx.channel();
        InetSocketAddress peer = ClientAddress.of(ch); // behind a trusted proxy: its client
        if (peer == null || peer.getAddress() == null) {
            ctx.pipeline().remove(this);
            ctx.fireChannelActive();
            return;
        }
        InetAddress source = peer.getAddress();
        boolean[] admitted = {false};
        open.compute(source, (a, n) -> {
            int now = n == null ? 0 : n;
            if (now >= limit) {
                return n;
            }
            admitted[0] = true;
            return now + 1;
        });
        if (!admitted[0]) {
            ch.close();
            refused(source, ch);
            return;
        }
        ch.closeFuture().addListener((ChannelFutureListener) f ->
                open.computeIfPresent(source, (a, n) -> n <= 1 ? null : n - 1));
        ctx.pipeline().remove(this);
        ctx.fireChannelActive();
    }

    /** Connections open now from this source (tests, metrics). */
    public int openFrom(InetAddress source) {
        return open.getOrDefault(source, 0);
    }

    private void refused(InetAddress source, Channel ch) {
        boolean[] first = {false};
        bursts.compute(source, (a, b) -> {
            if (b == null) {
                first[0] = true;
                b = new Burst();
            } else {
                b.unreported++;
            }
            b.total++;
            return b;
        });
        if (first[0]) {
            String ip = source.getHostAddress();
            LOG.warn("refusing connections from {}: {} already open (limits.connectionsPerSource); "
                    + "further refusals are counted every {}", ip, limit, window);
            audit.record(audit.event("connection.denied", ch, ip)
                    .with("reason", REASON)
                    .with("refused", 1)
                    .with("detail", "source " + ip + " has " + limit + " connections open (limits.connectionsPerSource: "
                            + limit + "); further refusals from it are counted every " + window.toSeconds() + "s")
                    .build());
            schedule(source, ch.eventLoop());
        }
    }

    private void schedule(InetAddress source, EventLoop loop) {
        loop.schedule(() -> report(source, loop), window.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** End of a window: count what was refused in it, or end the burst when nothing was. */
    private void report(InetAddress source, EventLoop loop) {
        int[] unreported = {0};
        long[] total = {0};
        bursts.computeIfPresent(source, (a, b) -> {
            unreported[0] = b.unreported;
            total[0] = b.total;
            b.unreported = 0;
            return unreported[0] == 0 ? null : b;
        });
        if (unreported[0] == 0) {
            return;
        }
        String ip = source.getHostAddress();
        LOG.warn("refused {} more connections from {} in the last {} ({} in this burst; limits.connectionsPerSource: {})",
                unreported[0], ip, window, total[0], limit);
        audit.record(audit.event("connection.denied", null, ip)
                .with("reason", REASON)
                .with("refused", unreported[0])
                .with("detail", unreported[0] + " more connections from " + ip + " refused in the last "
                        + window.toSeconds() + "s, " + total[0] + " in this burst (limits.connectionsPerSource: " + limit + ")")
                .build());
        if (!loop.isShuttingDown()) {
            schedule(source, loop);
        }
    }
}
