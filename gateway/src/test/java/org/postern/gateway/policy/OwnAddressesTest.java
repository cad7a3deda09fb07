package org.postern.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.AccessRules.Rule;
import org.postern.config.gateway.Destination;

/** Issue 11 item 2: an address the host gains after start is refused without a restart. */
class OwnAddressesTest {

    private static final Set<String> ADMINS = Set.of("admins");
    private static final AccessRules WIDE = new AccessRules(List.of(new Rule("wide", List.of("admins"),
            List.of(Destination.parse("0.0.0.0/0:1-65535"), Destination.parse("[::/0]:1-65535")))));

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    /** A host whose interfaces a test changes. */
    private static final class Host implements OwnAddresses.Source {
        final AtomicReference<Set<InetAddress>> addresses = new AtomicReference<>(Set.of(ip("10.0.0.2")));
        final AtomicInteger reads = new AtomicInteger();
        volatile boolean broken;

        @Override
        public Set<InetAddress> current() throws IOException {
            reads.incrementAndGet();
            if (broken) {
                throw new IOException("netlink: operation not permitted (test)");
            }
            return addresses.get();
        }

        void gain(String literal) {
            Set<InetAddress> next = new HashSet<>(addresses.get());
            next.add(ip(literal));
            addresses.set(Set.copyOf(next));
        }
    }

    private static AccessDecision decide(AccessPolicy p, String literal) {
        return p.decide(ADMINS, literal, 443, ip(literal));
    }

    @Test
    void addressGainedAfterStart_isRefusedAfterARefresh_withoutRestart() {
        Host host = new Host();
        OwnAddresses own = new OwnAddresses(host, Set.of());
        AccessPolicy policy = AccessPolicy.of(WIDE, new ForbiddenAddresses(own));
        assertThat(decide(policy, "172.17.0.1")).isEqualTo(new AccessDecision.Allowed("wide"));

        host.gain("172.17.0.1"); // docker0 comes up
        own.refresh();

        AccessDecision d = decide(policy, "172.17.0.1");
        assertThat(d).isInstanceOfSatisfying(AccessDecision.Denied.class, denied -> {
            assertThat(denied.reason()).isEqualTo(AccessDecision.FORBIDDEN_ADDRESS);
            assertThat(denied.detail()).contains("asked for 172.17.0.1:443, which is the gateway's own address");
        });
        // and its other forms: mapped, NAT64
        assertThat(decide(policy, "::ffff:172.17.0.1")).isInstanceOf(AccessDecision.Denied.class);
        assertThat(decide(policy, "64:ff9b::ac11:1")).isInstanceOf(AccessDecision.Denied.class);
    }

    @Test
    void refreshEvery_picksUpAGainedAddressOnItsOwn() throws Exception {
        Host host = new Host();
        OwnAddresses own = new OwnAddresses(host, Set.of());
        DestinationResolver resolver = new DestinationResolver(new ForbiddenAddresses(own),
                name -> List.of(ip("fd12:3456::1")));
        assertThat(resolver.resolve("vpn.example", 443)).isInstanceOf(DestinationResolver.Resolved.class);
        try (AutoCloseable timer = own.refreshEvery(Duration.ofMillis(20))) {
            host.gain("fd12:3456::1"); // a VPN interface comes up
            Awaitility.await().atMost(Duration.ofSeconds(5))
                    .until(() -> resolver.resolve("vpn.example", 443) instanceof DestinationResolver.Refused);
        }
        assertThat(resolver.resolve("vpn.example", 443)).isInstanceOfSatisfying(DestinationResolver.Refused.class,
                r -> assertThat(r.denial().detail()).contains("which is the gateway's own address"));
    }

    @Test
    void addressLost_isNoLongerOwn_butFixedAddressesStay() {
        Host host = new Host();
        OwnAddresses own = new OwnAddresses(host, Set.of(ip("192.0.2.10")));
        assertThat(own.contains(ip("10.0.0.2"))).isTrue();
        host.addresses.set(Set.of()); // renumbered away
        own.refresh();
        assertThat(own.contains(ip("10.0.0.2"))).isFalse();
        assertThat(own.contains(ip("192.0.2.10"))).as("the listen address is always own").isTrue();
    }

    @Test
    void failedRead_keepsTheLastGoodSet() {
        Host host = new Host();
        OwnAddresses own = new OwnAddresses(host, Set.of());
        host.broken = true;
        own.refresh();
        assertThat(host.reads).hasValue(2);
        assertThat(own.contains(ip("10.0.0.2"))).isTrue();
    }

    @Test
    void scopedAndMappedForms_areTheSameKey() throws Exception {
        OwnAddresses own = OwnAddresses.fixed(Set.of(ip("fe80::1%1"), ip("10.0.0.9")));
        assertThat(own.contains(ip("fe80::1"))).isTrue();
        assertThat(own.contains(ip("::ffff:10.0.0.9"))).isTrue();
    }

    @Test
    void refreshEvery_rejectsAZeroPeriod() {
        OwnAddresses own = OwnAddresses.fixed(Set.of());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> own.refreshEvery(Duration.ZERO))
                .hasMessage("expected a positive refresh period, found PT0S");
    }

    /** The real source: this machine's loopback and every interface address are refused by a catch-all rule. */
    @Test
    void realInterfaces_everyAddressOfThisHost_isRefused() throws Exception {
        OwnAddresses own = OwnAddresses.ofHost(Set.of());
        AccessPolicy policy = AccessPolicy.of(WIDE, new ForbiddenAddresses(own));
        List<InetAddress> all = NetworkInterface.networkInterfaces()
                .flatMap(NetworkInterface::inetAddresses).toList();
        assertThat(all).as("this host has at least its loopback address").contains(InetAddress.getLoopbackAddress());
        for (InetAddress a : all) {
            assertThat(own.contains(a)).as(a.toString()).isTrue();
            String literal = a.getHostAddress().replaceFirst("%.*$", "");
            assertThat(policy.decide(ADMINS, literal, 443, ip(literal))).as(literal)
                    .isInstanceOfSatisfying(AccessDecision.Denied.class,
                            d -> assertThat(d.reason()).isEqualTo(AccessDecision.FORBIDDEN_ADDRESS));
        }
    }
}
