package org.postern.gateway.proxy;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.function.Consumer;

import io.netty.channel.Channel;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import org.postern.config.gateway.ProxyProtocol;

/**
 * The first stages of the tunnel listener's pipeline when {@code proxyProtocol.tunnel} names
 * trusted proxies (docs/gateway.md "Behind a load balancer"). From a trusted proxy: the header
 * guard, Netty's PROXY decoder and the address handler, which builds the rest of the pipeline
 * once it knows the client. From anyone else: a handler that refuses a PROXY header, and the rest
 * of the pipeline at once. With no trusted proxy, only the rest.
 */
public final class ProxyStages {

    private final ProxyProtocol settings;
    private final ProxyAudit audit;

    public ProxyStages(ProxyProtocol settings, ProxyAudit audit) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.audit = Objects.requireNonNull(audit, "audit");
    }

    /**
     * Adds the PROXY stages to {@code ch}'s pipeline, and {@code connection} — the stages that need
     * the client's address — now or once a trusted proxy's header gave it.
     */
    public void addTo(Channel ch, Consumer<Channel> connection) {
        ProxyProtocol.Listener tunnel = settings.tunnel();
        if (!tunnel.enabled()) {
            connection.accept(ch);
            return;
        }
        if (ch.remoteAddress() instanceof InetSocketAddress peer && peer.getAddress() != null
                && tunnel.trusts(peer.getAddress())) {
            // a trusted proxy: a PROXY v2 header first (bounded in size), decoded by Netty, then the client's stages
            ch.pipeline().addLast("proxyGuard", new ProxyHeaderGuard(audit));
            ch.pipeline().addLast("proxyHeader", new HAProxyMessageDecoder(ProxyHeaders.MAX_V2_PAYLOAD));
            ch.pipeline().addLast("proxyAddress", new ProxyAddressHandler(audit, settings.headerTime(), connection));
            return;
        }
        // anyone else connects directly, and may not send a PROXY header
        ch.pipeline().addLast("proxyRefusal", new UntrustedProxyHandler(audit));
        connection.accept(ch);
    }
}
