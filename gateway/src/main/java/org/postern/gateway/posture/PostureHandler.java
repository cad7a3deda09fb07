package org.postern.gateway.posture;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.protocol.http.BlockingHttpHandler;
import org.postern.protocol.http.HttpReplies;
import org.postern.pki.registry.RegistryException;
import org.postern.protocol.posture.DecisionJson;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.protocol.posture.Reason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.postern.protocol.Reasons;

/**
 * The posture endpoints on the tunnel listener, for connections with a {@link ClientIdentity}:
 * <ul>
 *   <li>{@code POST /v1/posture/challenge} (body ignored) → 200 {@code {"nonce","expiresAt"}}</li>
 *   <li>{@code POST /v1/posture/evidence} with {@code application/json} {@code {"evidence":"<JWS>"}}
 *       or {@code application/jose} (the compact JWS alone) → the decision JSON</li>
 * </ul>
 * Status codes and reason headers: {@code docs/pipeline.md}. Work runs on {@code workers}.
 */
@ChannelHandler.Sharable
public final class PostureHandler extends BlockingHttpHandler {
    private static final Logger log = LoggerFactory.getLogger(PostureHandler.class);

    public static final String CHALLENGE_PATH = "/v1/posture/challenge";
    public static final String EVIDENCE_PATH = "/v1/posture/evidence";
    /** The posture policy in force, as a policy document: what {@code postern-agent check} judges with by default. */
    public static final String POLICY_PATH = "/v1/posture/policy";
    static final String JSON_TYPE = "application/json";
    static final String JOSE_TYPE = "application/jose";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final PostureService service;

    public PostureHandler(PostureService service, Executor workers) {
        super(workers);
        this.service = Objects.requireNonNull(service, "service");
    }

    @Override
    protected boolean accepts(FullHttpRequest req) {
        String path = path(req);
        return path.equals(CHALLENGE_PATH) || path.equals(EVIDENCE_PATH) || path.equals(POLICY_PATH);
    }

    @Override
    protected void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (path(req).equals(POLICY_PATH)) {
            policy(ctx, req);
            return;
        }
        if (!HttpMethod.POST.equals(req.method())) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, Reasons.HTTP_METHOD_NOT_ALLOWED.code(),
                    "expected POST");
            return;
        }
        ClientIdentity identity = ClientIdentity.of(ctx.channel()).orElse(null);
        if (identity == null) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.UNAUTHORIZED, Reasons.CLIENT_CERT_REQUIRED.code(),
                    "posture needs the device's client certificate");
            return;
        }
        try {
            if (path(req).equals(CHALLENGE_PATH)) {
                ChallengeStore.Challenge c = service.challenge(identity);
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("nonce", c.nonce());
                body.put("expiresAt", c.expiresAt().toString());
                json(ctx, req, HttpResponseStatus.OK, body, null);
                return;
            }
            String mediaType = mediaType(req);
            if (!mediaType.equals(JSON_TYPE) && !mediaType.equals(JOSE_TYPE)) {
                HttpReplies.refuse(ctx, req, HttpResponseStatus.UNSUPPORTED_MEDIA_TYPE, Reasons.HTTP_UNSUPPORTED_MEDIA_TYPE.code(),
                        "expected " + JSON_TYPE + " or " + JOSE_TYPE);
                return;
            }
            answer(ctx, req, service.evidence(identity, evidence(mediaType, req), HttpReplies.source(ctx)));
        } catch (AuditUnavailableException e) {
            log.error("posture decision for {} not answered, the audit trail is unavailable: {}", identity.deviceId(),
                    e.getMessage());
            HttpReplies.refuse(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, Reasons.AUDIT_UNAVAILABLE.code(),
                    "the gateway cannot record decisions now; try again later");
        } catch (RegistryException e) {
            log.error("posture decision for {} not answered, the registry is unavailable: {}", identity.deviceId(),
                    e.getMessage());
            HttpReplies.refuse(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, Reasons.REGISTRY_UNAVAILABLE.code(),
                    "the gateway cannot check devices now; try again later");
        }
    }

    /**
     * {@code GET /v1/posture/policy}: the policy in force as YAML, to an enrolled device only (its
     * client certificate, as for posture). Not audited: it says nothing a device does not learn
     * from its decisions, and agents ask for it whenever their user runs {@code check}.
     */
    private void policy(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (!HttpMethod.GET.equals(req.method())) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, Reasons.HTTP_METHOD_NOT_ALLOWED.code(),
                    "expected GET");
            return;
        }
        if (ClientIdentity.of(ctx.channel()).isEmpty()) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.UNAUTHORIZED, Reasons.CLIENT_CERT_REQUIRED.code(),
                    "the posture policy is given to enrolled devices (client certificate)");
            return;
        }
        HttpReplies.send(ctx, req, HttpResponseStatus.OK, "application/yaml; charset=utf-8",
                service.policy().toYaml().getBytes(StandardCharsets.UTF_8));
    }

    /** The request's media type, lower case without parameters; JSON when none is given. */
    private static String mediaType(FullHttpRequest req) {
        String type = req.headers().get(HttpHeaderNames.CONTENT_TYPE, JSON_TYPE);
        return type.split(";", 2)[0].strip().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * The JWS in the body; null when there is none to be found, which the service records and
     * answers as {@code evidence.malformed} like any other unreadable evidence.
     */
    private static @Nullable String evidence(String mediaType, FullHttpRequest req) {
        String body = req.content().toString(StandardCharsets.UTF_8);
        if (mediaType.equals(JOSE_TYPE)) {
            return body.strip();
        }
        try {
            JsonNode node = JSON.readTree(body);
            JsonNode e = node == null ? null : node.get("evidence");
            return e != null && e.isTextual() ? e.asText() : null;
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static void answer(ChannelHandlerContext ctx, FullHttpRequest req, Decision decision) {
        switch (decision) {
            case Decision.Judged j -> json(ctx, req, HttpResponseStatus.OK, decisionJson(j.verdict()), null);
            case Decision.Rejected r -> {
                Reason reason = r.error().reason();
                HttpResponseStatus status = reason == Reason.EVIDENCE_MALFORMED ? HttpResponseStatus.BAD_REQUEST
                        : HttpResponseStatus.FORBIDDEN;
                json(ctx, req, status, new DecisionJson(false, r.mode().spelling(),
                        List.of(DecisionJson.Item.of(r.error().detail())), null, r.policyVersion()).toMap(), reason.code());
            }
            case Decision.Refused f -> HttpReplies.refuse(ctx, req, HttpResponseStatus.FORBIDDEN, f.code(), f.message());
        }
    }

    /** The decision JSON ({@code docs/architecture.md}; one writer, {@link DecisionJson}), keys in its order. */
    static Map<String, Object> decisionJson(PostureVerdict v) {
        return DecisionJson.of(v).toMap();
    }

    private static void json(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status,
                             Map<String, Object> body, String reason) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a decision is plain JSON", e);
        }
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(bytes));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, JSON_TYPE);
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        if (reason != null) {
            res.headers().set(HttpReplies.REASON_HEADER, reason);
        }
        HttpReplies.send(ctx, req, res);
    }
}
