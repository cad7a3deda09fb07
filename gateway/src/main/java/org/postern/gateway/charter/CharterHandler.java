package org.postern.gateway.charter;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.gateway.Charter;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.pki.registry.CharterAcceptance;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RegistryException;
import org.postern.protocol.Reasons;
import org.postern.protocol.http.BlockingHttpHandler;
import org.postern.protocol.http.HttpReplies;

/**
 * The remote-work charter on the tunnel listener, for enrolled devices (client certificate); no
 * posture lease is needed: a device reads and accepts the charter before it may open anything.
 * <ul>
 *   <li>{@code GET /v1/charter} → 200 {@code {"version","text","sha256","accepted"}} ({@code accepted}:
 *       this device's latest acceptance {@code {"version","sha256","acceptedAt","current"}}, or null);
 *       404 {@code charter.none} when no charter is configured</li>
 *   <li>{@code POST /v1/charter/accept} with {@code {"version","sha256","how"}} ({@code how}: {@code prompt}
 *       when the user typed yes, {@code flag} when {@code --accept}/{@code --accept-charter} accepted without
 *       asking; optional for older agents) → 200 with the acceptance recorded in the registry (per device,
 *       for its owner) and {@code charter.accepted} in the audit trail; 409 {@code charter.mismatch} when
 *       the version or hash is not the charter in force (it was reloaded since the device read it) or the
 *       device changed owner meanwhile; 403 {@code device.not_active} when it was suspended, revoked or
 *       removed meanwhile. {@code charter.accepted} is written first (durable before the registry lets the
 *       device in); when the registry then refuses, {@code charter.accept_failed} follows it with the
 *       reason, so the trail never shows an acceptance without saying it had no effect</li>
 * </ul>
 * The charter is read at each request ({@code LiveSettings.charter}), so a reload is seen at once. An
 * acceptance is current ({@code "current"}) for a later version, or for this version with this very text
 * ({@link Charter#isAcceptedBy}).
 */
@ChannelHandler.Sharable
public final class CharterHandler extends BlockingHttpHandler {
    public static final String PATH = "/v1/charter";
    public static final String ACCEPT_PATH = "/v1/charter/accept";
    /** The audit event of an acceptance. */
    public static final String ACCEPTED = "charter.accepted";
    /** The audit event that follows {@link #ACCEPTED} when the registry then refused to record it. */
    public static final String ACCEPT_FAILED = "charter.accept_failed";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Supplier<@Nullable Charter> charter;
    private final Registry registry;
    private final AuditSink audit;
    private final Clock clock;

