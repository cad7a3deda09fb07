package org.postern.gateway.posture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.Set;

import com.github.benmanes.caffeine.cache.Ticker;
import org.junit.jupiter.api.Test;
import org.postern.pki.testing.MutableClock;

class ChallengeStoreTest {

    final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T10:00:00Z"));
    final Ticker ticker = () -> Duration.between(Instant.EPOCH, clock.instant()).toNanos();
    final ChallengeStore store = new ChallengeStore(new SecureRandom(), clock, ticker, Duration.ofSeconds(60), 1000);

    @Test
    void issue_nonceIs128RandomBitsBase64url_expiringAfterTheTtl() {
        ChallengeStore.Challenge c = store.issue("laptop-1");
        assertThat(c.nonce()).matches("[A-Za-z0-9_-]{22}");
        assertThat(Base64.getUrlDecoder().decode(c.nonce())).hasSize(16);
        assertThat(c.expiresAt()).isEqualTo(Instant.parse("2026-03-01T10:01:00Z"));
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            assertThat(seen.add(store.issue("laptop-1").nonce())).isTrue();
        }
    }

    @Test
    void accept_isOneUse() {
        String nonce = store.issue("laptop-1").nonce();
        assertThat(store.accept("laptop-1", nonce)).isTrue();
        assertThat(store.accept("laptop-1", nonce)).isFalse();
    }

    @Test
    void accept_afterExpiry_isRefused() {
        String nonce = store.issue("laptop-1").nonce();
        clock.advance(Duration.ofSeconds(61));
        assertThat(store.accept("laptop-1", nonce)).isFalse();
    }

    @Test
    void accept_justBeforeExpiry_isAccepted() {
        String nonce = store.issue("laptop-1").nonce();
        clock.advance(Duration.ofSeconds(59));
        assertThat(store.accept("laptop-1", nonce)).isTrue();
    }

    @Test
    void accept_byAnotherDevice_isRefusedAndDoesNotBurnTheNonce() {
        String nonce = store.issue("laptop-1").nonce();
        assertThat(store.accept("laptop-2", nonce)).isFalse();
        assertThat(store.forDevice("laptop-2").accept(nonce)).isFalse();
        assertThat(store.forDevice("laptop-1").accept(nonce)).isTrue();
    }

    @Test
    void accept_unknownOrMissingNonce_isRefused() {
        store.issue("laptop-1");
        assertThat(store.accept("laptop-1", "AAAAAAAAAAAAAAAAAAAAAA")).isFalse();
        assertThat(store.accept("laptop-1", null)).isFalse();
        assertThat(store.accept(null, "x")).isFalse();
    }

    @Test
    void store_isBounded() {
        ChallengeStore small = new ChallengeStore(new SecureRandom(), clock, ticker, Duration.ofSeconds(60), 10);
        for (int i = 0; i < 1000; i++) {
            small.issue("laptop-" + i);
        }
        assertThat(small.size()).isLessThanOrEqualTo(10);
    }

    @Test
    void ttl_over60s_isRefusedNamingTheSetting() {
        assertThatThrownBy(() -> new ChallengeStore(new SecureRandom(), clock, ticker, Duration.ofSeconds(61), 10))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("posture challenge ttl: expected between 1s and 60s, found 61000ms");
    }
}
