package org.postern.gateway.policy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.postern.config.gateway.Network;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's own addresses as the host has them now: its interfaces' addresses (read from a
 * {@link Source}) plus fixed ones (the listen address). A host gains addresses while the gateway
 * runs (DHCP renumbering, {@code docker0}, a VPN interface), so the set is re-read by
 * {@link #refresh()}: every {@link #REFRESH} ({@link #refreshEvery}) and on each configuration
 * reload. Each read builds an immutable set swapped in whole, so a check per CONNECT is one hash
 * lookup and never waits for a read. A read that fails keeps the last good set.
 */
public final class OwnAddresses {
    private static final Logger log = LoggerFactory.getLogger(OwnAddresses.class);

    /** How often the running gateway re-reads its interfaces: an address gained is refused within this. */
    public static final Duration REFRESH = Duration.ofSeconds(2);

    /** Where the host's current addresses come from: its network interfaces in production, a set in tests. */
    @FunctionalInterface
    public interface Source {
        Set<InetAddress> current() throws IOException;
    }

    /** Every address of every interface of this host, up or down ({@link NetworkInterface}). */
    public static final Source INTERFACES = () -> {
        Set<InetAddress> all = new HashSet<>();
        for (NetworkInterface ni : NetworkInterface.networkInterfaces().toList()) {
            ni.inetAddresses().forEach(all::add);
        }
        return all;
    };

    private final Source source;
    private final Set<InetAddress> fixed;
    private final AtomicReference<Set<InetAddress>> current;

    /**
     * Reads {@code source} once now.
     *
     * @param fixed addresses always counted as own (the listen address), whatever the source says
     */
    public OwnAddresses(Source source, Set<InetAddress> fixed) {
        this.source = Objects.requireNonNull(source, "source");
        this.fixed = keys(Objects.requireNonNull(fixed, "fixed"));
        this.current = new AtomicReference<>(this.fixed);
        refresh();
    }

    /** This host's interfaces and {@code fixed}. */
    public static OwnAddresses ofHost(Set<InetAddress> fixed) {
        return new OwnAddresses(INTERFACES, fixed);
    }

    /** Exactly {@code addresses}, never re-read (tests, tools). */
    public static OwnAddresses fixed(Set<InetAddress> addresses) {
        return new OwnAddresses(Set::of, addresses);
    }

    /** Whether {@code address} (normalized, without a scope) is one of the gateway's own now. */
    public boolean contains(InetAddress address) {
        return current.get().contains(key(address));
    }

    /** The addresses counted as own now (normalized, without scopes). */
    public Set<InetAddress> current() {
        return current.get();
    }

    /**
     * Re-reads the source and swaps the new set in; when the read fails, logs it and keeps the
     * last good set (the addresses known stay refused).
     */
    public void refresh() {
        Set<InetAddress> read;
        try {
            read = Objects.requireNonNull(source.current(), "the address source answered null");
        } catch (IOException | RuntimeException e) {
            log.warn("cannot list the host's network interfaces; the gateway's own addresses stay {}: {}",
                    show(current.get()), e.toString());
            return;
        }
        Set<InetAddress> next = new HashSet<>(fixed);
        next.addAll(keys(read));
        Set<InetAddress> before = current.getAndSet(Set.copyOf(next));
        if (!before.equals(next)) {
            Set<InetAddress> gained = new HashSet<>(next);
            gained.removeAll(before);
            Set<InetAddress> lost = new HashSet<>(before);
            lost.removeAll(next);
            log.info("the gateway's own addresses changed: now refused {}, no longer own {}", show(gained), show(lost));
        }
    }

    /**
     * Refreshes every {@code period} on a daemon thread of its own until the returned handle is closed.
     */
    public AutoCloseable refreshEvery(Duration period) {
        if (period.isNegative() || period.isZero()) {
            throw new IllegalArgumentException("expected a positive refresh period, found " + period);
        }
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("own-addresses").daemon().factory());
        timer.scheduleWithFixedDelay(this::refresh, period.toNanos(), period.toNanos(), TimeUnit.NANOSECONDS);
        return timer::shutdownNow;
    }

    private static Set<InetAddress> keys(Set<InetAddress> addresses) {
        Set<InetAddress> out = new HashSet<>();
        for (InetAddress a : addresses) {
            out.add(key(a));
        }
        return Set.copyOf(out);
    }

    /** Normalized (IPv4-mapped to IPv4) and without an IPv6 scope, so fe80::1%eth0 and fe80::1 are one key. */
    private static InetAddress key(InetAddress address) {
        try {
            return InetAddress.getByAddress(Network.normalize(address).getAddress());
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes from an InetAddress are always valid
        }
    }

    private static String show(Set<InetAddress> addresses) {
        Set<String> sorted = new TreeSet<>();
        addresses.forEach(a -> sorted.add(a.getHostAddress()));
        return sorted.toString();
    }
}