    public CharterHandler(Supplier<@Nullable Charter> charter, Registry registry, AuditSink audit, Clock clock, Executor workers) {
        super(workers);
        this.charter = Objects.requireNonNull(charter, "charter");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    protected boolean accepts(FullHttpRequest req) {
        String path = path(req);
        return path.equals(PATH) || path.equals(ACCEPT_PATH);
    }

    @Override
    protected void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean accept = path(req).equals(ACCEPT_PATH);
        HttpMethod expected = accept ? HttpMethod.POST : HttpMethod.GET;
        if (!expected.equals(req.method())) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, Reasons.HTTP_METHOD_NOT_ALLOWED.code(),
                    "expected " + expected);
            return;
        }
        ClientIdentity id = ClientIdentity.of(ctx.channel()).orElse(null);
        if (id == null) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.UNAUTHORIZED, Reasons.CLIENT_CERT_REQUIRED.code(),
                    "the remote-work charter is for enrolled devices (client certificate)");
            return;
        }
        Charter current = charter.get();
        if (current == null) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.NOT_FOUND, Reasons.CHARTER_NONE.code(),
                    "this gateway requires no remote-work charter");
            return;
        }
        try {
            Device device = registry.device(id.deviceId()).orElse(null);
            if (device == null || device.status() != DeviceStatus.ACTIVE) {
                HttpReplies.refuse(ctx, req, HttpResponseStatus.FORBIDDEN, Reasons.DEVICE_NOT_ACTIVE.code(),
                        Reasons.DEVICE_NOT_ACTIVE.message());
                return;
            }
            if (accept) {
                accept(ctx, req, id, device, current);
            } else {
                show(ctx, req, device, current);
            }
        } catch (RegistryException e) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, Reasons.REGISTRY_UNAVAILABLE.code(),
                    "the gateway cannot read the registry now; try again later");
        } catch (AuditUnavailableException e) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, Reasons.AUDIT_UNAVAILABLE.code(),
                    "the gateway cannot record the acceptance now; try again later");
        }
    }

    private void show(ChannelHandlerContext ctx, FullHttpRequest req, Device device, Charter current) {
        CharterAcceptance a = registry.charterAcceptance(device.id()).filter(x -> x.owner().equals(device.owner())).orElse(null);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("version", current.version());
        body.put("text", current.text());
        body.put("sha256", current.sha256());
        body.put("accepted", a == null ? null : acceptance(a, current));
        json(ctx, req, body);
    }

    private void accept(ChannelHandlerContext ctx, FullHttpRequest req, ClientIdentity id, Device device, Charter current) {
        String type = req.headers().get(HttpHeaderNames.CONTENT_TYPE, "application/json").split(";", 2)[0].strip()
                .toLowerCase(Locale.ROOT);
        if (!type.equals("application/json")) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.UNSUPPORTED_MEDIA_TYPE, Reasons.HTTP_UNSUPPORTED_MEDIA_TYPE.code(),
                    "expected application/json");
            return;
        }
        JsonNode body;
        try {
            body = JSON.readTree(req.content().toString(StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            body = null;
        }
        JsonNode version = body == null ? null : body.get("version");
        JsonNode sha = body == null ? null : body.get("sha256");
        JsonNode howNode = body == null ? null : body.get("how");
        // absent: an agent from before `how` was sent; recorded as such, never guessed
        String how = howNode == null || howNode.isNull() ? "unstated" : howNode.isTextual() ? howNode.asText() : "";
        if (version == null || !version.canConvertToInt() || !version.isIntegralNumber() || sha == null || !sha.isTextual()
                || !(how.equals("prompt") || how.equals("flag") || how.equals("unstated"))) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.BAD_REQUEST, Reasons.HTTP_BAD_REQUEST.code(),
                    "expected {\"version\": N, \"sha256\": \"<hex SHA-256 of the text>\", \"how\": \"prompt\" or \"flag\"}");
            return;
        }
        if (version.intValue() != current.version() || !sha.asText().equalsIgnoreCase(current.sha256())) {
            HttpReplies.refuse(ctx, req, HttpResponseStatus.CONFLICT, Reasons.CHARTER_MISMATCH.code(),
                    "expected an acceptance of version " + current.version() + " (sha256 " + current.sha256() + "), found version "
                            + version.intValue() + " (sha256 " + AuditEvent.peerText(sha.asText()) + "): read the charter again (GET "
                            + PATH + ") and accept what it shows");
            return;
        }
        Instant now = clock.instant();
        CharterAcceptance a = new CharterAcceptance(device.id(), device.owner(), current.version(), current.sha256(), now);
        // durable in the trail before the registry lets the device in: an admission always has its acceptance on record
        audit.record(AuditEvent.of(ACCEPTED, now)
                .with("device", device.id())
                .with("user", device.owner())
                .with("version", current.version())
                .with("textSha256", current.sha256())
                .with("certSerial", id.serialHex())
                .with("certSha256", id.sha256())
                .with("how", how)
                .with("source", HttpReplies.source(ctx))
                .build());
        try {
            registry.acceptCharter(a);
        } catch (RegistryException e) {
            refused(ctx, req, device, current, e);
            return;
        }
        // against the charter in force now: a reload during the write may have made it stale already
        Charter after = charter.get();
        json(ctx, req, after == null ? acceptance(a, current) : acceptance(a, after));
    }

    /**
     * The registry refused the acceptance after {@code charter.accepted} was written: say so in the
     * trail ({@code charter.accept_failed}), and answer by what changed meanwhile.
     */
    private void refused(ChannelHandlerContext ctx, FullHttpRequest req, Device device, Charter current, RegistryException e) {
        boolean unavailable = e.code().equals(Reasons.REGISTRY_UNAVAILABLE.code());
        try {
            audit.record(AuditEvent.of(ACCEPT_FAILED, clock.instant())
                    .with("device", device.id())
                    .with("user", device.owner())
                    .with("version", current.version())
                    .with("reason", e.code())
                    .with("detail", e.getMessage())
                    .build());
        } catch (AuditUnavailableException x) {
            // the answer below still tells the device it is not accepted; the trail shows charter.accepted alone
        }
        switch (e.code()) {
            case "device.owner_changed" -> HttpReplies.refuse(ctx, req, HttpResponseStatus.CONFLICT, Reasons.CHARTER_MISMATCH.code(),
                    "the device changed owner while accepting; read the charter again (GET " + PATH + ") and accept it as its owner");
            case "device.revoked", "device.unknown", "device.state" -> HttpReplies.refuse(ctx, req, HttpResponseStatus.FORBIDDEN,
                    Reasons.DEVICE_NOT_ACTIVE.code(), Reasons.DEVICE_NOT_ACTIVE.message());
            default -> HttpReplies.refuse(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, Reasons.REGISTRY_UNAVAILABLE.code(),
                    unavailable ? "the gateway cannot write the registry now; try again later"
                            : "the gateway cannot record the acceptance now; try again later");
        }
    }

    private static Map<String, Object> acceptance(CharterAcceptance a, Charter current) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", a.version());
        m.put("sha256", a.sha256());
        m.put("acceptedAt", a.acceptedAt().toString());
        m.put("current", current.isAcceptedBy(a.version(), a.sha256()));
        return m;
    }

    private static void json(ChannelHandlerContext ctx, FullHttpRequest req, Map<String, Object> body) {
        try {
            HttpReplies.send(ctx, req, HttpResponseStatus.OK, "application/json", JSON.writeValueAsBytes(body));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a charter answer is plain JSON", e);
        }
    }
}
