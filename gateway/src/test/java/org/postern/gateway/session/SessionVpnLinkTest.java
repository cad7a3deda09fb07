package org.postern.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** What the sessions list shows of a VPN session: its address(es) and transport; nothing for the others. */
class SessionVpnLinkTest {

    @Test
    void addresses_showIpv4ThenIpv6() {
        assertThat(new VpnLink(InetAddress.ofLiteral("100.64.0.7"), null, "h3").addresses()).isEqualTo("100.64.0.7");
        assertThat(new VpnLink(InetAddress.ofLiteral("100.64.0.7"), InetAddress.ofLiteral("fd00:7057::7"), "h2").addresses())
                .isEqualTo("100.64.0.7 fd00:7057::7");
    }

    @Test
    void transport_isH3OrH2() {
        assertThatThrownBy(() -> new VpnLink(InetAddress.ofLiteral("100.64.0.7"), null, "quic"))
                .hasMessage("VPN transport: expected h3 or h2, found \"quic\"");
    }

    @Test
    void sessionInfo_withoutVpn_hasNoAddressOrTransport() {
        SessionInfo i = new SessionInfo("s-1", "laptop-1", "alice", "192.0.2.1:5000", "tls", Instant.EPOCH, 1, 2, 3, null);
        assertThat(i.address()).isNull();
        assertThat(i.transport()).isNull();
    }
}
