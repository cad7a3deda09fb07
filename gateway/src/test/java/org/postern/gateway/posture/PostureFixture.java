package org.postern.gateway.posture;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.posture.PosturePolicy;
import org.postern.config.posture.VersionNumber;
import org.postern.gateway.tls.ClientIdentity;
import org.postern.pki.testing.MutableClock;
import org.postern.pki.testing.TestPki;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.Evidence;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;
import org.postern.protocol.posture.PostureEvaluator;

/**
 * A posture service over a real {@link TestPki} (registry, enrolled devices with real keys) with
 * an in-memory audit sink that can be made to fail, and Caffeine stores on the PKI's clock.
 */
final class PostureFixture implements AutoCloseable {

    /** An audit sink that keeps events in memory and throws while {@link #failing} is set. */
    static final class MemoryAudit implements AuditSink {
        final List<AuditEvent> events = new CopyOnWriteArrayList<>();
        volatile boolean failing;

        @Override
        public void record(AuditEvent event) {
            if (failing) {
                throw new AuditUnavailableException("audit trail: disk full (test)", null);
            }
            events.add(event);
        }

        AuditEvent last(String type) {
            return events.stream().filter(e -> e.type().equals(type)).reduce((a, b) -> b)
                    .orElseThrow(() -> new AssertionError("no " + type + " event in " + events));
        }

        List<AuditEvent> of(String type) {
            return events.stream().filter(e -> e.type().equals(type)).toList();
        }
    }

    final TestPki pki = TestPki.create();
    final MutableClock clock = pki.clock;
    /** Caffeine time follows the PKI clock, so advancing it expires challenges and leases. */
    final Ticker ticker = () -> Duration.between(Instant.EPOCH, clock.instant()).toNanos();
    final MemoryAudit audit = new MemoryAudit();
    final List<Map.Entry<Lease, LeaseStore.End>> gone = new CopyOnWriteArrayList<>();
    final ChallengeStore challenges = new ChallengeStore(pki.random, clock, ticker, Duration.ofSeconds(60), 1000);
    final LeaseStore leases = new LeaseStore(clock, ticker, Scheduler.disabledScheduler(), 1000,
            (lease, end) -> gone.add(Map.entry(lease, end)));
    PosturePolicy policy = PosturePolicy.defaults();
    final PostureService service = new PostureService(() -> policy, new PostureEvaluator(), challenges, leases,
            pki.registry, audit, clock);

    final TestPki.Enrolled laptop = pki.enroll("laptop-1", "alice");
    final TestPki.Enrolled other = pki.enroll("laptop-2", "bob");

    ClientIdentity identity(TestPki.Enrolled device) {
        return ClientIdentity.of(device.certificate());
    }

    /** A fully patched, encrypted Debian 12 laptop, as its agent would claim it now. */
    PostureClaims claims(String deviceId, String nonce) {
        return claims(deviceId, nonce, clock.instant());
    }

    PostureClaims claims(String deviceId, String nonce, Instant now) {
        return PostureClaims.of(nonce, deviceId, now, new AgentInfo("postern-agent", "0.1.0"),
                new PostureClaims.Facts(new OsFacts(OsFacts.LINUX, "debian", "12", null, "6.1.0-18-amd64"),
                        new DiskFacts("/", true, "LUKS2", true, DiskFacts.FULLY_ENCRYPTED, null),
                        new PatchFacts(now.minus(Duration.ofDays(2)), 0, null, false),
                        PostureClaims.NATIVE, List.of()));
    }

    /** Evidence from {@code device} answering {@code nonce}, signed with its own key. */
    String evidence(TestPki.Enrolled device, String nonce) throws Exception {
        return Evidence.sign(claims(device.id(), nonce), device.keys().getPrivate(), device.certificate());
    }

    /** A challenge for {@code device} and evidence answering it. */
    String freshEvidence(TestPki.Enrolled device) throws Exception {
        return evidence(device, service.challenge(identity(device)).nonce());
    }

    /** The default policy, asking for Debian 13: a Debian 12 laptop is {@code os.too_old}. */
    static PosturePolicy needsDebian13(PosturePolicy.Mode mode) {
        PosturePolicy d = PosturePolicy.defaults();
        var linux = new PosturePolicy.Linux(PosturePolicy.Linux.DEFAULT_KERNEL,
                Map.of("debian", VersionNumber.parse("13")));
        return new PosturePolicy("strict-1", mode, d.lease(), d.requireDiskEncryption(),
                new PosturePolicy.MinOs(null, null, linux), d.maxDaysSinceUpdate(), d.maxSecurityPendingDays(),
                d.denyRebootRequired(), d.minAgentVersion(), d.minCertValidityDays(), d.evidenceSkew(),
                d.unsafeAllowUnknownPendingAge());
    }

    static List<String> codes(Object reasons) {
        List<String> out = new ArrayList<>();
        for (Object o : (List<?>) reasons) {
            out.add(String.valueOf(o));
        }
        return out;
    }

    @Override
    public void close() {
        pki.close();
    }
}
