package org.postern.gateway.tls;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import org.jspecify.annotations.Nullable;
import org.postern.config.RegistrySettings;
import org.postern.gateway.session.FlowEnd;
import org.postern.pki.registry.CertificateRecord;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.RevocationReason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's in-memory view of who may not connect: the serials of certificates revoked or on
 * hold (not yet expired) and the devices suspended or revoked, loaded from the registry and kept
 * current by polling {@link Registry#changeCount()} every {@link #DEFAULT_POLL}, and at once when
 * the registry says it changed ({@link Registry#onChange}: PostgreSQL's NOTIFY; the poll is then the
 * fallback). A change made by {@code postern pki device revoke} in another process, or by another
 * gateway on the same PostgreSQL, is seen at the next poll or wake-up; the view is reloaded only
 * when the count moved, so a quiet registry costs one small read per poll.
 *
 * <p>Handshakes ask {@link #refusal} — a map lookup, no I/O — so revocation costs nothing on the
 * event loop. <b>Fail closed:</b> when the registry could not be read for longer than
 * {@code maxStale} ({@code registry.maxStale}, default {@link RegistrySettings#DEFAULT_MAX_STALE}), every
 * certificate is refused ({@code registry.unavailable}) until a poll succeeds again. The
 * {@link AvailabilityListener}s hear each transition once, not each poll: the gateway audits it, and
 * {@link #failClosed} ends every session on it and closes its connections — a revocation made
 * meanwhile through another gateway cannot be seen here, so nothing may stay up past
 * {@code maxStale}.
 *
 * <p>When a poll finds a device newly barred (suspended or revoked, or one of its certificates
 * revoked or put on hold other than by a renewal), the {@link BarredListener}s hear it on the
 * poller thread: the gateway closes the device's flows and ends its lease, and
 * {@link #closeBarredConnections} closes its connections, idle ones included.
 */
public final class LiveRevocations implements AutoCloseable {
    /** How often the registry's change count is read. */
    public static final Duration DEFAULT_POLL = Duration.ofMillis(200);

    private static final Logger log = LoggerFactory.getLogger(LiveRevocations.class);

    /**
     * Hears that the view went stale (every certificate now refused) or is fresh again; called once
     * per transition on the poller thread.
     */
    @FunctionalInterface
    public interface AvailabilityListener {
        /**
         * @param available false when the view just went stale, true when it was read again after that
         * @param detail    what happened: since when, the limit, the registry's error
         */
        void changed(boolean available, String detail);
    }

    /** Hears that a device lost its access; called on the poller thread, must not block long. */
    @FunctionalInterface
    public interface BarredListener {
        void barred(String deviceId, FlowEnd why);
    }

    /**
     * Why a certificate is refused.
     *
     * @param reason a stable code for the audit trail ({@code cert.revoked}, {@code device.suspended}, …)
     * @param why    what was expected and what was found
     */
    public record Refusal(String reason, String why) {
        public Refusal {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(why, "why");
        }
    }

    private record BarredCert(String deviceId, RevocationReason reason, Instant revokedAt) {
    }

    /** One load: the change count read before the tables, so a change in between reloads again. */
    private record View(long changeCount, Map<BigInteger, BarredCert> serials, Map<String, DeviceStatus> devices) {
    }

    private final Registry registry;
    private final Clock clock;
    private final LongSupplier nanos;
    private final Duration maxStale;
    private final List<BarredListener> listeners = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService poller;
    private volatile View view;
    /** {@link #nanos} at the last successful poll. */
    private volatile long readAt;
    private volatile String lastError = "not read yet";
    private boolean failing; // guarded by this
    private boolean stale; // guarded by this: the availability listener was told the view went stale
    private final List<AvailabilityListener> availability = new CopyOnWriteArrayList<>();
    private AutoCloseable wakeUps = () -> { };

    LiveRevocations(Registry registry, Clock clock, LongSupplier nanos, Duration maxStale, ScheduledExecutorService poller) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.nanos = Objects.requireNonNull(nanos, "nanos");
        this.maxStale = Objects.requireNonNull(maxStale, "maxStale");
        this.poller = poller;
        this.readAt = nanos.getAsLong() - maxStale.toNanos() - 1; // stale until the first read
    }

    /**
     * Loads the view now and polls every {@link #DEFAULT_POLL} on a daemon thread of its own. A
     * first load that fails is logged; certificates are refused until a poll succeeds.
     */
    public static LiveRevocations start(Registry registry, Clock clock) {
        return start(registry, clock, DEFAULT_POLL, RegistrySettings.DEFAULT_MAX_STALE);
    }

    public static LiveRevocations start(Registry registry, Clock clock, Duration poll, Duration maxStale) {
        return start(registry, clock, poll, maxStale, (available, detail) -> { });
    }

    /**
     * As {@link #start(Registry, Clock)} with the poll interval, the bound and a listener of the
     * view's availability (told before the first load, so a registry unreachable at start is heard).
     * The registry's change notifications trigger a refresh at once, on the poller thread.
     */
    public static LiveRevocations start(Registry registry, Clock clock, Duration poll, Duration maxStale,
                                        AvailabilityListener availability) {
        if (poll.isNegative() || poll.isZero() || maxStale.compareTo(poll) <= 0) {
            throw new IllegalArgumentException("revocation polling: expected 0 < poll < maxStale, found poll " + poll
                    + ", maxStale " + maxStale);
        }
        ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("postern-revocations").daemon().factory());
        LiveRevocations live = new LiveRevocations(registry, clock, System::nanoTime, maxStale, poller);
        live.onAvailability(availability);
        live.refresh();
        poller.scheduleWithFixedDelay(live::refresh, poll.toMillis(), poll.toMillis(), TimeUnit.MILLISECONDS);
        live.wakeUps = registry.onChange(() -> live.wake(poller));
        return live;
    }

    /** A refresh now, on the poller; a wake-up while the poller is stopping is dropped. */
    private void wake(ScheduledExecutorService on) {
        try {
            on.execute(this::refresh);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    /**
     * Adds a listener of the view's availability (the gateway audits the transitions and, when the
     * view goes stale, ends every session). Called in the order they were added.
     */
    public void onAvailability(AvailabilityListener listener) {
        availability.add(Objects.requireNonNull(listener, "listener"));
    }

    /** Adds a listener for devices that become barred. */
    public void onBarred(BarredListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * Why this device's certificate may not be used now, or null when nothing bars it. A
     * certificate the registry does not know is not refused here: the PKIX check proves our CA
     * issued it, and the posture and CONNECT gates read the device from the registry.
     */
    public @Nullable Refusal refusal(String deviceId, BigInteger serial) {
        View v = view;
        long age = nanos.getAsLong() - readAt;
        if (v == null || age > maxStale.toNanos()) {
            return new Refusal("registry.unavailable", "revocation view is stale: the registry was last read "
                    + (v == null ? "never" : TimeUnit.NANOSECONDS.toMillis(age) + " ms ago") + " (limit "
                    + maxStale.toMillis() + " ms): " + lastError + "; failing closed");
        }
        DeviceStatus status = v.devices().get(deviceId);
        if (status != null) {
            return new Refusal("device." + status.wireName(),
                    "device " + deviceId + ": expected status active, found " + status.wireName());
        }
        BarredCert cert = v.serials().get(serial);
        if (cert != null) {
            return cert.reason() == RevocationReason.certificateHold
                    ? new Refusal("cert.on_hold", "certificate " + serial.toString(16) + " is on hold since " + cert.revokedAt())
                    : new Refusal("cert.revoked", "certificate " + serial.toString(16) + " is revoked (" + cert.reason()
                    + ") since " + cert.revokedAt());
        }
        return null;
    }

    /**
     * One poll: reads the change count and, when it moved, reloads the view and tells the
     * listeners which devices became barred. Runs on the poller; public so a caller that has just
     * changed the registry itself can make the change effective at once.
     */
    public synchronized void refresh() {
        try {
            long count = registry.changeCount();
            View old = view;
            if (old == null || old.changeCount() != count) {
                View fresh = load(count);
                view = fresh;
                if (old != null) {
                    announce(old, fresh);
                }
            }
            long now = nanos.getAsLong();
            long down = now - readAt;
            readAt = now;
            if (failing) {
                failing = false;
                log.warn("revocation view: the registry is readable again; client certificates are checked again");
            }
            if (stale) {
                stale = false;
                tell(true, "the registry is readable again after " + TimeUnit.NANOSECONDS.toMillis(down)
                        + " ms without a read; client certificates are checked again");
            }
        } catch (RuntimeException e) {
            lastError = e.getMessage();
            if (!failing) {
                failing = true;
                log.warn("revocation view: cannot read the registry ({}); client certificates are refused after {} ms without a read",
                        e.getMessage(), maxStale.toMillis());
            }
            long age = nanos.getAsLong() - readAt;
            if (!stale && age > maxStale.toNanos()) {
                stale = true;
                tell(false, "the registry was last read " + (view == null ? "never" : TimeUnit.NANOSECONDS.toMillis(age) + " ms ago")
                        + " (limit " + maxStale.toMillis() + " ms): " + lastError
                        + "; every session on this gateway ends and every client certificate is refused");
            }
        }
    }

    private void tell(boolean available, String detail) {
        for (AvailabilityListener l : availability) {
            try {
                l.changed(available, detail);
            } catch (RuntimeException e) {
                log.warn("revocation view: the availability listener {} failed: {}", l, e.toString());
            }
        }
    }

    private View load(long count) {
        Map<BigInteger, BarredCert> serials = new HashMap<>();
        for (CertificateRecord c : registry.revokedCertificates(clock.instant())) {
            serials.put(c.serial(), new BarredCert(c.deviceId(), c.revocationReason(), c.revokedAt()));
        }
        return new View(count, Map.copyOf(serials), Map.copyOf(registry.barredDevices()));
    }

    private void announce(View old, View fresh) {
        Map<String, FlowEnd> newly = new LinkedHashMap<>();
        fresh.devices().forEach((id, status) -> {
            if (old.devices().get(id) != status) {
                newly.put(id, status == DeviceStatus.SUSPENDED ? FlowEnd.SUSPENDED : FlowEnd.REVOKED);
            }
        });
        fresh.serials().forEach((serial, cert) -> {
            // a renewal supersedes the old certificate; the device keeps its flows
            if (cert.deviceId() != null && cert.reason() != RevocationReason.superseded && !old.serials().containsKey(serial)) {
                newly.putIfAbsent(cert.deviceId(),
                        cert.reason() == RevocationReason.certificateHold ? FlowEnd.SUSPENDED : FlowEnd.REVOKED);
            }
        });
        newly.forEach((device, why) -> {
            log.info("device {} is barred ({}); ending its flows and lease", device, why.wireName());
            for (BarredListener l : listeners) {
                try {
                    l.barred(device, why);
                } catch (RuntimeException e) {
                    log.warn("barred-device listener {} failed for {}: {}", l, device, e.toString());
                }
            }
        });
    }

    /**
     * Closes the connections of a device as soon as it is barred, idle ones too: a connection with
     * no tunnel open would otherwise stay up, and the laptop would learn of its revocation only at
     * its next posture renewal. Only the connections whose certificate is now refused close (a
     * revoked old certificate leaves a connection made with its renewal alone). An HTTP/2
     * connection is told why first: a GOAWAY (NO_ERROR) whose debug data is
     * {@code postern-close: revoked} or {@code postern-close: suspended} (docs/gateway.md "Close
     * reasons"); its tunnels were ended before, each with its own reason.
     *
     * @param connections the tunnel listener's open connections (a live view)
     */
    public void closeBarredConnections(Iterable<? extends Channel> connections) {
        Objects.requireNonNull(connections, "connections");
        onBarred((device, why) -> {
            for (Channel ch : connections) {
                ClientIdentity id = ch.attr(ClientIdentity.KEY).get();
                if (id != null && id.deviceId().equals(device) && refusal(device, id.serial()) != null) {
                    closeSaying(ch, why);
                }
            }
        });
    }

    /**
     * Fail closed when the view goes stale: the gateway can no longer tell a revoked device from a
     * good one, so nothing of any device stays. In this order, so that each record says
     * {@code registry_unavailable} and each laptop hears it: every device connection (one with a
     * client certificate; EST and CRL connections carry no session) is told why — on HTTP/2 a
     * GOAWAY (NO_ERROR) with {@code postern-close: registry_unavailable}, so the agent moves on to
     * another gateway rather than ask this one again —, then {@code endSessions} ends every session
     * with its tunnels, VPN links and SSH sessions, then the connections close, idle ones too.
     * Refusing new handshakes needs nothing more: {@link #refusal} does it until a poll succeeds.
     *
     * @param connections a listener's open connections (a live view)
     * @param endSessions ends every session on the gateway (its flows and connections with it)
     */
    public void failClosed(Iterable<? extends Channel> connections, Runnable endSessions) {
        Objects.requireNonNull(connections, "connections");
        Objects.requireNonNull(endSessions, "endSessions");
        onAvailability((available, detail) -> {
            if (available) {
                return;
            }
            List<Channel> devices = new ArrayList<>();
            for (Channel ch : connections) {
                if (ch.attr(ClientIdentity.KEY).get() != null) {
                    devices.add(ch);
                }
            }
            // each connection's event loop runs its GOAWAY before the close that ending its session asks for
            devices.forEach(ch -> ch.eventLoop().execute(() -> goAway(ch, FlowEnd.REGISTRY_UNAVAILABLE)));
            endSessions.run();
            devices.forEach(ch -> ch.eventLoop().execute(ch::close));
        });
    }

    /** GOAWAY with the reason on an HTTP/2 connection, then close (at once: its tunnels are ended already). */
    static void closeSaying(Channel ch, FlowEnd why) {
        ch.eventLoop().execute(() -> {
            goAway(ch, why);
            ch.close();
        });
    }

    /** On the connection's event loop: a GOAWAY saying why, and no wait for its streams when it closes. */
    private static void goAway(Channel ch, FlowEnd why) {
        Http2FrameCodec h2 = ch.pipeline().get(Http2FrameCodec.class);
        if (h2 != null && ch.isActive()) {
            h2.gracefulShutdownTimeoutMillis(0);
            ch.writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR,
                    Unpooled.copiedBuffer(CLOSE_PREFIX + why.wireName(), StandardCharsets.US_ASCII)));
        }
    }

    /** The GOAWAY debug data's prefix; the same field name as a tunnel's close trailer. */
    static final String CLOSE_PREFIX = "postern-close: ";

    @Override
    public void close() {
        try {
            wakeUps.close();
        } catch (Exception e) {
            log.debug("revocation view: ending change notifications failed", e);
        }
        if (poller != null) {
            poller.shutdownNow();
        }
    }
}
