package org.postern.gateway.ssh;

import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;

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
import org.apache.sshd.common.config.keys.KeyUtils;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.gate.GateDecision;
import org.postern.gateway.gate.TunnelGate;
import org.postern.gateway.gate.Who;
import org.postern.gateway.posture.Lease;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.keys.SshPublicKeys;
import org.postern.protocol.http.BlockingHttpHandler;
import org.postern.protocol.http.HttpReplies;
import org.postern.pki.registry.Device;
import org.postern.pki.ssh.SshUserCa;
import org.postern.protocol.Reasons;

/**
 * {@code POST /v1/ssh/certificate} on the tunnel listener: a device that passes the {@link TunnelGate}
 * (active, live posture lease)
 * sends one OpenSSH public key line and gets back an OpenSSH user certificate for it (one line,
 * {@code text/plain}): key id = device id, principal = the device's owner, valid from now until
 * the lease ends, only {@code permit-port-forwarding}. {@code pki.issue} ({@code kind: ssh_user})
 * is written before the answer; no trail, no certificate.
 *
 * <table>
 *   <caption>Refusals</caption>
 *   <tr><td>405 {@code http.method_not_allowed}</td><td>not POST</td></tr>
 *   <tr><td>401 {@code tls.client_cert_required}</td><td>no device certificate</td></tr>
 *   <tr><td>403 {@code device.not_active}</td><td>device not active in the registry</td></tr>
 *   <tr><td>403 {@code posture.no_lease}</td><td>no live lease</td></tr>
 *   <tr><td>400 {@code ssh.bad_public_key}</td><td>not one OpenSSH key line, or a weak key</td></tr>
 *   <tr><td>503 {@code audit.unavailable}, {@code registry.unavailable}</td><td>fail closed</td></tr>
 * </table>
 *
 * <p>{@code GET /v1/ssh/host-keys} on the same listener: the bastion's public host keys, one OpenSSH
 * line each ({@code text/plain}), for any device that authenticated with its certificate (401
 * {@code tls.client_cert_required} otherwise). The agent writes them as the known_hosts it pins
 * the bastion with, having fetched them over a connection pinned to the device CA: no
 * {@code ssh-keyscan}, no trust on first use. 404 when the gateway has no bastion.
 */
@ChannelHandler.Sharable
public final class SshCertificateHandler extends BlockingHttpHandler {

    public static final String PATH = "/v1/ssh/certificate";
    public static final String HOST_KEYS_PATH = "/v1/ssh/host-keys";
    static final String BAD_PUBLIC_KEY = Reasons.SSH_BAD_PUBLIC_KEY.code();

    private final SshUserCa ca;
    private final TunnelGate gate;
    private final AuditSink audit;
    private final Clock clock;
    private final List<PublicKey> hostKeys;

    public SshCertificateHandler(SshUserCa ca, TunnelGate gate, AuditSink audit, Clock clock, Executor workers) {
        this(ca, gate, audit, clock, workers, List.of());
    }

