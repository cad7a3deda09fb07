package org.postern.vpn.capsule;

import java.util.Arrays;
import java.util.List;

/** The ordering and overlap rules of RFC 9484 §4.7.3 for the ranges of one ROUTE_ADVERTISEMENT. */
final class RouteOrder {
    private RouteOrder() {
    }

    static void check(List<IpAddressRange> ranges) {
        for (int i = 1; i < ranges.size(); i++) {
            IpAddressRange a = ranges.get(i - 1);
            IpAddressRange b = ranges.get(i);
            if (a.ipVersion() > b.ipVersion()) {
                throw fail(i, a, b, "IPv4 ranges before IPv6 ranges");
            }
            if (a.ipVersion() == b.ipVersion()) {
                if (a.ipProtocol() > b.ipProtocol()) {
                    throw fail(i, a, b, "ranges of one IP version ordered by IP protocol");
                }
                if (a.ipProtocol() == b.ipProtocol()
                        && Arrays.compareUnsigned(a.end().getAddress(), b.start().getAddress()) >= 0) {
                    throw fail(i, a, b, "ranges of one version and protocol ordered by address and not overlapping");
                }
            }
        }
        checkNoOverlapWithAllProtocols(ranges);
    }

    /**
     * A range for one protocol must not overlap a range for all protocols of its version. The
     * all-protocol ranges of a version are contiguous and sorted, so a binary search finds the one
     * that could overlap.
     */
    private static void checkNoOverlapWithAllProtocols(List<IpAddressRange> ranges) {
        for (int version : new int[] {4, 6}) {
            int from = 0;
            while (from < ranges.size() && ranges.get(from).ipVersion() < version) {
                from++;
            }
            int to = from;
            while (to < ranges.size() && ranges.get(to).ipVersion() == version && ranges.get(to).ipProtocol() == 0) {
                to++;
            }
            if (to == from) {
                continue;
            }
            for (int i = to; i < ranges.size() && ranges.get(i).ipVersion() == version; i++) {
                IpAddressRange specific = ranges.get(i);
                int low = from;
                int high = to - 1;
                int candidate = -1;
                while (low <= high) {
                    int mid = (low + high) >>> 1;
                    if (Arrays.compareUnsigned(ranges.get(mid).start().getAddress(), specific.end().getAddress()) <= 0) {
                        candidate = mid;
                        low = mid + 1;
                    } else {
                        high = mid - 1;
                    }
                }
                if (candidate >= 0 && Arrays.compareUnsigned(
                        ranges.get(candidate).end().getAddress(), specific.start().getAddress()) >= 0) {
                    throw new CapsuleException("ROUTE_ADVERTISEMENT: expected a range for protocol "
                            + specific.ipProtocol() + " not to overlap a range for all protocols, found "
                            + specific + " inside " + ranges.get(candidate));
                }
            }
        }
    }

    private static CapsuleException fail(int index, IpAddressRange a, IpAddressRange b, String expected) {
        return new CapsuleException("ROUTE_ADVERTISEMENT: expected " + expected + ", found range " + (index - 1)
                + " (" + a + ") before range " + index + " (" + b + ")");
    }
}
