package org.postern.vpn.pool;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The addresses the gateway assigns to VPN devices: one IPv4 address per device from {@code
 * vpn.pool} and, when {@code vpn.pool6} is set, one IPv6 address from that prefix. A device that
 * asks again gets the address it holds; no two devices ever hold one address. The network address,
 * the IPv4 broadcast address and the first address after the network (the gateway's own TUN
 * address, {@link #gatewayAddress()}) are never assigned. Addresses are handed out next-fit, so a
 * released address is reused only after the others, which keeps a reconnecting laptop's old
 * address from reaching another device at once.
 *
 * <p>Thread-safe: one lock; assignments happen once per session, not per packet.
 */
public final class AddressPool {
    private final FamilyRange ipv4;
    private final @Nullable FamilyRange ipv6;

    /**
     * @param pool an IPv4 prefix, e.g. 100.64.0.0/16 ({@code vpn.pool})
     * @param pool6 an optional IPv6 prefix, e.g. fd00:706f:7374::/64 ({@code vpn.pool6})
     * @throws IllegalArgumentException when a prefix is of the wrong family or too small
     */
    public AddressPool(Cidr pool, @Nullable Cidr pool6) {
        if (!(pool.network() instanceof Inet4Address)) {
            throw new IllegalArgumentException("vpn.pool: expected an IPv4 prefix, found " + pool);
        }
        if (pool6 != null && !(pool6.network() instanceof Inet6Address)) {
            throw new IllegalArgumentException("vpn.pool6: expected an IPv6 prefix, found " + pool6);
        }
        this.ipv4 = new FamilyRange("vpn.pool", pool);
        this.ipv6 = pool6 == null ? null : new FamilyRange("vpn.pool6", pool6);
    }

    /** Parses the settings' texts ({@link Cidr#parse}) and builds the pool. */
    public static AddressPool of(String pool, @Nullable String pool6) {
        return new AddressPool(Cidr.parse("vpn.pool", pool), pool6 == null ? null : Cidr.parse("vpn.pool6", pool6));
    }

    /** The gateway's own IPv4 address in the pool: the first after the network address. */
    public Inet4Address gatewayAddress() {
        return (Inet4Address) ipv4.gateway();
    }

    /** The gateway's own IPv6 address, when the pool has an IPv6 prefix. */
    public Optional<Inet6Address> gatewayAddress6() {
        return ipv6 == null ? Optional.empty() : Optional.of((Inet6Address) ipv6.gateway());
    }

    /** How many devices the IPv4 prefix can hold at once. */
    public long size() {
        return ipv4.size();
    }

    /**
     * The device's lease: the addresses it already holds, or new ones.
     *
     * @throws AddressPoolException when the pool is exhausted (naming it and its size)
     */
    public synchronized Lease assign(String deviceId) {
        InetAddress v4 = ipv4.assign(deviceId);
        InetAddress v6;
        try {
            v6 = ipv6 == null ? null : ipv6.assign(deviceId);
        } catch (AddressPoolException exhausted) {
            ipv4.release(deviceId);
            throw exhausted;
        }
        return new Lease(deviceId, (Inet4Address) v4, (Inet6Address) v6);
    }

    /**
     * The device's lease with {@code requested} (an ADDRESS_REQUEST's specific address) in place of
     * the address of that family it would otherwise get.
     *
     * @throws AddressPoolException when the address is outside the pool, reserved or held by another
     *     device, or when the family has no pool (the device's lease is then unchanged), or when
     *     the pool is exhausted (the device then holds nothing)
     */
    public synchronized Lease assign(String deviceId, InetAddress requested) {
        FamilyRange range = requested instanceof Inet4Address ? ipv4 : ipv6;
        if (range == null) {
            throw new AddressPoolException("requested " + requested.getHostAddress()
                    + " but vpn.pool6 is not set: no IPv6 addresses are assigned");
        }
        range.assignRequested(deviceId, requested);
        return assign(deviceId);
    }

    /** The device's current lease, if it holds one. */
    public synchronized Optional<Lease> lease(String deviceId) {
        InetAddress v4 = ipv4.held(deviceId);
        if (v4 == null) {
            return Optional.empty();
        }
        InetAddress v6 = ipv6 == null ? null : ipv6.held(deviceId);
        return Optional.of(new Lease(deviceId, (Inet4Address) v4, (Inet6Address) v6));
    }

    /** Gives back every address the device holds; nothing happens if it holds none. */
    public synchronized void release(String deviceId) {
        ipv4.release(deviceId);
        if (ipv6 != null) {
            ipv6.release(deviceId);
        }
    }

    /** The device that holds {@code address}, if any. */
    public synchronized Optional<String> owner(InetAddress address) {
        FamilyRange range = address instanceof Inet4Address ? ipv4 : ipv6;
        return range == null ? Optional.empty() : range.owner(address);
    }

    /** Whether {@code address} lies in one of the pool's prefixes (held or not, reserved or not). */
    public boolean contains(InetAddress address) {
        FamilyRange range = address instanceof Inet4Address ? ipv4 : ipv6;
        return range != null && range.contains(address);
    }

    @Override
    public String toString() {
        return ipv6 == null ? ipv4.toString() : ipv4 + ", " + ipv6;
    }
}
