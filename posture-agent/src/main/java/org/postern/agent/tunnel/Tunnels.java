package org.postern.agent.tunnel;

import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.Future;

/**
 * Opens tunnels over the agent's one HTTP/2 connection to the gateway: each is a CONNECT stream
 * (RFC 9113 §8.5). The SOCKS5 listener, the port forwards and {@code connect} all come here.
 */
public interface Tunnels {
    /**
     * Asks the gateway for a tunnel to {@code host:port}. The future completes with the stream once
     * the gateway answered 200 (the stream does not read by itself: the relay reads when it can
     * write), or fails with a {@link TunnelRefusedException} saying who refused and why.
     */
    Future<Http2StreamChannel> open(String host, int port);
}
