package org.postern.gateway.relay;

import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.gate.TunnelGate;
import org.postern.gateway.session.Session;
import org.postern.gateway.session.Sessions;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.protocol.http.HttpReplies;
import org.postern.protocol.Reasons;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CONNECT entry (HTTP/1.1, right after {@code HttpServerCodec} and before the aggregator, so
 * it sees the request head as soon as it is decoded; on HTTP/2 {@link Http2ConnectHandler} brings
 * each CONNECT stream here through {@link #open}). For {@code CONNECT host:port} it decides once —
 * {@link ConnectAdmission}: the {@link TunnelGate}, then the limits — connects to that same address
 * ({@link TunnelConnector}), answers {@code 200 Connection Established}, takes the HTTP handlers out
 * of the pipeline and puts a {@link TunnelRelayHandler} in their place: from then on nothing reads
 * the bytes. Other requests pass on untouched. The checks and the audit events
 * ({@link ConnectAudit}) are the same for both protocols; only the framing of the answers differs
 * ({@link ConnectFraming}).
 *
 * <p>On HTTP/1.1 the head of a CONNECT ends the HTTP part of the connection ({@link Http1Framing}):
 * the decoder leaves the pipeline before it decodes anything after the head, and every byte that
 * follows is the tunnel's, held until the tunnel opens; nothing after a CONNECT is ever answered
 * as a request. A CONNECT with content ({@code Transfer-Encoding}, or a {@code Content-Length} other
 * than 0) is {@code 400 connect.malformed}; a refused CONNECT closes the connection.
 *
 * <p>A refusal carries a short text and the reason code in {@code Postern-Reason}; the detail goes
 * to the audit trail as {@code access.denied}. The checks block (registry, DNS, audit) and run on
 * the workers while the connection stops reading.
 */
@ChannelHandler.Sharable
public final class ConnectHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectHandler.class);

    private final FlowRegistry flows;
    private final ConnectAdmission admission;
    private final ConnectAudit audit;
    private final TunnelConnector connector;


    public ConnectHandler(TunnelGate gate, FlowRegistry flows, Sessions sessions) {
        this.flows = Objects.requireNonNull(flows, "flows");
        this.admission = new ConnectAdmission(gate, flows, sessions);
        this.audit = new ConnectAudit(flows);
        this.connector = new TunnelConnector(this, flows, sessions);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpObject && Http1Framing.taken(ctx.channel())) {
            // after a CONNECT nothing on this connection is HTTP (the decoder left, its hold keeps the bytes)
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!(msg instanceof HttpRequest head) || !HttpMethod.CONNECT.equals(head.method())
                || !head.decoderResult().isSuccess()) {
            ctx.fireChannelRead(msg);
            return;
        }
        // on the event loop, while the decoder is still handing out what it decoded from this read
        String body = Http1Framing.body(head);
        Http1Framing framing;
        try {
            framing = Http1Framing.take(ctx, this, flows.settings(), head);
        } finally {
            ReferenceCountUtil.release(head);
        }
        if (framing == null) {
            LOG.error("CONNECT from {} on a connection without an HTTP/1.1 decoder to take out: closed", HttpReplies.source(ctx));
            ctx.close();
            return;
        }
        if (body != null) {
            refuseNow(ctx, framing, new GateDecision.Refusal(Reasons.MALFORMED, body));
            return;
        }
        open(ctx, framing);
    }

    /**
     * A CONNECT arrived on {@code ctx}'s channel (a connection, or an HTTP/2 stream): stop reading,
     * run the checks on a worker, then refuse or connect; {@code framing} writes the answers.
     */
    void open(ChannelHandlerContext ctx, ConnectFraming framing) {
        ctx.channel().config().setAutoRead(false);
        ClientIdentity id = ClientIdentity.of(ctx.channel()).orElse(null);
        String source = HttpReplies.source(ctx);
        execute(ctx, framing, () -> {
            ConnectAdmission.Outcome outcome;
            try {
                outcome = admission.admit(ctx.channel(), id, framing.authority(), source);
            } catch (RuntimeException e) {
                outcome = new ConnectAdmission.Refused(new GateDecision.Refusal(Reasons.INTERNAL_ERROR, e.toString()));
            }
            switch (outcome) {
                case ConnectAdmission.Refused r -> refuse(ctx, framing, r.refusal(), id, source, null);
                case ConnectAdmission.Admitted a -> ctx.executor().execute(() -> connector.connect(ctx, framing, a));
            }
        });
    }

    /** A CONNECT refused before the checks (it was malformed): audit it on a worker and answer. */
    void refuseNow(ChannelHandlerContext ctx, ConnectFraming framing, GateDecision.Refusal r) {
        ClientIdentity id = ClientIdentity.of(ctx.channel()).orElse(null);
        String source = HttpReplies.source(ctx);
        execute(ctx, framing, () -> refuse(ctx, framing, r, id, source, null));
    }

    /** On a worker: audit the denial, then answer on the event loop. */
    void refuse(ChannelHandlerContext ctx, ConnectFraming framing, GateDecision.Refusal r, ClientIdentity id,
                String source, Flow.Endpoints who) {
        Session session = ConnectAdmission.connectionOf(ctx.channel()).attr(Sessions.KEY).get();
        audit.denied(r, session, id, source, framing.authority(), who);
        reply(ctx, framing, r);
    }

    static void reply(ChannelHandlerContext ctx, ConnectFraming framing, GateDecision.Refusal r) {
        ctx.executor().execute(() -> framing.refuse(ctx, r));
    }

    /** Runs blocking work on the workers; when they are shut down, drops the request and the connection. */
    void execute(ChannelHandlerContext ctx, ConnectFraming framing, Runnable work) {
        try {
            flows.workers().execute(work);
        } catch (RejectedExecutionException e) {
            framing.release();
            ctx.close(); // shutting down
        }
    }

    ConnectAdmission admission() {
        return admission;
    }

    ConnectAudit audit() {
        return audit;
    }

    FlowRegistry flows() {
        return flows;
    }
}
