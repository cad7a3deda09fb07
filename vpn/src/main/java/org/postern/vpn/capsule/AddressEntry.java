package org.postern.vpn.capsule;

import java.net.InetAddress;

/**
 * One Assigned Address or Requested Address of RFC 9484 §4.7.1/§4.7.2: a request id, an address
 * whose family gives the IP version (4 or 6), and a prefix length up to the address's width whose
 * uncovered (host) bits are all zero.
 */
public record AddressEntry(long requestId, InetAddress address, int prefixLength) {
    public AddressEntry {
        if (requestId < 0 || requestId > QuicVarint.MAX_VALUE) {
            throw new CapsuleException("request id: expected 0 to 2^62-1, found " + requestId);
        }
        IpBytes.checkPrefix(address.getAddress(), prefixLength);
    }

    /** The entry that refuses request {@code requestId} of this family: 0.0.0.0/32 or ::/128. */
    public static AddressEntry refusal(long requestId, int ipVersion) {
        byte[] zero = new byte[IpBytes.width(ipVersion)];
        return new AddressEntry(requestId, IpBytes.toAddress(zero), zero.length * 8);
    }

    /** 4 or 6. */
    public int ipVersion() {
        return IpBytes.versionOf(address);
    }
}
