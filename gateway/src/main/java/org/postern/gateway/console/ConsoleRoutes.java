package org.postern.gateway.console;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;

import gg.jte.ContentType;
import gg.jte.TemplateEngine;
import gg.jte.output.Utf8ByteOutput;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditUnavailableException;
import org.postern.gateway.admin.AdminIdentity;
import org.postern.pki.registry.CertStatus;
import org.postern.pki.registry.CertificateRecord;
import org.postern.pki.registry.RegistryException;
import org.postern.protocol.http.HttpReplies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which page or action a console request is, and whether this admin may have it. Runs on a worker.
 *
 * <p>Before anything, the admin certificate is looked up again: one revoked while its connection
 * stays open loses the console at its next request. A POST is refused 403, and audited as
 * {@code admin.denied} with the reason, when the role is not {@code security-admin} and the POST
 * is not one of {@link #READ_ONLY_ACTIONS} ({@code admin.role_forbidden}), when the CSRF token is missing or not this admin's
 * ({@code admin.csrf}), or when the browser says the request comes from another site
 * ({@code Sec-Fetch-Site: cross-site}/{@code same-site}, or an {@code Origin} that is not this
 * host: {@code admin.cross_site}).
 */
final class ConsoleRoutes {
    private static final Logger log = LoggerFactory.getLogger(ConsoleRoutes.class);

    static final String ROLE_FORBIDDEN = "admin.role_forbidden";
    static final String CSRF = "admin.csrf";
    static final String CROSS_SITE = "admin.cross_site";
    static final String REVOKED = "admin.certificate_refused";
    /**
     * POSTs an auditor may make too: they change nothing (running the selfcheck reads files and the
     * trail), but they are work on the console's workers, so they stay POSTs with a CSRF token.
     */
    static final java.util.Set<String> READ_ONLY_ACTIONS = java.util.Set.of(ConsolePages.SELFCHECK);

    /** A rendered answer. */
    record Reply(HttpResponseStatus status, String contentType, byte[] body, Map<String, String> headers, boolean close) {
        static Reply html(HttpResponseStatus status, byte[] body) {
            return new Reply(status, "text/html; charset=utf-8", body, Map.of(), false);
        }

        /** This answer with {@code headers}, and the connection closed after it when {@code close}. */
        Reply with(Map<String, String> headers, boolean close) {
            return new Reply(status, contentType, body, headers, close);
        }
    }

    private final ConsoleServices s;
    private final TemplateEngine templates = TemplateEngine.createPrecompiled(ContentType.Html);
    private final CsrfTokens csrf;
    private final ConsolePages pages;
    private final ConsoleActions actions;

    ConsoleRoutes(ConsoleServices services) {
        this.s = Objects.requireNonNull(services, "services");
        this.csrf = new CsrfTokens(services.random(), services.clock());
        this.pages = new ConsolePages(services);
        this.actions = new ConsoleActions(services, pages);
    }

    Executor workers() {
        return s.workers();
    }

    /** The answer to {@code req}, or null when it was streamed already (an export). */
    @Nullable Reply handle(AdminIdentity who, String source, FullHttpRequest req, ChannelHandlerContext ctx) {
        String path = new QueryStringDecoder(req.uri()).path();
        ConsoleViews.Chrome chrome = new ConsoleViews.Chrome("Postern", "", who.name(), who.role().wireName(),
                who.role().mayAct(), csrf.token(who), s.gateway(), s.clock().instant());
        String refused = stillAdmin(who);
        if (refused != null) {
            audit(event("admin.rejected", who, source).with("why", refused));
            Reply r = render(HttpResponseStatus.FORBIDDEN, "console/outcome.jte",
                    new ConsoleViews.Outcome(chrome.titled("Refused", ""), false, "Your admin certificate is no longer valid.",
                            java.util.List.of(), HOME_LINK));
            return r.with(Map.of(HttpReplies.REASON_HEADER, REVOKED), true);
        }
        HttpMethod m = req.method();
        if (HttpMethod.GET.equals(m) || HttpMethod.HEAD.equals(m)) {
            if (crossSiteRead(req, path)) {
                // a page of another site loading ours (an <img> of /console/verify, a link deep into the console):
                // only a top-level visit to the dashboard is let in from elsewhere
                audit(event("admin.denied", who, source).with("action", m.name() + " " + path).with("reason", CROSS_SITE));
                Reply r = render(HttpResponseStatus.FORBIDDEN, "console/outcome.jte", new ConsoleViews.Outcome(
                        chrome.titled("Refused", ""), false, "Refused: the request came from another site. Open the console "
                        + "from its address.", java.util.List.of(), HOME_LINK));
                return r.with(Map.of(HttpReplies.REASON_HEADER, CROSS_SITE), false);
            }
            if (HttpMethod.HEAD.equals(m) && (path.equals("/console/export") || path.equals("/console/verify"))) {
                return render(HttpResponseStatus.METHOD_NOT_ALLOWED, "console/outcome.jte", new ConsoleViews.Outcome(
                        chrome.titled("Not allowed", ""), false, "Expected GET, found HEAD " + path + ".", java.util.List.of(), HOME_LINK));
            }
            try {
                return pages.get(path, Form.query(req), chrome, who, source, req, ctx, this);
            } catch (AuditUnavailableException e) {
                return unavailable(chrome, e);
            }
        }
        if (!HttpMethod.POST.equals(m)) {
            return render(HttpResponseStatus.METHOD_NOT_ALLOWED, "console/outcome.jte", new ConsoleViews.Outcome(
                    chrome.titled("Not allowed", ""), false, "Expected GET or POST, found " + m.name() + ".",
                    java.util.List.of(), HOME_LINK));
        }
        Form form;
        try {
            form = Form.body(req);
        } catch (IllegalArgumentException e) {
            return render(HttpResponseStatus.UNSUPPORTED_MEDIA_TYPE, "console/outcome.jte", new ConsoleViews.Outcome(
                    chrome.titled("Refused", ""), false, e.getMessage(), java.util.List.of(), HOME_LINK));
        }
        String why = null;
        String reason = null;
        if (!who.role().mayAct() && !READ_ONLY_ACTIONS.contains(path)) {
            reason = ROLE_FORBIDDEN;
            why = "role " + who.role().wireName() + " is read-only: it may not change anything";
        } else if (crossSite(req)) {
            reason = CROSS_SITE;
            why = "the request came from another site";
        } else if (!csrf.valid(who, form.raw(CsrfTokens.FIELD))) {
            reason = CSRF;
            why = "the form's anti-forgery token is missing or not this admin's (reload the page and try again)";
        }
        if (reason != null) {
            audit(event("admin.denied", who, source).with("action", path).with("reason", reason));
            Reply r = render(HttpResponseStatus.FORBIDDEN, "console/outcome.jte", new ConsoleViews.Outcome(
                    chrome.titled("Refused", ""), false, "Refused: " + why + ".", java.util.List.of(), HOME_LINK));
            return r.with(Map.of(HttpReplies.REASON_HEADER, reason), false);
        }
        try {
            return actions.post(path, form, chrome, who, source, this);
        } catch (AuditUnavailableException e) {
            return unavailable(chrome, e);
        }
    }

    /** The trail (or its index) cannot be read or written now: 503 with why, nothing done. */
    Reply unavailable(ConsoleViews.Chrome chrome, AuditUnavailableException e) {
        Reply r = render(HttpResponseStatus.SERVICE_UNAVAILABLE, "console/outcome.jte", new ConsoleViews.Outcome(
                chrome.titled("Unavailable", ""), false, e.getMessage(), java.util.List.of(), HOME_LINK));
        return r.with(Map.of(HttpReplies.REASON_HEADER, "audit.unavailable",
                "Retry-After", "10"), false);
    }

    /** A GET another site made the browser send: anything but a top-level visit to the dashboard. */
    static boolean crossSiteRead(FullHttpRequest req, String path) {
        String site = req.headers().get("Sec-Fetch-Site");
        if (site == null || site.equals("same-origin") || site.equals("none")) {
            return false;
        }
        return !("navigate".equals(req.headers().get("Sec-Fetch-Mode")) && path.equals(ConsoleHandler.HOME));
    }

    static final String HOME_LINK = ConsoleHandler.HOME;

    /** Whether the console's workers were shut down (the gateway stops). */
    boolean shutDown() {
        return s.workers() instanceof java.util.concurrent.ExecutorService e && e.isShutdown();
    }

    /** Every console worker busy and the queue full. */
    Reply busy() {
        return new Reply(HttpResponseStatus.SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                "the console is busy; try again in a moment\n".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                Map.of(HttpReplies.REASON_HEADER, "admin.console_busy", "Retry-After", "5"), false);
    }

    /** The 500 page: nothing of the failure goes to the browser (it is in the log). */
    Reply failure() {
        return new Reply(HttpResponseStatus.INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
                "internal error\n".getBytes(java.nio.charset.StandardCharsets.UTF_8), Map.of(), true);
    }

    /** Renders {@code template} (under src/main/jte) with {@code model}. */
    Reply render(HttpResponseStatus status, String template, Object model) {
        Utf8ByteOutput out = new Utf8ByteOutput();
        templates.render(template, model, out);
        return Reply.html(status, out.toByteArray());
    }

    /** Why this admin certificate no longer opens the console, or null when it still does. */
    private @Nullable String stillAdmin(AdminIdentity who) {
        try {
            CertStatus st = s.pki().registry().status(new java.math.BigInteger(who.serial(), 16));
            return switch (st) {
                case CertStatus.Good g when g.certificate().kind() == CertificateRecord.Kind.admin
                        && g.certificate().notAfter().isAfter(s.clock().instant()) -> null;
                case CertStatus.Good g when g.certificate().kind() == CertificateRecord.Kind.admin ->
                        "certificate " + who.serial() + " expired at " + g.certificate().notAfter();
                case CertStatus.Good g -> "certificate " + who.serial() + " is not an admin certificate";
                case CertStatus.Revoked r -> "certificate " + who.serial() + " is revoked (" + r.reason() + ") since " + r.revokedAt();
                case CertStatus.Unknown u -> "certificate " + who.serial() + " is not in the registry";
            };
        } catch (RegistryException e) {
            return "registry unavailable, failing closed: " + e.getMessage();
        }
    }

    /**
     * What the browser says about where the request comes from: Fetch Metadata when sent, else the
     * Origin header against the Host. Neither sent (an old browser, curl) leaves the CSRF token as the check.
     */
    static boolean crossSite(FullHttpRequest req) {
        String site = req.headers().get("Sec-Fetch-Site");
        if (site != null) {
            return !(site.equals("same-origin") || site.equals("none"));
        }
        String origin = req.headers().get("Origin");
        if (origin == null) {
            return false;
        }
        String host = req.headers().get("Host");
        return host == null || !origin.equals("https://" + host);
    }

    AuditEvent.Builder event(String type, AdminIdentity who, String source) {
        return AuditEvent.of(type, s.clock().instant()).with("admin", who.name()).with("role", who.role().wireName())
                .with("certSerial", who.serial()).with("certSha256", who.sha256()).with("source", source)
                .with("via", "console");
    }

    /** Records {@code e}; true when it is durable. An action whose record cannot be written is not done. */
    boolean audit(AuditEvent.Builder e) {
        try {
            s.audit().record(e.build());
            return true;
        } catch (AuditUnavailableException x) {
            log.error("console event not recorded: {}", x.getMessage());
            return false;
        }
    }
}
