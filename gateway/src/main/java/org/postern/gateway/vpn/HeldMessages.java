package org.postern.gateway.vpn;

import java.util.ArrayDeque;
import java.util.Queue;

import io.netty.channel.ChannelHandlerContext;
import io.netty.util.ReferenceCountUtil;

/**
 * What a CONNECT-IP handler read while the {@link ConnectIpAcceptor} decided: handed, in order, to
 * the link's reader behind the handler on accept, released on refusal or when the stream goes
 * away first. Touched only on the stream's event loop, so it needs no locking.
 */
final class HeldMessages {
    private final Queue<Object> held = new ArrayDeque<>();

    void add(Object msg) {
        held.add(msg);
    }

    /** Fires every held message from {@code ctx}, so it reaches the handlers behind it. */
    void handOver(ChannelHandlerContext ctx) {
        Object m;
        while ((m = held.poll()) != null) {
            ctx.fireChannelRead(m);
        }
    }

    void release() {
        Object m;
        while ((m = held.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
    }
}
