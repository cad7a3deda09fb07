package org.postern.vpn.pool;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** A network prefix such as 100.64.0.0/16 or fd00:706f:7374::/64, with no host bits set. */
public record Cidr(InetAddress network, int prefixLength) {
    public Cidr {
        int bits = network.getAddress().length * 8;
        if (prefixLength < 0 || prefixLength > bits) {
            throw new IllegalArgumentException("prefix length: expected 0 to " + bits + ", found " + prefixLength);
        }
        BigInteger value = new BigInteger(1, network.getAddress());
        if (!value.shiftRight(bits - prefixLength).shiftLeft(bits - prefixLength).equals(value)) {
            throw new IllegalArgumentException("expected a network address with no host bits set, found "
                    + network.getHostAddress() + "/" + prefixLength);
        }
    }

    /**
     * Parses {@code text} as a CIDR for the setting {@code setting}, e.g. {@code vpn.pool}.
     *
     * @throws IllegalArgumentException naming the setting, what was expected and what was found
     */
    public static Cidr parse(String setting, String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException(setting + ": expected a CIDR like 100.64.0.0/16, found \"" + text + "\"");
        }
        String address = text.substring(0, slash);
        if (!address.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) {
            throw new IllegalArgumentException(setting + ": expected an IP address literal before the '/', found \""
                    + address + "\"");
        }
        try {
            return new Cidr(InetAddress.getByName(address), Integer.parseInt(text.substring(slash + 1)));
        } catch (UnknownHostException | NumberFormatException e) {
            throw new IllegalArgumentException(setting + ": expected a CIDR like 100.64.0.0/16, found \"" + text + "\"", e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(setting + ": " + e.getMessage(), e);
        }
    }

    /** The address {@code index} places after the network address. */
    InetAddress addressAt(long index) {
        byte[] bytes = network.getAddress();
        BigInteger value = new BigInteger(1, bytes).add(BigInteger.valueOf(index));
        byte[] raw = value.toByteArray();
        byte[] out = new byte[bytes.length];
        int copy = Math.min(raw.length, out.length);
        System.arraycopy(raw, raw.length - copy, out, out.length - copy, copy);
        try {
            return InetAddress.getByAddress(out);
        } catch (UnknownHostException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    /** The index of {@code address} after the network address, or -1 when it lies outside. */
    long indexOf(InetAddress address) {
        byte[] bytes = address.getAddress();
        if (bytes.length != network.getAddress().length) {
            return -1;
        }
        BigInteger offset = new BigInteger(1, bytes).subtract(new BigInteger(1, network.getAddress()));
        if (offset.signum() < 0 || offset.bitLength() > bytes.length * 8 - prefixLength) {
            return -1;
        }
        return offset.bitLength() > 62 ? Long.MAX_VALUE : offset.longValue();
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefixLength;
    }
}
