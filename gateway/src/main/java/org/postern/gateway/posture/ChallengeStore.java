package org.postern.gateway.posture;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Objects;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import org.postern.protocol.posture.Evidence;

/**
 * Posture challenges: 128-bit random nonces, each bound to the device that asked, usable once,
 * live for at most {@link #MAX_TTL}. A bounded Caffeine cache keyed by nonce; expiry follows the
 * injected {@link Ticker}, the {@code expiresAt} shown to the agent the injected {@link Clock}.
 * Thread-safe.
 *
 * <p>When the store is full, Caffeine evicts by its size policy: a flood of challenges can cost
 * an honest device its nonce (it asks again), never let an unissued one through.
 */
public final class ChallengeStore {

    /** The longest a challenge may live (docs/architecture.md, posture: valid ≤ 60 s). */
    public static final Duration MAX_TTL = Duration.ofSeconds(60);
    public static final Duration DEFAULT_TTL = MAX_TTL;
    public static final long DEFAULT_MAX_SIZE = 100_000;
    static final int NONCE_BYTES = 16;

    /** A challenge as the agent receives it. */
    public record Challenge(String nonce, Instant expiresAt) {
        public Challenge {
            Objects.requireNonNull(nonce, "nonce");
            Objects.requireNonNull(expiresAt, "expiresAt");
        }
    }

    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

    private final SecureRandom random;
    private final Clock clock;
    private final Duration ttl;
    /** nonce → device id. */
    private final Cache<String, String> nonces;

    /** The production store: system ticker, {@link #DEFAULT_TTL}, {@link #DEFAULT_MAX_SIZE}. */
    public ChallengeStore(SecureRandom random, Clock clock) {
        this(random, clock, Ticker.systemTicker(), DEFAULT_TTL, DEFAULT_MAX_SIZE);
    }

    public ChallengeStore(SecureRandom random, Clock clock, Ticker ticker, Duration ttl, long maxSize) {
        this.random = Objects.requireNonNull(random, "random");
        this.clock = Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(ticker, "ticker");
        Objects.requireNonNull(ttl, "ttl");
        if (ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException("posture challenge ttl: expected between 1s and " + MAX_TTL.toSeconds()
                    + "s, found " + ttl.toMillis() + "ms");
        }
        if (maxSize < 1) {
            throw new IllegalArgumentException("posture challenge maxSize: expected at least 1, found " + maxSize);
        }
        this.ttl = ttl;
        this.nonces = Caffeine.newBuilder().ticker(ticker).expireAfterWrite(ttl).maximumSize(maxSize)
                .executor(Runnable::run).build();
    }

    /** Issues a fresh nonce for {@code deviceId}. */
    public Challenge issue(String deviceId) {
        Objects.requireNonNull(deviceId, "deviceId");
        byte[] bytes = new byte[NONCE_BYTES];
        random.nextBytes(bytes);
        String nonce = B64URL.encodeToString(bytes);
        nonces.put(nonce, deviceId);
        return new Challenge(nonce, clock.instant().plus(ttl));
    }

    /**
     * Consumes {@code nonce} if it is live and was issued to {@code deviceId}. A nonce issued to
     * another device is refused and left alone, so one device cannot burn another's challenge.
     */
    public boolean accept(String deviceId, String nonce) {
        if (deviceId == null || nonce == null) {
            return false;
        }
        // remove(key, value) is atomic and treats an expired entry as absent: one use, in time.
        return nonces.asMap().remove(nonce, deviceId);
    }

    /** The {@link Evidence.NonceCheck} for evidence from {@code deviceId}. */
    public Evidence.NonceCheck forDevice(String deviceId) {
        Objects.requireNonNull(deviceId, "deviceId");
        return nonce -> accept(deviceId, nonce);
    }

    /** Live challenges, approximately (for metrics). */
    public long size() {
        return nonces.estimatedSize();
    }
}
