package org.postern.vpn.capsule;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * One capsule of the Capsule Protocol (RFC 9297 §3) as CONNECT-IP uses it (RFC 9484 §4.7). The
 * records validate in their compact constructors, so a capsule that exists is a well-formed one,
 * whether it was decoded from a peer or built to be sent.
 */
public sealed interface Capsule {
    long DATAGRAM = 0x00;
    long ADDRESS_ASSIGN = 0x01;
    long ADDRESS_REQUEST = 0x02;
    long ROUTE_ADVERTISEMENT = 0x03;

    /** The capsule type as it goes on the wire. */
    long type();

    /**
     * A DATAGRAM capsule (RFC 9297 §3.5): the HTTP datagram payload, which for CONNECT-IP is a
     * context id varint followed by data ({@link HttpDatagrams#readContextId}). The payload is a
     * reference-counted buffer (usually a slice of what the stream delivered): whoever holds the
     * capsule releases it once, through {@link #release()} or by passing the payload on.
     */
    record Datagram(ByteBuf payload) implements Capsule, ReferenceCounted {
        @Override
        public long type() {
            return DATAGRAM;
        }

        @Override
        public int refCnt() {
            return payload.refCnt();
        }

        @Override
        public Datagram retain() {
            payload.retain();
            return this;
        }

        @Override
        public Datagram retain(int increment) {
            payload.retain(increment);
            return this;
        }

        @Override
        public Datagram touch() {
            payload.touch();
            return this;
        }

        @Override
        public Datagram touch(Object hint) {
            payload.touch(hint);
            return this;
        }

        @Override
        public boolean release() {
            return payload.release();
        }

        @Override
        public boolean release(int decrement) {
            return payload.release(decrement);
        }
    }

    /**
     * ADDRESS_ASSIGN (RFC 9484 §4.7.1): the full set of addresses the sender assigns to its peer; an
     * empty list withdraws them all. An entry with request id 0 is unsolicited; a refusal of a
     * request is the all-zero address with the full prefix length (0.0.0.0/32, ::/128).
     */
    record AddressAssign(List<AddressEntry> addresses) implements Capsule {
        public AddressAssign {
            addresses = List.copyOf(addresses);
        }

        @Override
        public long type() {
            return ADDRESS_ASSIGN;
        }
    }

    /**
     * ADDRESS_REQUEST (RFC 9484 §4.7.2): one or more addresses asked for, each with a non-zero
     * request id; the all-zero address asks for any address of that family.
     */
    record AddressRequest(List<AddressEntry> addresses) implements Capsule {
        public AddressRequest {
            addresses = List.copyOf(addresses);
            if (addresses.isEmpty()) {
                throw new CapsuleException("ADDRESS_REQUEST: expected at least one requested address, found none");
            }
            for (AddressEntry entry : addresses) {
                if (entry.requestId() == 0) {
                    throw new CapsuleException("ADDRESS_REQUEST: expected a non-zero request id, found 0 for "
                            + entry.address().getHostAddress() + "/" + entry.prefixLength());
                }
            }
        }

        @Override
        public long type() {
            return ADDRESS_REQUEST;
        }
    }

    /**
     * ROUTE_ADVERTISEMENT (RFC 9484 §4.7.3): the full list of ranges the sender routes, superseding
     * earlier ones. The ranges must be ordered by IP version, then IP protocol, then address, and
     * must not overlap; a range for one protocol must not overlap a range for all protocols (0).
     */
    record RouteAdvertisement(List<IpAddressRange> ranges) implements Capsule {
        public RouteAdvertisement {
            ranges = List.copyOf(ranges);
            RouteOrder.check(ranges);
        }

        @Override
        public long type() {
            return ROUTE_ADVERTISEMENT;
        }
    }

    /** A capsule of a type this code does not know; RFC 9297 §3.2 says to skip it. */
    record Unknown(long type, byte[] bytes) implements Capsule {
        public Unknown {
            if (type >= DATAGRAM && type <= ROUTE_ADVERTISEMENT) {
                throw new IllegalArgumentException("capsule type " + type + " is known, not Unknown");
            }
            if (type < 0 || type > QuicVarint.MAX_VALUE) {
                throw new IllegalArgumentException("capsule type: expected at most 2^62-1, found " + type);
            }
            bytes = bytes.clone();
        }

        @Override
        public byte[] bytes() {
            return bytes.clone();
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Unknown u && u.type == type && Arrays.equals(u.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(type) * 31 + Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Unknown[type=0x" + Long.toHexString(type) + ", bytes=" + HexFormat.of().formatHex(bytes) + "]";
        }
    }
}
