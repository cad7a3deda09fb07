package org.postern.gateway.ssh;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.Consumer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyProtocolException;
import org.apache.sshd.common.AttributeRepository;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.server.session.ServerProxyAcceptor;
import org.apache.sshd.server.session.ServerSession;
import org.postern.config.gateway.ProxyProtocol;
import org.postern.gateway.proxy.ProxyAudit;
import org.postern.gateway.proxy.ProxyHeaders;
import org.postern.protocol.Reasons;
import org.postern.protocol.http.ClientAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bastion's PROXY protocol rule ({@code proxyProtocol.ssh}), the same as the tunnel
 * listener's: MINA hands it the bytes before the SSH identification. From a trusted proxy they must
 * be a PROXY v2 header (decoded by Netty's decoder, {@link ProxyHeaders#decode}); its client address
 * becomes the session's {@link #CLIENT}, what the bastion's records and per-source limit use, and
 * {@code clientKnown} is told. From anyone else a PROXY header is refused; other bytes are a direct
 * connection. A refused connection is audited ({@code connection.denied}, {@code proxy.*}) and
 * closed; a {@code LOCAL} header (a health check) is closed with a debug line. The wait for the
 * header is bounded by {@code ssh.authTimeout}, its size by {@link ProxyHeaders#MAX_V2_PAYLOAD}.
 * MINA ends a session over its time without telling why, so the acceptor notes how much of a header
 * it has seen ({@link #endedBeforeHeader}): a trusted proxy's connection that ends with part of one
 * is audited ({@code proxy.header_time}), one that ends before any byte is a health check.
 */
final class ProxyHeaderAcceptor implements ServerProxyAcceptor {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyHeaderAcceptor.class);
    /** The client's address a trusted proxy gave. */
    static final AttributeRepository.AttributeKey<InetSocketAddress> CLIENT = new AttributeRepository.AttributeKey<>();
    /** Set once the first bytes were decided: MINA asks again until the identification line is whole. */
    private static final AttributeRepository.AttributeKey<Boolean> DECIDED = new AttributeRepository.AttributeKey<>();
    /** How many bytes of a header not yet whole were seen: a PROXY signature begun, or a v2 header short of its length. */
    private static final AttributeRepository.AttributeKey<Integer> HEADER_BEGUN = new AttributeRepository.AttributeKey<>();

    private final ProxyProtocol.Listener trusted;
    private final ProxyAudit audit;
    private final Duration authTimeout;
    private final Consumer<ServerSession> clientKnown;

    ProxyHeaderAcceptor(ProxyProtocol.Listener trusted, ProxyAudit audit, Duration authTimeout,
            Consumer<ServerSession> clientKnown) {
        this.trusted = trusted;
        this.audit = audit;
        this.authTimeout = authTimeout;
        this.clientKnown = clientKnown;
    }

    /** Whether connections from this session's TCP peer must start with a PROXY v2 header. */
    boolean fromTrustedProxy(ServerSession session) {
        return session.getIoSession().getRemoteAddress() instanceof InetSocketAddress peer && peer.getAddress() != null
                && trusted.trusts(peer.getAddress());
    }

    /**
     * For a session that ended neither refused nor authenticated: whether it came from a trusted
     * proxy and ended before its header named a client. With no byte at all that is HAProxy's TCP
     * health check (connect, close): a debug line. With part of a header, the proxy stalled until
     * {@code ssh.authTimeout} (or dropped the connection mid-header): {@code connection.denied}
     * {@code proxy.header_time}, as docs/gateway.md promises.
     */
    boolean endedBeforeHeader(ServerSession session) {
        if (!fromTrustedProxy(session) || session.getAttribute(CLIENT) != null) {
            return false;
        }
        Integer begun = session.getAttribute(HEADER_BEGUN);
        if (begun == null) {
            LOG.debug("ssh: the trusted proxy {} closed before a PROXY header (a health check)", peer(session));
        } else {
            audit.refused(peer(session), Reasons.PROXY_HEADER_TIME, "expected a whole PROXY v2 header within"
                    + " ssh.authTimeout (" + authTimeout.toMillis() + " ms) of the trusted proxy's connection, found "
                    + begun + " bytes of one when the connection ended");
        }
        return true;
    }

    @Override
    public boolean acceptServerProxyMetadata(ServerSession session, Buffer buffer) {
        if (!session.isOpen()) {
            return false; // refused already
        }
        if (session.getAttribute(DECIDED) != null) {
            return true;
        }
        ByteBuf in = Unpooled.wrappedBuffer(buffer.array(), buffer.rpos(), buffer.available());
        ProxyHeaders.Signature signature = ProxyHeaders.signature(in);
        if (signature == ProxyHeaders.Signature.PARTIAL) {
            return awaitMore(session, in); // a signature begun: MINA asks again with more bytes
        }
        if (!fromTrustedProxy(session)) {
            if (signature == ProxyHeaders.Signature.NONE) {
                session.setAttribute(DECIDED, Boolean.TRUE); // a direct connection
                return true;
            }
            return refuse(session, Reasons.PROXY_UNTRUSTED, "a PROXY protocol " + (signature == ProxyHeaders.Signature.V1
                    ? "v1" : "v2") + " header from " + peer(session) + ", which is not in proxyProtocol.ssh.trustedProxies:"
                    + " refused, the connection may not choose its own client address");
        }
        if (signature != ProxyHeaders.Signature.V2) {
            return refuse(session, Reasons.PROXY_REQUIRED, "expected a PROXY protocol v2 header first from this trusted"
                    + " proxy (HAProxy send-proxy-v2), found " + (signature == ProxyHeaders.Signature.V1 ? "a v1 header"
                    : "no header"));
        }
        if (in.readableBytes() < ProxyHeaders.V2_FIXED) {
            return awaitMore(session, in);
        }
        int length = ProxyHeaders.v2Length(in);
        if (length - ProxyHeaders.V2_FIXED > ProxyHeaders.MAX_V2_PAYLOAD) {
            return refuse(session, Reasons.PROXY_INVALID, "expected a PROXY v2 header of at most "
                    + ProxyHeaders.MAX_V2_PAYLOAD + " bytes after its first " + ProxyHeaders.V2_FIXED + ", found "
                    + (length - ProxyHeaders.V2_FIXED));
        }
        if (in.readableBytes() < length) {
            return awaitMore(session, in);
        }
        HAProxyMessage header;
        try {
            header = ProxyHeaders.decode(in.retainedSlice(in.readerIndex(), length));
        } catch (HAProxyProtocolException e) {
            return refuse(session, Reasons.PROXY_INVALID, "expected a valid PROXY v2 header from the trusted proxy, found"
                    + " one the decoder refused: " + e.getMessage());
        }
        try {
            if (header.command() == HAProxyCommand.LOCAL) {
                LOG.debug("ssh: {} sent a PROXY LOCAL header (a health check): closed", peer(session));
                SshBastion.markRefused(session);
                session.close(true);
                return false;
            }
            InetSocketAddress client = ProxyHeaders.client(header);
            if (client == null) {
                return refuse(session, Reasons.PROXY_INVALID, ProxyHeaders.problem(header));
            }
            buffer.rpos(buffer.rpos() + length);
            session.setAttribute(CLIENT, client);
            session.setAttribute(DECIDED, Boolean.TRUE);
            LOG.debug("ssh: {} through the trusted proxy {}", SshBastion.source(session), peer(session));
            clientKnown.accept(session);
            return session.isOpen(); // closed when the client is over limits.connectionsPerSource
        } finally {
            header.release();
        }
    }

    /** Notes that part of a header was seen ({@link #endedBeforeHeader}); false: MINA asks again with more. */
    private static boolean awaitMore(ServerSession session, ByteBuf in) {
        if (in.isReadable()) {
            session.setAttribute(HEADER_BEGUN, in.readableBytes());
        }
        return false;
    }

    /** Audits, closes; false so that MINA waits for bytes that will not be read. */
    private boolean refuse(ServerSession session, Reasons reason, String detail) {
        SshBastion.markRefused(session);
        session.close(true);
        audit.refused(peer(session), reason, detail);
        return false;
    }

    private static String peer(ServerSession session) {
        return ClientAddress.format(session.getIoSession().getRemoteAddress());
    }
}
