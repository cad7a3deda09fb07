package org.postern.gateway.admin;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.metrics.GatewayMetrics;
import org.postern.gateway.reload.ConfigReloader;
import org.postern.gateway.reload.ReloadResult;
import org.postern.gateway.session.SessionDirectory;
import org.postern.gateway.session.SessionInfo;
import org.postern.protocol.http.HttpReplies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.postern.protocol.Reasons;

/**
 * The admin JSON API and {@code /metrics} (docs/gateway.md, "Admin API"). Every request comes
 * from a connection whose admin certificate {@link AdminIdentityHandler} accepted; a refused
 * connection gets 403 {@code admin.certificate_refused}. Reads are open to both roles; acting
 * (ending a session, reloading) needs {@code security-admin}, else 403 {@code admin.role_forbidden}.
 * Errors are {@code {"error": text, "reason": code}} with the code also in {@code Postern-Reason}.
 * Reads of sessions and every action are audited as {@code admin.*} with the admin's name and
 * role; {@code /metrics} and {@code /v1/health} are not (machines poll them).
 */
@ChannelHandler.Sharable
public final class AdminApiHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(AdminApiHandler.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SESSIONS = "/v1/sessions";

    /** Reason codes the admin API answers with. */
    public static final String CERTIFICATE_REFUSED = "admin.certificate_refused";
    public static final String ROLE_FORBIDDEN = "admin.role_forbidden";
    public static final String NOT_FOUND = "admin.not_found";
    public static final String METHOD_NOT_ALLOWED = "admin.method_not_allowed";
    public static final String SESSION_UNKNOWN = Reasons.SESSION_UNKNOWN.code();
    public static final String CONFIG_INVALID = "config.invalid";
    public static final String RELOAD_UNAVAILABLE = "admin.reload_unavailable";
    public static final String INTERNAL = Reasons.INTERNAL_ERROR.code();

    /**
     * What the API serves from.
     *
     * @param gateway        the gateway id, in health
     * @param sessions       the live sessions
     * @param metrics        the meters for {@code /metrics}
     * @param reloader       null when the gateway was started without a configuration file
     * @param auditAvailable whether the audit trail is writable (health)
     * @param auditProblem   why not, or null
     * @param flows          live flows (health)
     */
    public record Services(String gateway, SessionDirectory sessions, GatewayMetrics metrics, @Nullable ConfigReloader reloader,
                           BooleanSupplier auditAvailable, Supplier<@Nullable String> auditProblem, IntSupplier flows,
                           AuditSink audit, Clock clock, Executor workers) {
        public Services {
            Objects.requireNonNull(gateway, "gateway");
            Objects.requireNonNull(sessions, "sessions");
            Objects.requireNonNull(metrics, "metrics");
            Objects.requireNonNull(auditAvailable, "auditAvailable");
            Objects.requireNonNull(auditProblem, "auditProblem");
            Objects.requireNonNull(flows, "flows");
            Objects.requireNonNull(audit, "audit");
            Objects.requireNonNull(clock, "clock");
            Objects.requireNonNull(workers, "workers");
        }
    }

    private final Services s;

    public AdminApiHandler(Services services) {
        super(false); // released by hand: some requests finish on a worker
        this.s = Objects.requireNonNull(services, "services");
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        AdminIdentity who = ctx.channel().attr(AdminIdentity.KEY).get();
        if (who == null) {
            error(ctx, req, HttpResponseStatus.FORBIDDEN, CERTIFICATE_REFUSED, "admin certificate refused", true);
            return;
        }
        String path = new QueryStringDecoder(req.uri()).path();
        HttpMethod m = req.method();
        String source = HttpReplies.source(ctx);
        switch (path) {
            case "/metrics" -> {
                if (allow(ctx, req, m, HttpMethod.GET)) {
                    reply(ctx, req, HttpResponseStatus.OK, GatewayMetrics.CONTENT_TYPE,
                            s.metrics().scrape().getBytes(StandardCharsets.UTF_8));
                }
            }
            case "/v1/health" -> {
                if (allow(ctx, req, m, HttpMethod.GET)) {
                    health(ctx, req);
                }
            }
            case SESSIONS -> {
                if (allow(ctx, req, m, HttpMethod.GET)) {
                    offload(ctx, req, () -> listSessions(ctx, req, who, source));
                }
            }
            case "/v1/reload" -> {
                if (allow(ctx, req, m, HttpMethod.POST) && mayAct(ctx, req, who, source, "reload", null)) {
                    offload(ctx, req, () -> reload(ctx, req, who));
                }
            }
            default -> {
                Optional<String> id = sessionId(path, m);
                if (id.isEmpty()) {
                    if (path.startsWith(SESSIONS + "/")) {
                        methodNotAllowed(ctx, req, "DELETE " + SESSIONS + "/{id} or POST " + SESSIONS + "/{id}/kill");
                    } else {
                        error(ctx, req, HttpResponseStatus.NOT_FOUND, NOT_FOUND, "no such endpoint: " + path, false);
                    }
                } else if (mayAct(ctx, req, who, source, "kill", id.get())) {
                    offload(ctx, req, () -> kill(ctx, req, who, source, id.get()));
                }
            }
        }
    }

    /** A failed handshake or a broken connection: counted and audited elsewhere; closed quietly here. */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("admin connection {} closed: {}", HttpReplies.source(ctx), cause.toString());
        ctx.close();
    }

    /** The session id of {@code DELETE /v1/sessions/{id}} or {@code POST /v1/sessions/{id}/kill}, else empty. */
    static Optional<String> sessionId(String path, HttpMethod m) {
        if (!path.startsWith(SESSIONS + "/")) {
            return Optional.empty();
        }
        String rest = path.substring(SESSIONS.length() + 1);
        String id = null;
        if (HttpMethod.DELETE.equals(m) && !rest.contains("/")) {
            id = rest;
        } else if (HttpMethod.POST.equals(m) && rest.endsWith("/kill")) {
            id = rest.substring(0, rest.length() - "/kill".length());
        }
        return id == null || id.isEmpty() || id.contains("/") ? Optional.empty()
                : Optional.of(QueryStringDecoder.decodeComponent(id));
    }

    private void health(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean auditOk = s.auditAvailable().getAsBoolean();
        ObjectNode o = JSON.createObjectNode();
        o.put("status", auditOk ? "ok" : "degraded");
        o.put("gateway", s.gateway());
        o.put("time", s.clock().instant().toString());
        ObjectNode audit = o.putObject("audit");
        audit.put("available", auditOk);
        if (!auditOk) {
            audit.put("problem", s.auditProblem().get());
        }
        o.put("sessions", s.sessions().sessions().size());
        o.put("flows", s.flows().getAsInt());
        json(ctx, req, auditOk ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, o);
    }

    /** On a worker. */
    private void listSessions(ChannelHandlerContext ctx, FullHttpRequest req, AdminIdentity who, String source) {
        List<SessionInfo> list = s.sessions().sessions();
        audit(event("admin.sessions", who, source).with("count", list.size()));
        ObjectNode o = JSON.createObjectNode();
        ArrayNode a = o.putArray("sessions");
        for (SessionInfo i : list) {
            ObjectNode n = a.addObject();
            n.put("id", i.id());
            n.put("device", i.device());
            n.put("user", i.user());
            n.put("source", i.source());
            n.put("via", i.via());
            n.put("since", i.since().toString());
            n.put("flows", i.flows());
            n.put("bytesUp", i.bytesUp());
            n.put("bytesDown", i.bytesDown());
            n.put("leaseUntil", i.leaseUntil() == null ? null : i.leaseUntil().toString());
            n.put("address", i.address());
            n.put("transport", i.transport());
        }
        json(ctx, req, HttpResponseStatus.OK, o);
    }

    /** On a worker. */
    private void kill(ChannelHandlerContext ctx, FullHttpRequest req, AdminIdentity who, String source, String id) {
        boolean killed = s.sessions().kill(id, who.name());
        audit(event("admin.kill", who, source).with("session", id).with("result", killed ? "killed" : "unknown"));
        if (!killed) {
            error(ctx, req, HttpResponseStatus.NOT_FOUND, SESSION_UNKNOWN, "no live session " + id, false);
            return;
        }
        ObjectNode o = JSON.createObjectNode();
        o.put("killed", id);
        json(ctx, req, HttpResponseStatus.OK, o);
    }

    /** On a worker; {@code admin.reload} is audited by the reloader. */
    private void reload(ChannelHandlerContext ctx, FullHttpRequest req, AdminIdentity who) {
        if (s.reloader() == null) {
            error(ctx, req, HttpResponseStatus.CONFLICT, RELOAD_UNAVAILABLE,
                    "the gateway was started without a configuration file", false);
            return;
        }
        ReloadResult r = s.reloader().reload("admin:" + who.name());
        ObjectNode o = JSON.createObjectNode();
        o.put("ok", r.ok());
        r.changed().forEach(o.putArray("changed")::add);
        r.needsRestart().forEach(o.putArray("needsRestart")::add);
        if (!r.ok()) {
            o.put("error", "configuration refused; the last good settings stay in force");
            o.put("reason", CONFIG_INVALID);
            r.problems().forEach(o.putArray("problems")::add);
        }
        json(ctx, req, r.ok() ? HttpResponseStatus.OK : HttpResponseStatus.UNPROCESSABLE_ENTITY, o);
    }

    private boolean mayAct(ChannelHandlerContext ctx, FullHttpRequest req, AdminIdentity who, String source,
                           String action, String session) {
        if (who.role().mayAct()) {
            return true;
        }
        AuditEvent.Builder e = event("admin.denied", who, source).with("action", action).with("session", session)
                .with("reason", ROLE_FORBIDDEN);
        offload(ctx, req, () -> {
            audit(e);
            error(ctx, req, HttpResponseStatus.FORBIDDEN, ROLE_FORBIDDEN,
                    "role " + who.role().wireName() + " may not " + action, false);
        });
        return false;
    }

    private AuditEvent.Builder event(String type, AdminIdentity who, String source) {
        return AuditEvent.of(type, s.clock().instant()).with("admin", who.name()).with("role", who.role().wireName())
                .with("certSerial", who.serial()).with("certSha256", who.sha256()).with("source", source);
    }

    private void audit(AuditEvent.Builder e) {
        try {
            s.audit().record(e.build());
        } catch (AuditUnavailableException x) {
            log.error("admin event not recorded: {}", x.getMessage());
        }
    }

    private boolean allow(ChannelHandlerContext ctx, FullHttpRequest req, HttpMethod m, HttpMethod expected) {
        if (expected.equals(m)) {
            return true;
        }
        methodNotAllowed(ctx, req, expected.name());
        return false;
    }

    private void methodNotAllowed(ChannelHandlerContext ctx, FullHttpRequest req, String allowed) {
        error(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, METHOD_NOT_ALLOWED,
                "expected " + allowed + ", found " + req.method() + " " + new QueryStringDecoder(req.uri()).path(), false);
    }

    /** Runs blocking work (audit, sessions) on a worker; the request is released when the answer is sent. */
    private void offload(ChannelHandlerContext ctx, FullHttpRequest req, Runnable work) {
        try {
            s.workers().execute(() -> {
                try {
                    work.run();
                } catch (RuntimeException e) {
                    log.error("admin request {} {} failed", req.method(), req.uri(), e);
                    error(ctx, req, HttpResponseStatus.INTERNAL_SERVER_ERROR, INTERNAL, "internal error", false);
                }
            });
        } catch (RejectedExecutionException e) {
            req.release();
            ctx.close();
        }
    }

    private static void error(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String reason,
                              String text, boolean close) {
        ObjectNode o = JSON.createObjectNode();
        o.put("error", text);
        o.put("reason", reason);
        FullHttpResponse res = response(status, "application/json", bytes(o));
        res.headers().set(HttpReplies.REASON_HEADER, reason);
        if (close) {
            res.headers().set(HttpHeaderNames.CONNECTION, "close");
        }
        send(ctx, req, res);
    }

    private static void json(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, ObjectNode o) {
        reply(ctx, req, status, "application/json", bytes(o));
    }

    private static void reply(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String type,
                              byte[] body) {
        send(ctx, req, response(status, type, body));
    }

    private static FullHttpResponse response(HttpResponseStatus status, String type, byte[] body) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        return res;
    }

    /** On the event loop: answer, then let the request go. */
    private static void send(ChannelHandlerContext ctx, FullHttpRequest req, FullHttpResponse res) {
        Runnable r = () -> {
            try {
                if (res.headers().contains(HttpHeaderNames.CONNECTION, "close", true)) {
                    io.netty.handler.codec.http.HttpUtil.setContentLength(res, res.content().readableBytes());
                    ctx.writeAndFlush(res).addListener(io.netty.channel.ChannelFutureListener.CLOSE);
                } else {
                    HttpReplies.send(ctx, req, res);
                }
            } finally {
                req.release();
            }
        };
        if (ctx.executor().inEventLoop()) {
            r.run();
        } else {
            ctx.executor().execute(r);
        }
    }

    private static byte[] bytes(ObjectNode o) {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
