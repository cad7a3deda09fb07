package org.postern.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postern.gateway.session.FlowEnd;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RegistryException;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.registry.SqliteRegistry;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;

class LiveRevocationsTest {
    final TestPki pki = TestPki.create();
    final TestPki.Enrolled laptop = pki.enroll("laptop-1", "alice");
    final TestPki.Enrolled other = pki.enroll("laptop-2", "bob");
    final AtomicLong nanos = new AtomicLong();
    final LiveRevocations live = new LiveRevocations(pki.registry, pki.clock, nanos::get, Duration.ofSeconds(5), null);
    final List<Map.Entry<String, FlowEnd>> barred = new CopyOnWriteArrayList<>();
    /** A second handle on the same registry file, as a `postern pki device revoke` process opens. */
    SqliteRegistry cli;

    {
        live.onBarred((device, why) -> barred.add(Map.entry(device, why)));
    }

    @AfterEach
    void close() {
        live.close();
        if (cli != null) {
            cli.close();
        }
        pki.close();
    }

    BigInteger serial(TestPki.Enrolled d) {
        return d.certificate().getSerialNumber();
    }

    SqliteRegistry cli() {
        if (cli == null) {
            cli = SqliteRegistry.open(pki.dataDir, pki.clock);
        }
        return cli;
    }

    @Test
    void refusal_beforeFirstRead_failsClosed() {
        assertThat(live.refusal("laptop-1", serial(laptop))).satisfies(r -> {
            assertThat(r.reason()).isEqualTo("registry.unavailable");
            assertThat(r.why()).isEqualTo("revocation view is stale: the registry was last read never (limit 5000 ms): not read yet; failing closed");
        });
    }

    @Test
    void activeDevice_notRefused() {
        live.refresh();
        assertThat(live.refusal("laptop-1", serial(laptop))).isNull();
        assertThat(barred).isEmpty();
    }

    @Test
    void revokedByAnotherHandle_refusedAtNextPoll_andAnnouncedOnce() {
        live.refresh();
        cli().revokeDevice("laptop-1", RevocationReason.lost, pki.clock.instant());
        assertThat(live.refusal("laptop-1", serial(laptop))).as("not polled yet").isNull();

        live.refresh();
        assertThat(live.refusal("laptop-1", serial(laptop)))
                .isEqualTo(new LiveRevocations.Refusal("device.revoked", "device laptop-1: expected status active, found revoked"));
        assertThat(live.refusal("laptop-2", serial(other))).isNull();
        assertThat(barred).containsExactly(Map.entry("laptop-1", FlowEnd.REVOKED));

        live.refresh();
        assertThat(barred).as("announced once").hasSize(1);
    }

    @Test
    void revokedSerial_presentedUnderAnotherDeviceName_refusedAsRevoked() {
        live.refresh();
        cli().revokeDevice("laptop-1", RevocationReason.keyCompromise, pki.clock.instant());
        live.refresh();
        assertThat(live.refusal("laptop-x", serial(laptop))).satisfies(r -> {
            assertThat(r.reason()).isEqualTo("cert.revoked");
            assertThat(r.why()).startsWith("certificate " + serial(laptop).toString(16) + " is revoked (keyCompromise) since ");
        });
    }

    @Test
    void suspended_thenResumed() {
        live.refresh();
        cli().suspendDevice("laptop-1", pki.clock.instant());
        live.refresh();
        assertThat(live.refusal("laptop-1", serial(laptop)).reason()).isEqualTo("device.suspended");
        assertThat(barred).containsExactly(Map.entry("laptop-1", FlowEnd.SUSPENDED));

        cli().resumeDevice("laptop-1", pki.clock.instant());
        live.refresh();
        assertThat(live.refusal("laptop-1", serial(laptop))).isNull();
        assertThat(barred).as("a resume bars nobody").hasSize(1);
    }

    @Test
    void renewal_bothCertificatesAccepted_nobodyBarred() throws Exception {
        live.refresh();
        KeyPair keys = TestCsrs.p256();
        X509Certificate renewed = pki.service.reenroll(laptop.certificate(), TestCsrs.body(keys, "laptop-1"), "test");
        live.refresh();
        // EST renewal leaves the old certificate good until it expires (an agent may still hold it)
        assertThat(live.refusal("laptop-1", serial(laptop))).isNull();
        assertThat(live.refusal("laptop-1", renewed.getSerialNumber())).isNull();
        assertThat(barred).as("the device renewed; its flows stay").isEmpty();
    }

