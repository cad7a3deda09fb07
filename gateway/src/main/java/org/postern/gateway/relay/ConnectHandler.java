package org.postern.gateway.relay;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpObjectDecoder;
import io.netty.handler.codec.http.HttpObjectEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.timeout.IdleStateHandler;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.policy.AccessDecision;
import org.postern.gateway.policy.AccessPolicy;
import org.postern.gateway.policy.DestinationResolver;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.posture.LeaseStore;
import org.postern.gateway.session.Session;
import org.postern.gateway.session.Sessions;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.protocol.http.HttpReplies;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RegistryException;

/**
 * The CONNECT gate (HTTP/1.1, after {@code HttpServerCodec} and {@code HttpObjectAggregator}; on
 * HTTP/2 {@link Http2ConnectHandler} brings each CONNECT stream here through {@link #open}).
 * For {@code CONNECT host:port} it decides once — identity, live lease, device active, destination
 * resolved once, access policy on that address — connects to that same address, answers
 * {@code 200 Connection Established}, takes the HTTP handlers out of the pipeline and puts a
 * {@link TunnelRelayHandler} in its own place: from then on nothing reads the bytes. Other
 * requests pass on untouched. The gates and the audit events are the same for both protocols;
 * only the framing of the answers differs ({@link ConnectFraming}).
 *
 * <p>A refusal carries a short text and the reason code in {@code Postern-Reason}; the detail goes
 * to the audit trail as {@code access.denied}. The checks block (registry, DNS, audit) and run on
 * the workers while the connection stops reading.
 */
@ChannelHandler.Sharable
public final class ConnectHandler extends ChannelInboundHandlerAdapter {

    public static final String CLIENT_CERT_REQUIRED = "tls.client_cert_required";
    public static final String NO_LEASE = "posture.no_lease";
    public static final String DEVICE_NOT_ACTIVE = "device.not_active";
    public static final String UNRESOLVED = "connect.unresolved";
    public static final String CONNECT_FAILED = "connect.failed";
    public static final String REGISTRY_UNAVAILABLE = "registry.unavailable";
    public static final String AUDIT_UNAVAILABLE = "audit.unavailable";
    public static final String FLOWS_PER_DEVICE = "limits.flows_per_device";
    public static final String SESSION_ENDED = "session.ended";
    /** An HTTP/2 CONNECT that breaks RFC 9113 §8.5 (a {@code :path} or {@code :scheme}, no {@code :authority}). */
    public static final String MALFORMED = "connect.malformed";

    private static final HttpResponseStatus ESTABLISHED = new HttpResponseStatus(200, "Connection Established");

    /** A refusal: what the peer sees, and the detail for the audit trail. */
    record Refusal(HttpResponseStatus status, String reason, String message, String detail, String user,
                   String destAddress) {
        Refusal(HttpResponseStatus status, String reason, String message, String detail) {
            this(status, reason, message, detail, null, null);
        }
    }

    /** A request that passed every gate: connect to {@code target}. */
    private record Pass(String flowId, Flow.Endpoints who, InetSocketAddress target, String rule, Lease lease,
                        Session session) {
        Pass in(Session s) {
            return new Pass(flowId, who, target, rule, lease, s);
        }
    }

    private final LeaseStore leases;
    private final Registry registry;
    private final DestinationResolver resolver;
    private final AccessPolicy policy;
    private final FlowRegistry flows;
    private final Sessions sessions;

