package org.postern.gateway.vpn;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

import io.netty.channel.Channel;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.vpn.transport.IpLink;

/**
 * A well-formed CONNECT-IP request (RFC 9484 §4) from a device, waiting for its answer.
 *
 * @see ConnectIpAcceptor
 */
public final class ConnectIpRequest {

    /** The request header by which the agent asks for every route (vpn.fullTunnel in agent.yaml). */
    public static final String FULL_TUNNEL = "postern-vpn-full-tunnel";

    /** How the transport answers; one per stream, called on any thread. */
    interface Answer {
        IpLink accept(Map<String, String> headers);

        void refuse(int status, String reasonCode, String message);
    }

    private final ClientIdentity device;
    private final InetSocketAddress source;
    private final String transport;
    private final String target;
    private final String ipproto;
    private final String authority;
    private final Channel connection;
    private final boolean fullTunnelAsked;
    private final Answer answer;
    private final AtomicBoolean answered = new AtomicBoolean();

    ConnectIpRequest(ClientIdentity device, InetSocketAddress source, String transport, ConnectIpRequestCheck.Path path,
                     String authority, Channel connection, boolean fullTunnelAsked, Answer answer) {
        this.device = Objects.requireNonNull(device, "device");
        this.source = Objects.requireNonNull(source, "source");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.target = path.target();
        this.ipproto = path.ipproto();
        this.authority = Objects.requireNonNull(authority, "authority");
        this.connection = Objects.requireNonNull(connection, "connection");
        this.fullTunnelAsked = fullTunnelAsked;
        this.answer = Objects.requireNonNull(answer, "answer");
    }

    /** The connection the request came on (the QUIC connection, or the HTTP/2 connection): its session's. */
    public Channel connection() {
        return connection;
    }

    /** Whether the agent asked for a full tunnel ({@value #FULL_TUNNEL}: ?1). */
    public boolean fullTunnelAsked() {
        return fullTunnelAsked;
    }

    /** The device, from its certificate (checked in the handshake against the live revocation view). */
    public ClientIdentity device() {
        return device;
    }

    /** The laptop's address as the gateway sees it (UDP for HTTP/3, TCP for HTTP/2). */
    public InetSocketAddress source() {
        return source;
    }

    /** {@link IpLink#H3} or {@link IpLink#H2}. */
    public String transport() {
        return transport;
    }

    /** The URI template's {@code target}: {@code *} (the only one accepted today: no scoping). */
    public String target() {
        return target;
    }

    /** The URI template's {@code ipproto}: {@code *}. */
    public String ipproto() {
        return ipproto;
    }

    /** The request's {@code :authority}. */
    public String authority() {
        return authority;
    }

    /**
     * Answers {@code 200} with {@code capsule-protocol: ?1} and returns the open link; reading
     * starts when its receiver is set.
     *
     * @throws IllegalStateException the request was answered already
     */
    public IpLink accept() {
        return accept(Map.of());
    }

    /**
     * {@link #accept()} with more response header fields (lower-case names), such as the VPN's DNS
     * servers.
     *
     * @throws IllegalStateException the request was answered already
     */
    public IpLink accept(Map<String, String> headers) {
        Objects.requireNonNull(headers, "headers");
        once();
        return answer.accept(headers);
    }

    /**
     * Answers {@code status} with header {@code postern-reason: reasonCode} and {@code message} as
     * the body, then ends the stream.
     *
     * @throws IllegalStateException the request was answered already
     */
    public void refuse(int status, String reasonCode, String message) {
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("refusal status: expected 400..599, found " + status);
        }
        once();
        answer.refuse(status, Objects.requireNonNull(reasonCode, "reasonCode"), Objects.requireNonNull(message, "message"));
    }

    private void once() {
        if (!answered.compareAndSet(false, true)) {
            throw new IllegalStateException("CONNECT-IP request of " + device.deviceId() + " was answered already");
        }
    }

    @Override
    public String toString() {
        return "ConnectIpRequest(" + device.deviceId() + " from " + source + " over " + transport + ")";
    }
}
