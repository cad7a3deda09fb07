package org.postern.vpn.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AddressPoolTest {

    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    @Test
    void gatewayAddress_isTheFirstAfterTheNetwork_andNeverAssigned() throws Exception {
        AddressPool pool = AddressPool.of("100.64.0.0/16", "fd00:706f:7374::/64");
        assertThat(pool.gatewayAddress()).isEqualTo(ip("100.64.0.1"));
        assertThat(pool.gatewayAddress6()).contains((java.net.Inet6Address) ip("fd00:706f:7374::1"));
        Lease lease = pool.assign("laptop-1");
        assertThat(lease.ipv4()).isEqualTo(ip("100.64.0.2"));
        assertThat(lease.ipv6()).isEqualTo(ip("fd00:706f:7374::2"));
        assertThat(pool.size()).isEqualTo(65_533);
    }

    @Test
    void assign_sameDeviceAgain_getsTheSameAddress() {
        AddressPool pool = AddressPool.of("100.64.0.0/24", null);
        Lease first = pool.assign("laptop-1");
        pool.assign("laptop-2");
        assertThat(pool.assign("laptop-1")).isEqualTo(first);
        assertThat(first.ipv6()).isNull();
        assertThat(pool.lease("laptop-1")).contains(first);
        assertThat(pool.owner(first.ipv4())).contains("laptop-1");
    }

    @Test
    void slash30_holdsOneDevice_thenIsExhausted_andReusesAReleasedAddress() throws Exception {
        AddressPool pool = AddressPool.of("10.9.0.0/30", null);
        assertThat(pool.size()).isEqualTo(1);
        assertThat(pool.assign("a").ipv4()).isEqualTo(ip("10.9.0.2"));
        assertThatThrownBy(() -> pool.assign("b"))
                .isInstanceOf(AddressPoolException.class)
                .hasMessage("vpn.pool 10.9.0.0/30 is exhausted: all 1 device addresses are held");
        pool.release("a");
        assertThat(pool.owner(ip("10.9.0.2"))).isEmpty();
        assertThat(pool.assign("b").ipv4()).isEqualTo(ip("10.9.0.2"));
    }

    @Test
    void tooSmallOrWrongFamilyOrBadText_isRefusedAtStartup() {
        assertThatThrownBy(() -> AddressPool.of("10.9.0.0/31", null))
                .hasMessage("vpn.pool: expected a prefix with room for the gateway and at least one device "
                        + "(IPv4 /30, IPv6 /126 or wider), found 10.9.0.0/31");
        assertThatThrownBy(() -> AddressPool.of("fd00::/64", null))
                .hasMessage("vpn.pool: expected an IPv4 prefix, found fd00:0:0:0:0:0:0:0/64");
        assertThatThrownBy(() -> AddressPool.of("100.64.0.0", null))
                .hasMessage("vpn.pool: expected a CIDR like 100.64.0.0/16, found \"100.64.0.0\"");
        assertThatThrownBy(() -> AddressPool.of("100.64.1.0/16", null))
                .hasMessage("vpn.pool: expected a network address with no host bits set, found 100.64.1.0/16");
        assertThatThrownBy(() -> AddressPool.of("vpn.example/16", null))
                .hasMessage("vpn.pool: expected an IP address literal before the '/', found \"vpn.example\"");
        assertThatThrownBy(() -> AddressPool.of("100.64.0.0/16", "fd00::/200"))
                .hasMessage("vpn.pool6: prefix length: expected 0 to 128, found 200");
    }

    @Test
    void assignRequested_freeInsidePool_isHonoured_andReplacesTheOldAddress() throws Exception {
        AddressPool pool = AddressPool.of("100.64.0.0/24", "fd00:706f:7374::/64");
        pool.assign("laptop-1");
        Lease lease = pool.assign("laptop-1", ip("100.64.0.77"));
        assertThat(lease.ipv4()).isEqualTo(ip("100.64.0.77"));
        assertThat(pool.owner(ip("100.64.0.2"))).isEmpty();
        Lease six = pool.assign("laptop-1", ip("fd00:706f:7374::abcd"));
        assertThat(six.ipv6()).isEqualTo(ip("fd00:706f:7374::abcd"));
        assertThat(six.ipv4()).isEqualTo(ip("100.64.0.77"));
    }

    @Test
    void assignRequested_outsideReservedOrTaken_isRefusedClearly() throws Exception {
        AddressPool pool = AddressPool.of("100.64.0.0/24", null);
        pool.assign("other");
        Lease before = pool.assign("laptop-1");
        assertThatThrownBy(() -> pool.assign("laptop-1", ip("10.0.0.5")))
                .isInstanceOf(AddressPoolException.class)
                .hasMessage("requested 10.0.0.5 is outside vpn.pool 100.64.0.0/24");
        assertThatThrownBy(() -> pool.assign("laptop-1", ip("100.64.0.1")))
                .hasMessage("requested 100.64.0.1 is reserved in vpn.pool 100.64.0.0/24 (the gateway's address)");
        assertThatThrownBy(() -> pool.assign("laptop-1", ip("100.64.0.0")))
                .hasMessage("requested 100.64.0.0 is reserved in vpn.pool 100.64.0.0/24 (network address)");
        assertThatThrownBy(() -> pool.assign("laptop-1", ip("100.64.0.255")))
                .hasMessage("requested 100.64.0.255 is the broadcast address of vpn.pool 100.64.0.0/24");
        assertThatThrownBy(() -> pool.assign("laptop-1", ip("100.64.0.2")))
                .hasMessage("requested 100.64.0.2 is held by another device");
        assertThatThrownBy(() -> pool.assign("laptop-1", ip("fd00::2")))
                .hasMessage("requested fd00:0:0:0:0:0:0:2 but vpn.pool6 is not set: no IPv6 addresses are assigned");
        assertThat(pool.lease("laptop-1")).contains(before);
    }

    @Test
    void thousandDevices_fromEightThreads_neverShareAnAddress_andReleasesAreReused() throws Exception {
        AddressPool pool = AddressPool.of("100.64.0.0/22", "fd00:706f:7374::/64"); // 1021 device addresses
        Set<InetAddress> seen = ConcurrentHashMap.newKeySet();
        ExecutorService threads = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                work.add(threads.submit(() -> {
                    for (int i = thread; i < 1000; i += 8) {
                        Lease lease = pool.assign("device-" + i);
                        assertThat(seen.add(lease.ipv4())).as("IPv4 unique").isTrue();
                        assertThat(seen.add(lease.ipv6())).as("IPv6 unique").isTrue();
                    }
                }));
            }
            for (Future<?> future : work) {
                future.get(30, TimeUnit.SECONDS);
            }
            assertThat(seen).hasSize(2000);
            assertThat(seen).doesNotContain(ip("100.64.0.0"), ip("100.64.0.1"), ip("100.64.3.255"), ip("fd00:706f:7374::1"));

            work.clear();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                work.add(threads.submit(() -> {
                    for (int i = thread; i < 1000; i += 8) {
                        if (i % 2 == 0) {
                            pool.release("device-" + i);
                        }
                    }
                }));
            }
            for (Future<?> future : work) {
                future.get(30, TimeUnit.SECONDS);
            }
        } finally {
            threads.shutdownNow();
        }
        Set<InetAddress> second = new HashSet<>();
        for (int i = 0; i < 521; i++) {
            second.add(pool.assign("new-" + i).ipv4());
        }
        assertThat(second).hasSize(521);
        for (int i = 1; i < 1000; i += 2) {
            assertThat(second).doesNotContain(pool.lease("device-" + i).orElseThrow().ipv4());
        }
        assertThatThrownBy(() -> pool.assign("one-too-many"))
                .hasMessage("vpn.pool 100.64.0.0/22 is exhausted: all 1021 device addresses are held");
    }
}
