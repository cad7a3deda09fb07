package org.postern.vpn.flow;

import java.time.Duration;

/**
 * How long a flow may stay silent before it ends, per protocol and TCP phase, and how long a denial
 * is remembered. The defaults follow Linux conntrack, shortened where a VPN session's flows are
 * interactive: TCP established 1 h (conntrack: 5 days; a laptop that sleeps should not hold flows
 * for days), TCP after RST or FIN both ways 10 s (conntrack CLOSE), TCP before the other side
 * answered 2 min (conntrack SYN_SENT), UDP 60 s (conntrack: 30 s unreplied, 120 s stream), ICMP
 * 30 s (conntrack), other protocols 60 s (conntrack generic: 600 s). A denial is remembered 30 s:
 * long enough that a retrying client does not reach the gate and the audit trail per packet, short
 * enough that a policy change or a device that becomes compliant is seen soon.
 */
public record FlowTimeouts(Duration tcpEstablished, Duration tcpClosed, Duration tcpHalfOpen, Duration udp,
        Duration icmp, Duration other, Duration denialMemory) {

    public FlowTimeouts {
        check("tcpEstablished", tcpEstablished);
        check("tcpClosed", tcpClosed);
        check("tcpHalfOpen", tcpHalfOpen);
        check("udp", udp);
        check("icmp", icmp);
        check("other", other);
        check("denialMemory", denialMemory);
    }

    /** The defaults described above. */
    public static FlowTimeouts defaults() {
        return new FlowTimeouts(Duration.ofHours(1), Duration.ofSeconds(10), Duration.ofMinutes(2),
                Duration.ofSeconds(60), Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(30));
    }

    private static void check(String name, Duration value) {
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException("flow timeout " + name + ": expected a positive duration, found " + value);
        }
    }
}
