package org.postern.vpn.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TunMtuTest {

    @Test
    void fromUdpPayload_ethernetPaths_leaveRoomForIpv6() {
        TunMtu v4Path = TunMtu.fromUdpPayload(1472); // 1500 - 20 (IPv4) - 8 (UDP)
        assertThat(v4Path.mtu()).isEqualTo(1423);
        assertThat(v4Path.ipv6()).isTrue();
        assertThat(TunMtu.fromUdpPayload(1452).mtu()).isEqualTo(1403); // 1500 - 40 (IPv6) - 8
    }

    @Test
    void fromUdpPayload_quicMinimum_disablesIpv6AndSaysSo() {
        TunMtu mtu = TunMtu.fromUdpPayload(1200);
        assertThat(mtu.mtu()).isEqualTo(1151);
        assertThat(mtu.ipv6()).isFalse();
        assertThat(mtu.explanation()).endsWith("below IPv6's minimum of 1280, so IPv6 is disabled on the tunnel (IPv4 only)");
        assertThat(TunMtu.fromUdpPayload(1280 + 49).ipv6()).isTrue();
        assertThat(TunMtu.fromUdpPayload(1280 + 48).ipv6()).isFalse();
    }

    @Test
    void fromUdpPayload_tooSmallForIpv4_refused() {
        assertThatThrownBy(() -> TunMtu.fromUdpPayload(100))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("path UDP payload: expected at least 117 bytes to carry a 68-byte IPv4 packet after 49 bytes "
                        + "of QUIC overhead, found 100");
    }
}
