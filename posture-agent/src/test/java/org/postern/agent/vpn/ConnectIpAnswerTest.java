package org.postern.agent.vpn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.agent.vpn.VpnEngineTest.ip;

import io.netty.channel.DefaultEventLoop;
import org.junit.jupiter.api.Test;
import org.postern.vpn.transport.IpLink;

class ConnectIpAnswerTest {

    @Test
    void answerHeaders_resolversAreIpLiteralsOnly_listsTrimmed() throws Exception {
        DefaultEventLoop loop = new DefaultEventLoop();
        try {
            FakeLink link = new FakeLink(IpLink.H2, loop, 0);
            java.util.Map<String, String> h = java.util.Map.of(
                    "postern-vpn-dns", " 10.88.0.5 ,fd00::53, dns.example.org,,",
                    "postern-vpn-search", "admin.internal, corp.internal");
            ConnectIpAnswer a = ConnectIpAnswer.of(link, loop, h::get);
            assertThat(a.dnsServers()).containsExactly(ip("10.88.0.5"), ip("fd00::53"));
            assertThat(a.searchDomains()).containsExactly("admin.internal", "corp.internal");
            ConnectIpAnswer none = ConnectIpAnswer.of(link, loop, name -> null);
            assertThat(none.dnsServers()).isEmpty();
            assertThat(none.searchDomains()).isEmpty();
        } finally {
            loop.shutdownGracefully().sync();
        }
    }
}
