package org.postern.agent.session;

import java.security.cert.CRLReason;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLException;

import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;
import org.postern.protocol.Reasons;

/**
 * The gateway refused this laptop itself, not one request: a TLS alert about the device
 * certificate after the handshake (TLS 1.3 delivers it on the first read), or a 403
 * {@code device.not_active} / {@code cert.revoked} to posture. The gateway's answer is terse (the
 * JDK provider answers {@code certificate_unknown} to every refusal, BoringSSL
 * {@code certificate_revoked} to a revoked and a suspended device alike), so the agent asks the
 * CA's CRL for its own serial ({@link RevocationCheck}) to tell which:
 *
 * <ul>
 *   <li>{@link Kind#REVOKED}: final. {@code up} stops and does not connect again with this certificate.
 *   <li>{@link Kind#SUSPENDED}: the certificate is on hold; tried again every {@link #SUSPENDED_RETRY}.
 *   <li>{@link Kind#REFUSED}: the CRL does not name this certificate (an unknown device, a gateway
 *       that cannot read its registry, a CRL not reachable): the next gateway is tried, as after a
 *       failed attempt (with one gateway: the doubling backoff).
 * </ul>
 *
 * @param kind      what happened
 * @param signal    what the gateway sent: {@code TLS alert certificate_revoked}, {@code 403 device.not_active}
 * @param crlReason the CRL's reason for this certificate, or null when the CRL does not name it
 * @param since     when the CRL says it was revoked or put on hold, or null
 * @param serial    the certificate's serial (hex)
 * @param at        when the agent found out
 */
public record Barred(Kind kind, String signal, @Nullable String crlReason, @Nullable Instant since, String serial, Instant at) {
    /** How long a suspended laptop waits between attempts: IT has to resume it first. */
    public static final Duration SUSPENDED_RETRY = Duration.ofMinutes(15);

    /** TLS alerts a gateway sends about the client certificate (RFC 8446 §6.2). */
    static final Set<String> CERTIFICATE_ALERTS = Set.of("certificate_revoked", "certificate_unknown", "bad_certificate",
            "access_denied", "certificate_expired", "unsupported_certificate", "unknown_ca");
    /** The 403 reason codes that mean "this laptop", not "this request". */
    static final Set<String> DEVICE_REFUSALS = Set.of(Reasons.DEVICE_NOT_ACTIVE.code(), Reasons.CERT_REVOKED.code());

    /** A received alert as the JDK's engine says it: {@code Received fatal alert: certificate_revoked}. */
    private static final Pattern JDK_ALERT = Pattern.compile("Received fatal alert: ([a-z_]+)");
    /** The same as BoringSSL says it: {@code error:…:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_REVOKED}. */
    private static final Pattern BORINGSSL_ALERT = Pattern.compile("(?:SSLV3|TLSV1)_ALERT_([A-Z_]+)");

    public enum Kind {
        REVOKED, SUSPENDED, REFUSED;

        public String spelling() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public Barred {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(signal, "signal");
        Objects.requireNonNull(serial, "serial");
        Objects.requireNonNull(at, "at");
    }

    /**
     * The TLS alert about the client certificate in {@code failure}'s causes, e.g.
     * {@code certificate_revoked}, as either TLS engine reports it; empty for any other failure (no
     * route, a reset, another alert).
     */
    static Optional<String> certificateAlert(@Nullable Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SSLException && t.getMessage() != null) {
                Matcher jdk = JDK_ALERT.matcher(t.getMessage());
                Matcher boring = BORINGSSL_ALERT.matcher(t.getMessage());
                String alert = jdk.find() ? jdk.group(1)
                        : boring.find() ? boring.group(1).toLowerCase(java.util.Locale.ROOT) : null;
                if (alert != null && CERTIFICATE_ALERTS.contains(alert)) {
                    return Optional.of(alert);
                }
            }
        }
        return Optional.empty();
    }

    /** Decides what the signal means, given what the CRL says about this certificate (empty: it names it not). */
    static Barred of(String signal, String serial, Optional<RevocationCheck.Entry> crl, Instant at) {
        if (crl.isEmpty()) {
            return new Barred(Kind.REFUSED, signal, null, null, serial, at);
        }
        RevocationCheck.Entry e = crl.get();
        Kind kind = e.reason() == CRLReason.CERTIFICATE_HOLD ? Kind.SUSPENDED : Kind.REVOKED;
        return new Barred(kind, signal, crlName(e.reason()), e.since(), serial, at);
    }

    /** Whether {@code up} stops for good. */
    public boolean isFinal() {
        return kind == Kind.REVOKED;
    }

    /** What the user reads: what happened, what the agent does now, whom to contact. */
    public String message() {
        String when = since == null ? "" : " on " + since;
        return switch (kind) {
            case REVOKED -> "This laptop's certificate (serial " + serial + ") was revoked by IT security" + when
                    + (crlReason == null || crlReason.equals("unspecified") ? "" : " (reason: " + crlReason + ")")
                    + "; the tunnel is stopped and postern-agent up will not connect again with it (the gateway sent "
                    + signal + "). Contact your IT security team to enroll this laptop again.";
            case SUSPENDED -> "This laptop was suspended by IT security" + when + " (its certificate, serial " + serial
                    + ", is on hold); the tunnel is stopped (the gateway sent " + signal + "). Contact your IT security team"
                    + " to resume it; postern-agent up tries again every " + SUSPENDED_RETRY.toMinutes() + " minutes.";
            case REFUSED -> "The gateway refused this laptop (" + signal + "): it may be revoked, suspended or unknown to"
                    + " the gateway, or the gateway cannot check it right now. If this goes on, contact your IT security team.";
        };
    }

    /** As {@code barred.json} and {@code status --json} show it. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", kind.spelling());
        m.put("signal", signal);
        m.put("crlReason", crlReason);
        m.put("since", since == null ? null : since.toString());
        m.put("certSerial", serial);
        m.put("at", at.toString());
        m.put("message", message());
        return m;
    }

    /** Reads {@link #toJson()} back; empty when it is not one. */
    public static Optional<Barred> fromJson(JsonNode n) {
        try {
            Kind kind = Kind.valueOf(n.path("kind").asText().toUpperCase(java.util.Locale.ROOT));
            return Optional.of(new Barred(kind, n.path("signal").asText(), n.path("crlReason").asText(null),
                    n.hasNonNull("since") ? Instant.parse(n.get("since").asText()) : null, n.path("certSerial").asText(),
                    Instant.parse(n.path("at").asText())));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** RFC 5280's spelling of a CRL reason: {@code keyCompromise}, {@code certificateHold}, … */
    static String crlName(CRLReason r) {
        String[] words = r.name().toLowerCase(java.util.Locale.ROOT).split("_");
        StringBuilder b = new StringBuilder(words[0]);
        for (int i = 1; i < words.length; i++) {
            b.append(Character.toUpperCase(words[i].charAt(0))).append(words[i].substring(1));
        }
        return b.toString();
    }
}
