package org.postern.gateway.relay;

import java.util.Objects;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.session.Sessions;
import org.postern.net.Transport;
import org.postern.protocol.Reasons;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After admission: connects to the checked address itself (never the name again), writes
 * {@code flow.open} durably, registers the flow and lets the framing answer 200 and start the relay.
 */
final class TunnelConnector {

    private static final Logger LOG = LoggerFactory.getLogger(TunnelConnector.class);

    private final ConnectHandler handler;
    private final FlowRegistry flows;
    private final Sessions sessions;

    TunnelConnector(ConnectHandler handler, FlowRegistry flows, Sessions sessions) {
        this.handler = Objects.requireNonNull(handler, "handler");
        this.flows = Objects.requireNonNull(flows, "flows");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
    }

    /** On the event loop: connect to the resolved address. */
    void connect(ChannelHandlerContext ctx, ConnectFraming framing, ConnectAdmission.Admitted a) {
        Channel client = ctx.channel();
        if (!client.isActive()) {
            framing.release();
            handler.admission().abandon(a);
            return;
        }
        // on the laptop's event loop, so a socket of that loop's transport
        Bootstrap b = new Bootstrap()
                .group(client.eventLoop())
                .channel(Transport.of(client.eventLoop()).socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                        (int) Math.min(Integer.MAX_VALUE, flows.settings().connectTimeout().toMillis()))
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        // what the admin host sends before the laptop has its 200 waits here for the relay
                        ch.pipeline().addLast(DestinationHoldHandler.NAME, new DestinationHoldHandler());
                    }
                });
        b.connect(a.target().socket()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                GateDecision.Refusal r = new GateDecision.Refusal(Reasons.CONNECT_FAILED, "connect to "
                        + a.who().destAddress() + " (asked " + a.who().dest() + ", rule " + a.target().rule()
                        + ") failed: " + f.cause());
                handler.execute(ctx, framing, () -> {
                    handler.admission().abandon(a);
                    handler.refuse(ctx, framing, r, null, a.who().source(), a.who());
                });
                return;
            }
            Channel server = f.channel();
            handler.execute(ctx, framing, () -> {
                try {
                    handler.audit().flowOpen(a);
                } catch (AuditUnavailableException e) {
                    if (sessions.failOpen()) {
                        LOG.error("AUDIT FAIL-OPEN: flow {} of {} opened WITHOUT a flow.open record (audit.failMode: open): {}",
                                a.flowId(), a.session(), e.getMessage());
                        ctx.executor().execute(() -> established(ctx, framing, a, server));
                        return;
                    }
                    server.close();
                    handler.admission().abandon(a);
                    ConnectHandler.reply(ctx, framing, new GateDecision.Refusal(Reasons.AUDIT_UNAVAILABLE, e.getMessage()));
                    return;
                }
                ctx.executor().execute(() -> established(ctx, framing, a, server));
            });
        });
    }

    /** On the event loop: the flow is registered, then the framing answers 200 and starts the relay. */
    private void established(ChannelHandlerContext ctx, ConnectFraming framing, ConnectAdmission.Admitted a,
                             Channel server) {
        Flow flow = flows.open(a.flowId(), a.who(), ctx.channel(), server, a.session(), a.target().until());
        if (a.session().isEnded()) { // ended (killed, lease ended) while this flow was connecting
            framing.release();
            flow.close(a.session().ended().flowEnd());
            return;
        }
        framing.established(ctx, flow, server);
    }
}