    @Test
    void registryUnreadable_answersFromTheViewUntilTheBound_thenRefusesAll() {
        live.refresh();
        pki.registry.close();
        nanos.addAndGet(Duration.ofSeconds(4).toNanos());
        live.refresh(); // fails
        assertThat(live.refusal("laptop-1", serial(laptop))).as("within 5 s of the last read").isNull();

        nanos.addAndGet(Duration.ofMillis(1001).toNanos());
        assertThat(live.refusal("laptop-1", serial(laptop))).satisfies(r -> {
            assertThat(r.reason()).isEqualTo("registry.unavailable");
            assertThat(r.why()).startsWith("revocation view is stale: the registry was last read 5001 ms ago (limit 5000 ms): registry ")
                    .endsWith("is closed; failing closed");
        });
    }

    @Test
    void started_seesAnotherProcessesRevocationWithin1s() {
        try (LiveRevocations polled = LiveRevocations.start(pki.registry, pki.clock)) {
            List<String> heard = new CopyOnWriteArrayList<>();
            polled.onBarred((device, why) -> heard.add(device + " " + why.wireName()));
            assertThat(polled.refusal("laptop-2", serial(other))).isNull();
            long t0 = System.nanoTime();
            cli().revokeDevice("laptop-2", RevocationReason.lost, pki.clock.instant());
            Awaitility.await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10))
                    .until(() -> polled.refusal("laptop-2", serial(other)) != null);
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
            Awaitility.await().atMost(Duration.ofSeconds(1)).until(() -> heard.contains("laptop-2 revoked"));
        }
    }

    @Test
    void start_pollNotBelowMaxStale_isRefused() {
        assertThatThrownBy(() -> LiveRevocations.start(pki.registry, pki.clock, Duration.ofSeconds(5), Duration.ofSeconds(5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("revocation polling: expected 0 < poll < maxStale, found poll PT5S, maxStale PT5S");
    }

    /**
     * The registry as a gateway sees it over a network: the real one, or "down" (every call
     * refused as unavailable, as a stopped PostgreSQL is), with its change notifications in the
     * test's hand.
     */
    static final class Flaky {
        final Registry real;
        volatile boolean down;
        final List<Runnable> wakeUps = new CopyOnWriteArrayList<>();
        final Registry registry;

        Flaky(Registry real) {
            this.real = real;
            this.registry = (Registry) Proxy.newProxyInstance(Registry.class.getClassLoader(), new Class<?>[] {Registry.class},
                    (proxy, method, args) -> {
                        if (method.getName().equals("onChange")) {
                            wakeUps.add((Runnable) args[0]);
                            return (AutoCloseable) () -> wakeUps.remove(args[0]);
                        }
                        if (down) {
                            throw new RegistryException("registry.unavailable", "registry postgresql://db:5432/postern: cannot reach PostgreSQL");
                        }
                        try {
                            return method.invoke(real, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }
    }

    @Test
    void registryDown_failsClosedAfterMaxStale_auditedOncePerTransition_andRecovers() {
        Flaky flaky = new Flaky(pki.registry);
        List<String> heard = new CopyOnWriteArrayList<>();
        LiveRevocations view = new LiveRevocations(flaky.registry, pki.clock, nanos::get, Duration.ofSeconds(2), null);
        view.onAvailability((available, detail) -> heard.add(available + " " + detail));
        view.refresh();
        assertThat(heard).as("a fresh view is not a transition").isEmpty();

        flaky.down = true;
        for (int poll = 0; poll < 10; poll++) { // 200 ms apart: 1.8 s, still within the bound
            nanos.addAndGet(Duration.ofMillis(180).toNanos());
            view.refresh();
        }
        assertThat(view.refusal("laptop-1", serial(laptop))).as("the last view still answers").isNull();
        assertThat(heard).isEmpty();

        for (int poll = 0; poll < 10; poll++) {
            nanos.addAndGet(Duration.ofMillis(200).toNanos());
            view.refresh();
        }
        assertThat(view.refusal("laptop-1", serial(laptop)).reason()).isEqualTo("registry.unavailable");
        assertThat(heard).as("stale: told once, not per poll").singleElement().asString()
                .startsWith("false the registry was last read 2").contains("(limit 2000 ms): registry postgresql://db:5432/postern: cannot reach PostgreSQL")
                .endsWith("every session on this gateway ends and every client certificate is refused");

        flaky.down = false;
        nanos.addAndGet(Duration.ofMillis(200).toNanos());
        view.refresh();
        view.refresh();
        assertThat(view.refusal("laptop-1", serial(laptop))).isNull();
        assertThat(heard).hasSize(2);
        assertThat(heard.get(1)).startsWith("true the registry is readable again after ");
    }

    /**
     * Issue 14 review: a stale view refused new handshakes only, and live connections stayed up. Now
     * each device connection is told why (GOAWAY {@code postern-close: registry_unavailable}), the
     * sessions end while it is still open (so they end as registry_unavailable, not client_closed),
     * then it closes; a connection without a client certificate stays; once per outage.
     */
    @Test
    void stale_failClosed_goAwayThenSessionsEndedThenDeviceConnectionsClosed_oncePerOutage() {
        Flaky flaky = new Flaky(pki.registry);
        LiveRevocations view = new LiveRevocations(flaky.registry, pki.clock, nanos::get, Duration.ofSeconds(2), null);
        EmbeddedChannel device = new EmbeddedChannel(Http2FrameCodecBuilder.forServer().build());
        device.attr(ClientIdentity.KEY).set(new ClientIdentity("laptop-1", laptop.certificate(), serial(laptop), "00"));
        drain(device); // the server's SETTINGS
        EmbeddedChannel anonymous = new EmbeddedChannel();
        List<String> ended = new CopyOnWriteArrayList<>();
        view.failClosed(List.of(device, anonymous), () -> ended.add("sessions ended, connection open: " + device.isOpen()));
        view.refresh();

        flaky.down = true;
        nanos.addAndGet(Duration.ofMillis(1_900).toNanos());
        view.refresh();
        device.runPendingTasks();
        assertThat(ended).as("within maxStale nothing ends").isEmpty();
        assertThat(device.isOpen()).isTrue();

        nanos.addAndGet(Duration.ofMillis(200).toNanos());
        view.refresh();
        assertThat(ended).containsExactly("sessions ended, connection open: true");
        device.runPendingTasks();
        assertThat(drain(device)).as("GOAWAY debug data").contains("postern-close: registry_unavailable");
        assertThat(device.isOpen()).isFalse();
        assertThat(anonymous.isOpen()).as("no client certificate, no session").isTrue();
        assertThat(view.refusal("laptop-1", serial(laptop)).reason()).isEqualTo("registry.unavailable");

        nanos.addAndGet(Duration.ofSeconds(5).toNanos());
        view.refresh();
        flaky.down = false;
        view.refresh();
        assertThat(ended).as("once per outage, not per poll, and not on recovery").hasSize(1);
        assertThat(view.refusal("laptop-1", serial(laptop))).isNull();
    }

    static String drain(EmbeddedChannel ch) {
        StringBuilder out = new StringBuilder();
        for (ByteBuf b = ch.readOutbound(); b != null; b = ch.readOutbound()) {
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out.toString();
    }

    @Test
    void registryUnreachableAtStart_isAuditedAsUnavailable() {
        Flaky flaky = new Flaky(pki.registry);
        flaky.down = true;
        List<Boolean> heard = new CopyOnWriteArrayList<>();
        try (LiveRevocations view = LiveRevocations.start(flaky.registry, pki.clock, Duration.ofMillis(200), Duration.ofSeconds(5),
                (available, detail) -> heard.add(available))) {
            assertThat(heard).containsExactly(false);
            assertThat(view.refusal("laptop-1", serial(laptop)).reason()).isEqualTo("registry.unavailable");
            flaky.down = false;
            Awaitility.await().atMost(Duration.ofSeconds(2)).until(() -> view.refusal("laptop-1", serial(laptop)) == null);
            assertThat(heard).containsExactly(false, true);
        }
    }

    @Test
    void changeNotification_refreshesAtOnce_withoutWaitingForThePoll() {
        Flaky flaky = new Flaky(pki.registry);
        // a poll so slow that only the notification can explain a fresh view within the test
        try (LiveRevocations view = LiveRevocations.start(flaky.registry, pki.clock, Duration.ofMinutes(1), Duration.ofMinutes(2))) {
            cli().revokeDevice("laptop-1", RevocationReason.lost, pki.clock.instant());
            assertThat(view.refusal("laptop-1", serial(laptop))).as("not woken yet").isNull();

            assertThat(flaky.wakeUps).hasSize(1);
            flaky.wakeUps.forEach(Runnable::run);
            Awaitility.await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10))
                    .until(() -> view.refusal("laptop-1", serial(laptop)) != null);
        }
        assertThat(flaky.wakeUps).as("closing the view ends the subscription").isEmpty();
    }
}
