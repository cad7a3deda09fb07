package org.postern.gateway.posture;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import org.junit.jupiter.api.Test;
import org.postern.config.posture.PosturePolicy;
import org.postern.pki.testing.MutableClock;
import org.postern.protocol.posture.PostureVerdict;

class LeaseStoreTest {

    final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T10:00:00Z"));
    final Ticker ticker = () -> Duration.between(Instant.EPOCH, clock.instant()).toNanos();
    final List<Map.Entry<Lease, LeaseStore.End>> gone = new CopyOnWriteArrayList<>();
    final LeaseStore store = new LeaseStore(clock, ticker, Scheduler.disabledScheduler(), 100,
            (lease, end) -> gone.add(Map.entry(lease, end)));

    Lease lease(String device, Duration length) {
        Instant now = clock.instant();
        return new Lease(device, "alice", BigInteger.TEN, now,
                new PostureVerdict.Compliant(PosturePolicy.Mode.ENFORCE, "v1", now.plus(length), List.of()));
    }

    @Test
    void current_untilTheLeaseEnds_thenGoneAndReportedExpired() {
        Lease l = lease("laptop-1", Duration.ofMinutes(10));
        store.put(l);
        clock.advance(Duration.ofMinutes(9));
        assertThat(store.current("laptop-1")).contains(l);
        clock.advance(Duration.ofMinutes(1));
        assertThat(store.current("laptop-1")).isEmpty();
        store.cleanUp();
        assertThat(gone).containsExactly(Map.entry(l, LeaseStore.End.EXPIRED));
    }

    @Test
    void expiry_isPerEntry() {
        Lease shortOne = lease("laptop-1", Duration.ofMinutes(1));
        Lease longOne = lease("laptop-2", Duration.ofMinutes(10));
        store.put(shortOne);
        store.put(longOne);
        clock.advance(Duration.ofMinutes(2));
        store.cleanUp();
        assertThat(store.current("laptop-1")).isEmpty();
        assertThat(store.current("laptop-2")).contains(longOne);
        assertThat(gone).containsExactly(Map.entry(shortOne, LeaseStore.End.EXPIRED));
    }

    @Test
    void put_renewal_replacesAndReportsRenewed() {
        Lease first = lease("laptop-1", Duration.ofMinutes(10));
        store.put(first);
        clock.advance(Duration.ofMinutes(8));
        Lease second = lease("laptop-1", Duration.ofMinutes(10));
        store.put(second);
        clock.advance(Duration.ofMinutes(5)); // past the first lease's end, within the second's
        store.cleanUp();
        assertThat(store.current("laptop-1")).contains(second);
        assertThat(gone).containsExactly(Map.entry(first, LeaseStore.End.RENEWED));
    }

    @Test
    void end_removesNowAndReportsEnded() {
        Lease l = lease("laptop-1", Duration.ofMinutes(10));
        store.put(l);
        store.end("laptop-1");
        assertThat(store.current("laptop-1")).isEmpty();
        assertThat(gone).containsExactly(Map.entry(l, LeaseStore.End.ENDED));
        store.end("laptop-9"); // no lease: nothing to report
        assertThat(gone).hasSize(1);
    }
}
