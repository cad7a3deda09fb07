package org.postern.gateway.console;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Objects;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.postern.gateway.admin.AdminIdentity;

/**
 * The console's anti-forgery tokens. A browser sends the admin's client certificate to any page
 * that asks, so a page on another site could make it POST here; every form therefore carries a
 * token that only a page of this console could have read: an HMAC, under a key this gateway draws
 * at start, of the admin certificate's fingerprint and the day. Tokens of today and yesterday are
 * accepted (a form left open over midnight still works); a restart invalidates them all.
 */
final class CsrfTokens {
    /** The form field that carries the token. */
    static final String FIELD = "csrf";
    private static final long DAY = Duration.ofDays(1).toMillis();

    private final SecretKeySpec key;
    private final Clock clock;

    CsrfTokens(SecureRandom random, Clock clock) {
        byte[] k = new byte[32];
        random.nextBytes(k);
        this.key = new SecretKeySpec(k, "HmacSHA256");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** The token the forms of {@code admin}'s pages carry now. */
    String token(AdminIdentity admin) {
        return token(admin, day());
    }

    /** Whether {@code presented} is {@code admin}'s token of today or yesterday; constant time. */
    boolean valid(AdminIdentity admin, String presented) {
        if (presented == null || presented.isEmpty()) {
            return false;
        }
        byte[] p = presented.getBytes(StandardCharsets.US_ASCII);
        long today = day();
        boolean ok = MessageDigest.isEqual(p, token(admin, today).getBytes(StandardCharsets.US_ASCII));
        ok |= MessageDigest.isEqual(p, token(admin, today - 1).getBytes(StandardCharsets.US_ASCII));
        return ok;
    }

    private long day() {
        return clock.millis() / DAY;
    }

    private String token(AdminIdentity admin, long day) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(("postern-console-csrf|" + admin.sha256() + "|" + admin.role().wireName() + "|" + day)
                    .getBytes(StandardCharsets.UTF_8));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
