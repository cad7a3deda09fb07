package org.postern.gateway.relay;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import org.postern.gateway.gate.GateDecision;

/**
 * What differs between a CONNECT on HTTP/1.1 and one on an HTTP/2 stream: how the request names
 * its destination and how the answers look on the wire. {@link ConnectHandler} runs the same checks
 * and writes the same audit events for both; the methods taking a {@code ctx} run on its event loop.
 */
interface ConnectFraming {

    /** {@code host:port} as the peer asked for it (the request target, or {@code :authority}). */
    String authority();

    /** Answers a refusal: status, {@code Postern-Reason}, short text; releases the request. */
    void refuse(ChannelHandlerContext ctx, GateDecision.Refusal refusal);

    /**
     * Answers 200 and, once that is written, puts the relay in place of the request handling on
     * the peer's channel and on {@code server}; closes {@code flow} if the answer cannot be written.
     */
    void established(ChannelHandlerContext ctx, Flow flow, Channel server);

    /** The request is dropped without an answer (channel gone, shutting down): release it. */
    void release();
}