    /** With the bastion's host keys, served at {@link #HOST_KEYS_PATH} (none: 404). */
    public SshCertificateHandler(SshUserCa ca, TunnelGate gate, AuditSink audit, Clock clock, Executor workers,
                                 List<PublicKey> hostKeys) {
        super(workers);
        this.hostKeys = List.copyOf(hostKeys);
        this.ca = Objects.requireNonNull(ca, "ca");
        this.gate = Objects.requireNonNull(gate, "gate");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    protected boolean accepts(FullHttpRequest req) {
        return path(req).equals(PATH) || path(req).equals(HOST_KEYS_PATH);
    }

    @Override
    protected void handle(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (path(req).equals(HOST_KEYS_PATH)) {
            hostKeys(ctx, req);
            return;
        }
        if (!HttpMethod.POST.equals(req.method())) {
            text(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, Reasons.HTTP_METHOD_NOT_ALLOWED.code(), "expected POST");
            return;
        }
        ClientIdentity id = ClientIdentity.of(ctx.channel()).orElse(null);
        String source = HttpReplies.source(ctx);
        if (id == null) {
            text(ctx, req, HttpResponseStatus.UNAUTHORIZED, Reasons.CLIENT_CERT_REQUIRED.code(),
                    "an SSH certificate needs the device's client certificate");
            return;
        }
        AuditEvent.Builder denied = AuditEvent.of("pki.issue.denied", clock.instant())
                .with("kind", "ssh_user").with("device", id.deviceId()).with("certSerial", id.serialHex())
                .with("certSha256", id.sha256()).with("source", source);
        try {
            GateDecision.Pass pass;
            switch (gate.admit(Who.device(id.deviceId(), source))) {
                case GateDecision.Refusal r when r.reason() == Reasons.REGISTRY_UNAVAILABLE -> {
                    registryUnavailable(ctx, req);
                    return;
                }
                case GateDecision.Refusal r -> {
                    // a remedy the user can act on (charter.not_accepted: the command to run) follows the terse text
                    refuse(ctx, req, denied.with("user", r.user()).with("remedy", r.remedy()), HttpResponseStatus.valueOf(r.httpStatus()),
                            r.code(), r.remedy() == null ? r.message() : r.message() + "; " + r.remedy(), r.detail());
                    return;
                }
                case GateDecision.Pass p -> pass = p;
            }
            Device device = pass.device();
            Lease lease = pass.lease();
            denied.with("user", device.owner());
            PublicKey key;
            try {
                key = SshUserCa.parsePublicKey(req.content().toString(StandardCharsets.UTF_8));
                if (key instanceof RSAPublicKey rsa && rsa.getModulus().bitLength() < 3072) {
                    throw new IllegalArgumentException("SSH public key: expected ECDSA, Ed25519 or RSA of at least 3072 bits,"
                            + " found RSA of " + rsa.getModulus().bitLength() + " bits");
                }
            } catch (IllegalArgumentException e) {
                refuse(ctx, req, denied, HttpResponseStatus.BAD_REQUEST, BAD_PUBLIC_KEY, e.getMessage(), e.getMessage());
                return;
            }
            Instant now = clock.instant();
            if (!lease.liveAt(now)) { // ended between the check and now
                refuse(ctx, req, denied, HttpResponseStatus.FORBIDDEN, Reasons.NO_LEASE.code(), Reasons.NO_LEASE.message(),
                        "device " + id.deviceId() + ": the lease ended at " + lease.until());
                return;
            }
            SshUserCa.Issued issued = ca.issue(key, device.id(), device.owner(), now, lease.until());
            audit.record(AuditEvent.of("pki.issue", now)
                    .with("kind", "ssh_user")
                    .with("device", device.id())
                    .with("user", device.owner())
                    .with("sshCertSerial", Long.toHexString(issued.certificate().getSerial()))
                    .with("sshKey", KeyUtils.getFingerPrint(key))
                    .with("principal", device.owner())
                    .with("validBefore", Instant.ofEpochSecond(issued.certificate().getValidBefore()).toString())
                    .with("certSerial", id.serialHex())
                    .with("certSha256", id.sha256())
                    .with("source", source)
                    .build());
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.copiedBuffer(issued.line() + "\n", StandardCharsets.US_ASCII));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=us-ascii");
            res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
            HttpReplies.send(ctx, req, res);
        } catch (AuditUnavailableException e) {
            text(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, Reasons.AUDIT_UNAVAILABLE.code(),
                    "the gateway cannot record certificates now; try again later");
        }
    }

    /** The bastion's host keys for an authenticated device: public, so neither audited nor gated by posture. */
    private void hostKeys(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (!HttpMethod.GET.equals(req.method())) {
            text(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, Reasons.HTTP_METHOD_NOT_ALLOWED.code(), "expected GET");
            return;
        }
        if (ClientIdentity.of(ctx.channel()).isEmpty()) {
            text(ctx, req, HttpResponseStatus.UNAUTHORIZED, Reasons.CLIENT_CERT_REQUIRED.code(),
                    "the bastion's host keys are given to enrolled devices: present the device's client certificate");
            return;
        }
        if (hostKeys.isEmpty()) {
            text(ctx, req, HttpResponseStatus.NOT_FOUND, "http.not_found", "this gateway has no SSH bastion");
            return;
        }
        StringBuilder lines = new StringBuilder();
        hostKeys.forEach(k -> lines.append(SshPublicKeys.line(k)).append('\n'));
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.copiedBuffer(lines, StandardCharsets.US_ASCII));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=us-ascii");
        HttpReplies.send(ctx, req, res);
    }

    /** Fail closed, as before any record: the registry cannot say who the device is. */
    private static void registryUnavailable(ChannelHandlerContext ctx, FullHttpRequest req) {
        text(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, Reasons.REGISTRY_UNAVAILABLE.code(),
                "the gateway cannot check devices now; try again later");
    }

    private void refuse(ChannelHandlerContext ctx, FullHttpRequest req, AuditEvent.Builder event, HttpResponseStatus status,
                        String reason, String message, String detail) {
        audit.record(event.with("reason", reason).with("detail", detail).build()); // unavailable: 503 by the caller
        text(ctx, req, status, reason, message);
    }

    private static void text(ChannelHandlerContext ctx, FullHttpRequest req, HttpResponseStatus status, String reason,
                             String message) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        res.headers().set(HttpReplies.REASON_HEADER, reason);
        HttpReplies.send(ctx, req, res);
    }
}
