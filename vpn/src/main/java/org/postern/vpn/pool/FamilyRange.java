package org.postern.vpn.pool;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The assignable part of one prefix and who holds what in it. Index 0 (the network address,
 * IPv6's subnet-router anycast) and 1 (the gateway's own TUN address) are never assigned, nor the
 * IPv4 broadcast address. Not thread-safe: {@link AddressPool} locks around it.
 */
final class FamilyRange {
    /** IPv6 prefixes shorter than /96 are used for their first 2^32 addresses only. */
    private static final int MAX_HOST_BITS = 32;

    private final String setting;
    private final Cidr cidr;
    private final long firstIndex = 2;
    private final long endIndex; // exclusive
    private final Map<String, Long> byDevice = new HashMap<>();
    private final Map<Long, String> byIndex = new HashMap<>();
    private long cursor;

    FamilyRange(String setting, Cidr cidr) {
        this.setting = setting;
        this.cidr = cidr;
        int width = cidr.network().getAddress().length * 8;
        int hostBits = Math.min(width - cidr.prefixLength(), MAX_HOST_BITS);
        long addresses = 1L << hostBits;
        boolean ipv4 = width == 32;
        this.endIndex = ipv4 ? addresses - 1 : addresses;
        if (endIndex - firstIndex < 1) {
            throw new IllegalArgumentException(setting + ": expected a prefix with room for the gateway and at least "
                    + "one device (IPv4 /30, IPv6 /126 or wider), found " + cidr);
        }
        this.cursor = firstIndex;
    }

    long size() {
        return endIndex - firstIndex;
    }

    InetAddress gateway() {
        return cidr.addressAt(1);
    }

    @Nullable InetAddress held(String deviceId) {
        Long index = byDevice.get(deviceId);
        return index == null ? null : cidr.addressAt(index);
    }

    InetAddress assign(String deviceId) {
        Long held = byDevice.get(deviceId);
        if (held != null) {
            return cidr.addressAt(held);
        }
        if (byIndex.size() >= size()) {
            throw new AddressPoolException(setting + " " + cidr + " is exhausted: all " + size()
                    + " device addresses are held");
        }
        while (byIndex.containsKey(cursor)) {
            cursor = cursor + 1 >= endIndex ? firstIndex : cursor + 1;
        }
        take(deviceId, cursor);
        return cidr.addressAt(cursor);
    }

    InetAddress assignRequested(String deviceId, InetAddress requested) {
        long index = cidr.indexOf(requested);
        if (index < 0 || index >= endIndex) {
            String why = index < 0 ? "is outside "
                    : cidr.network().getAddress().length == 4 ? "is the broadcast address of "
                    : "lies beyond the first 2^32 addresses used of ";
            throw new AddressPoolException("requested " + requested.getHostAddress() + " " + why + setting + " " + cidr);
        }
        if (index < firstIndex) {
            throw new AddressPoolException("requested " + requested.getHostAddress() + " is reserved in " + setting
                    + " " + cidr + " (" + (index == 0 ? "network address" : "the gateway's address") + ")");
        }
        String holder = byIndex.get(index);
        if (holder != null && !holder.equals(deviceId)) {
            throw new AddressPoolException("requested " + requested.getHostAddress() + " is held by another device");
        }
        release(deviceId);
        take(deviceId, index);
        return requested;
    }

    void release(String deviceId) {
        Long index = byDevice.remove(deviceId);
        if (index != null) {
            byIndex.remove(index);
        }
    }

    Optional<String> owner(InetAddress address) {
        long index = cidr.indexOf(address);
        return index < 0 ? Optional.empty() : Optional.ofNullable(byIndex.get(index));
    }

    boolean contains(InetAddress address) {
        return cidr.indexOf(address) >= 0;
    }

    private void take(String deviceId, long index) {
        byDevice.put(deviceId, index);
        byIndex.put(index, deviceId);
    }

    @Override
    public String toString() {
        return setting + " " + cidr;
    }
}