    public ConnectHandler(LeaseStore leases, Registry registry, DestinationResolver resolver, AccessPolicy policy,
                          FlowRegistry flows, Sessions sessions) {
        this.leases = Objects.requireNonNull(leases, "leases");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.flows = Objects.requireNonNull(flows, "flows");
        this.sessions = Objects.requireNonNull(sessions, "sessions");
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest req) || !HttpMethod.CONNECT.equals(req.method())) {
            ctx.fireChannelRead(msg);
            return;
        }
        open(ctx, new Http1Framing(this, req));
    }

    /**
     * A CONNECT arrived on {@code ctx}'s channel (a connection, or an HTTP/2 stream): stop reading,
     * run the gates on a worker, then refuse or connect; {@code framing} writes the answers.
     */
    void open(ChannelHandlerContext ctx, ConnectFraming framing) {
        ctx.channel().config().setAutoRead(false);
        Optional<ClientIdentity> identity = ClientIdentity.of(ctx.channel());
        String source = HttpReplies.source(ctx);
        try {
            flows.workers().execute(() -> {
                Object outcome;
                try {
                    outcome = gate(identity, framing.authority(), source);
                    if (outcome instanceof Pass pass) {
                        outcome = admit(ctx.channel(), pass);
                    }
                } catch (RuntimeException e) {
                    outcome = new Refusal(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal.error", "internal error",
                            e.toString());
                }
                if (outcome instanceof Refusal r) {
                    refuse(ctx, framing, r, identity, source, null);
                } else {
                    Pass pass = (Pass) outcome;
                    ctx.executor().execute(() -> connect(ctx, framing, pass));
                }
            });
        } catch (RejectedExecutionException e) {
            framing.release();
            ctx.close(); // shutting down
        }
    }

    /** A CONNECT refused before the gates (it was malformed): audit it on a worker and answer. */
    void refuseNow(ChannelHandlerContext ctx, ConnectFraming framing, Refusal r) {
        Optional<ClientIdentity> identity = ClientIdentity.of(ctx.channel());
        String source = HttpReplies.source(ctx);
        execute(ctx, framing, () -> refuse(ctx, framing, r, identity, source, null));
    }

    /** The gates, in order; on a worker. Returns a {@link Refusal} or a {@link Pass}. */
    private Object gate(Optional<ClientIdentity> identity, String authority, String source) {
        if (identity.isEmpty()) {
            return new Refusal(HttpResponseStatus.UNAUTHORIZED, CLIENT_CERT_REQUIRED, "client certificate required",
                    "CONNECT " + authority + " without a device certificate");
        }
        ClientIdentity id = identity.get();
        Optional<Lease> lease = leases.current(id.deviceId());
        if (lease.isEmpty() || !lease.get().verdict().allowed()) {
            return new Refusal(HttpResponseStatus.FORBIDDEN, NO_LEASE, "no live posture lease",
                    "device " + id.deviceId() + " has no live posture lease; expected a compliant decision first");
        }
        Device device;
        try {
            device = registry.device(id.deviceId()).orElse(null);
        } catch (RegistryException e) {
            return new Refusal(HttpResponseStatus.SERVICE_UNAVAILABLE, REGISTRY_UNAVAILABLE, "registry unavailable",
                    e.getMessage());
        }
        if (device == null || device.status() != DeviceStatus.ACTIVE) {
            return new Refusal(HttpResponseStatus.FORBIDDEN, DEVICE_NOT_ACTIVE, "device not active",
                    "device " + id.deviceId() + ": expected status active, found "
                            + (device == null ? "no such device" : device.status().wireName()));
        }
        String user = device.owner();
        int colon = authority.lastIndexOf(':');
        String host = colon < 0 ? authority : authority.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port = colon < 0 ? -1 : parsePort(authority.substring(colon + 1));
        var resolution = resolver.resolve(host, port);
        return switch (resolution) {
            case DestinationResolver.Refused r -> denied(r.denial(), user, null);
            case DestinationResolver.Unresolved u -> new Refusal(HttpResponseStatus.BAD_GATEWAY, UNRESOLVED,
                    "destination does not resolve", u.detail(), user, null);
            case DestinationResolver.Resolved r -> {
                AccessDecision d = policy.decide(Set.copyOf(device.groups()), host, port, r.address());
                yield switch (d) {
                    case AccessDecision.Denied denial -> denied(denial, user, hostPort(r.address().getHostAddress(), port));
                    case AccessDecision.Allowed allowed -> new Pass(UUID.randomUUID().toString(),
                            new Flow.Endpoints(id.deviceId(), user, id.serialHex(), id.sha256(), source, authority,
                                    hostPort(r.address().getHostAddress(), port)),
                            new InetSocketAddress(r.address(), port), allowed.rule(), lease.get(), null);
                };
            }
        };
    }

    /**
     * After the gates, on a worker: a flow slot of the device ({@code limits.flowsPerDevice}), then
     * the connection's session — started now, {@code session.start} durable, if it has none.
     * Returns the {@link Pass} in its session, or a {@link Refusal}; a pass holds a slot and a
     * count in its session until its flow opens, or {@link #abandon} gives them back.
     */
    private Object admit(Channel channel, Pass pass) {
        Flow.Endpoints who = pass.who();
        if (!flows.reserve(who.device(), sessions.flowsPerDevice())) {
            return new Refusal(HttpResponseStatus.TOO_MANY_REQUESTS, FLOWS_PER_DEVICE, "too many tunnels",
                    "device " + who.device() + " already has " + sessions.flowsPerDevice()
                            + " tunnels open or opening (limits.flowsPerDevice); refused " + who.dest(),
                    who.user(), who.destAddress());
        }
        Session.Who owner = new Session.Who(who.device(), who.user(), who.certSerial(), who.certSha256(), who.source(),
                "tls");
        for (int attempt = 0; attempt < 3; attempt++) {
            Session session;
            try {
                session = sessions.admit(connectionOf(channel), owner);
            } catch (AuditUnavailableException e) {
                flows.unreserve(who.device());
                return new Refusal(HttpResponseStatus.SERVICE_UNAVAILABLE, AUDIT_UNAVAILABLE, "audit trail unavailable",
                        "session.start for device " + who.device() + " could not be recorded (audit.failMode: closed): "
                                + e.getMessage(), who.user(), who.destAddress());
            }
            if (session.tryAddFlow()) {
                return pass.in(session);
            }
            // it ended between admission and now (lease ended, killed): a new one starts on the next try
        }
        flows.unreserve(who.device());
        return new Refusal(HttpResponseStatus.SERVICE_UNAVAILABLE, SESSION_ENDED, "session ended",
                "the session of device " + who.device() + " kept ending while this tunnel was admitted",
                who.user(), who.destAddress());
    }

    /** A pass that will not become a flow gives back its slot and its count in the session (never blocks). */
    private void abandon(Pass pass) {
        flows.unreserve(pass.who().device());
        pass.session().flowGone();
    }

    /** The connection a request came on: itself for HTTP/1.1, the parent of an HTTP/2 stream. */
    static Channel connectionOf(Channel ch) {
        return ch instanceof Http2StreamChannel ? ch.parent() : ch;
    }

    /** A policy denial: 400 for a malformed destination, 403 otherwise. */
    private static Refusal denied(AccessDecision.Denied d, String user, String destAddress) {
        HttpResponseStatus status = AccessDecision.BAD_DESTINATION.equals(d.reason())
                ? HttpResponseStatus.BAD_REQUEST : HttpResponseStatus.FORBIDDEN;
        return new Refusal(status, d.reason(), status.code() == 400 ? "bad destination" : "access denied",
                d.detail(), user, destAddress);
    }

    /** On the event loop: connect to the resolved address itself, never the name again. */
    private void connect(ChannelHandlerContext ctx, ConnectFraming framing, Pass pass) {
        Channel client = ctx.channel();
        if (!client.isActive()) {
            framing.release();
            abandon(pass);
            return;
        }
        // an HTTP/2 stream is a child of the TCP connection: the outbound socket is of that kind
        Channel socket = client instanceof Http2StreamChannel ? client.parent() : client;
        Bootstrap b = new Bootstrap()
                .group(client.eventLoop())
                .channel(socket.getClass())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                        (int) Math.min(Integer.MAX_VALUE, flows.settings().connectTimeout().toMillis()))
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        // the relay handler is added once the laptop has its 200
                    }
                });
        b.connect(pass.target()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                Refusal r = new Refusal(HttpResponseStatus.BAD_GATEWAY, CONNECT_FAILED, "cannot connect to destination",
                        "connect to " + pass.who().destAddress() + " (asked " + pass.who().dest() + ", rule "
                                + pass.rule() + ") failed: " + f.cause());
                execute(ctx, framing, () -> {
                    abandon(pass);
                    refuse(ctx, framing, r, Optional.empty(), pass.who().source(), pass.who());
                });
                return;
            }
            Channel server = f.channel();
            execute(ctx, framing, () -> {
                try {
                    flows.audit().record(AuditEvent.of("flow.open", flows.clock().instant())
                            .with("session", pass.session().id())
                            .with("flow", pass.flowId())
                            .with("device", pass.who().device())
                            .with("user", pass.who().user())
                            .with("certSerial", pass.who().certSerial())
                            .with("certSha256", pass.who().certSha256())
                            .with("source", pass.who().source())
                            .with("dest", pass.who().dest())
                            .with("destAddress", pass.who().destAddress())
                            .with("rule", pass.rule())
                            .with("leaseUntil", pass.lease().until().toString())
                            .build());
                } catch (AuditUnavailableException e) {
                    if (sessions.failOpen()) {
                        org.slf4j.LoggerFactory.getLogger(ConnectHandler.class).error(
                                "AUDIT FAIL-OPEN: flow {} of {} opened WITHOUT a flow.open record (audit.failMode: open): {}",
                                pass.flowId(), pass.session(), e.getMessage());
                        ctx.executor().execute(() -> established(ctx, framing, pass, server));
                        return;
                    }
                    server.close();
                    abandon(pass);
                    reply(ctx, framing, new Refusal(HttpResponseStatus.SERVICE_UNAVAILABLE, AUDIT_UNAVAILABLE,
                            "audit trail unavailable", e.getMessage()));
                    return;
                }
                ctx.executor().execute(() -> established(ctx, framing, pass, server));
            });
        });
    }

    /** On the event loop: the flow is registered, then the framing answers 200 and starts the relay. */
    private void established(ChannelHandlerContext ctx, ConnectFraming framing, Pass pass, Channel server) {
        Flow flow = flows.open(pass.flowId(), pass.who(), ctx.channel(), server, pass.session());
        if (pass.session().isEnded()) { // ended (killed, lease ended) while this flow was connecting
            framing.release();
            flow.close(pass.session().ended().flowEnd());
            return;
        }
        framing.established(ctx, flow, server);
    }

    /** HTTP/1.1: the answer is {@code 200 Connection Established}, then the connection is the tunnel. */
    private static final class Http1Framing implements ConnectFraming {
        private final ConnectHandler handler;
        private final FullHttpRequest req;

        Http1Framing(ConnectHandler handler, FullHttpRequest req) {
            this.handler = handler;
            this.req = req;
        }

        @Override
        public String authority() {
            return req.uri();
        }

        @Override
        public void refuse(ChannelHandlerContext ctx, Refusal r) {
            try {
                HttpReplies.refuse(ctx, req, r.status(), r.reason(), r.message());
            } finally {
                req.release();
                ctx.channel().config().setAutoRead(true);
            }
        }

        @Override
        public void established(ChannelHandlerContext ctx, Flow flow, Channel server) {
            req.release();
            Channel client = ctx.channel();
            // the 200 carries no Content-Length: HttpServerCodec strips it for a successful CONNECT
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, ESTABLISHED))
                    .addListener((ChannelFutureListener) f -> {
                        if (!f.isSuccess()) {
                            flow.close(FlowEnd.ERROR);
                            return;
                        }
                        client.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
                        ChannelPipeline p = client.pipeline();
                        p.replace(handler, "relay", new TunnelRelayHandler(flow, TunnelRelayHandler.Side.CLIENT));
                        p.addBefore("relay", "relayIdle", new IdleStateHandler(0, 0,
                                handler.flows.settings().idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
                        // a gate decides once: the HTTP handlers go; bytes they held reach the relay
                        for (var e : p.toMap().entrySet()) {
                            ChannelHandler h = e.getValue();
                            if (h instanceof HttpServerCodec || h instanceof HttpObjectDecoder
                                    || h instanceof HttpObjectEncoder || h instanceof HttpObjectAggregator
                                    || h instanceof HttpServerKeepAliveHandler) {
                                p.remove(h);
                            }
                        }
                        server.pipeline().addLast("relay", new TunnelRelayHandler(flow, TunnelRelayHandler.Side.SERVER));
                    });
        }

        @Override
        public void release() {
            req.release();
        }
    }

    /** On a worker: audit the denial, then answer on the event loop. */
    private void refuse(ChannelHandlerContext ctx, ConnectFraming framing, Refusal r, Optional<ClientIdentity> identity,
                        String source, Flow.Endpoints who) {
        String user = who != null ? who.user() : r.user();
        ClientIdentity id = identity.orElse(null);
        Session session = connectionOf(ctx.channel()).attr(Sessions.KEY).get();
        try {
            flows.audit().record(AuditEvent.of("access.denied", flows.clock().instant())
                    .with("session", session == null ? null : session.id())
                    .with("device", who != null ? who.device() : id != null ? id.deviceId() : null)
                    .with("user", user)
                    .with("certSerial", who != null ? who.certSerial() : id != null ? id.serialHex() : null)
                    .with("certSha256", who != null ? who.certSha256() : id != null ? id.sha256() : null)
                    .with("source", source)
                    .with("dest", who != null ? who.dest() : framing.authority())
                    .with("destAddress", who != null ? who.destAddress() : r.destAddress())
                    .with("reason", r.reason())
                    .with("detail", r.detail())
                    .build());
        } catch (AuditUnavailableException e) {
            // refused anyway; the refusal is not lost from the logs
            org.slf4j.LoggerFactory.getLogger(ConnectHandler.class)
                    .error("access.denied {} for {} could not be recorded: {}", r.reason(), source, e.getMessage());
        }
        reply(ctx, framing, r);
    }

    private static void reply(ChannelHandlerContext ctx, ConnectFraming framing, Refusal r) {
        ctx.executor().execute(() -> framing.refuse(ctx, r));
    }

    private void execute(ChannelHandlerContext ctx, ConnectFraming framing, Runnable work) {
        try {
            flows.workers().execute(work);
        } catch (RejectedExecutionException e) {
            framing.release();
            ctx.close();
        }
    }

    FlowRegistry flows() {
        return flows;
    }

    private static int parsePort(String s) {
        if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(Character::isDigit)) {
            return -1;
        }
        return Integer.parseInt(s);
    }

    private static String hostPort(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
