package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.postern.config.HostPort;
import org.postern.config.gateway.GatewaySettings;

class ListenerCheckTest {

    @Test
    void defaults_loopbackAdmin_tls13Only_onlyInfo() {
        List<Finding> f = new ListenerCheck(GatewaySettings.Listeners.defaults(), GatewaySettings.Tls.defaults()).run();
        assertThat(f).extracting(Finding::severity).containsOnly(Severity.INFO);
        assertThat(f).extracting(Finding::message).contains("listeners.admin 127.0.0.1:9443 is on loopback",
                "TLS 1.3 only on the tunnel and admin listeners");
    }

    @Test
    void adminOnEveryAddress_withUnsafeAdminOnNetwork_isCritical() {
        var listeners = new GatewaySettings.Listeners(new HostPort("0.0.0.0", 8443), new HostPort("0.0.0.0", 9443), true,
                new HostPort("127.0.0.1", 2222));
        List<Finding> f = new ListenerCheck(listeners, GatewaySettings.Tls.defaults()).run();
        Finding critical = Findings.only(f, Severity.CRITICAL);
        assertThat(critical.message()).isEqualTo("listeners.admin is 0.0.0.0:9443 (every address) with"
                + " listeners.unsafeAdminOnNetwork: true: the admin API and console face the network");
        assertThat(critical.fix()).contains("set listeners.admin to 127.0.0.1:9443");
        // the tunnel on every address is what it is for: an info
        assertThat(Findings.of(f, Severity.INFO)).extracting(Finding::message)
                .anyMatch(m -> m.startsWith("listeners.tunnel 0.0.0.0:8443 listens on every address"));
    }

    @Test
    void adminOnANetworkAddress_isCriticalToo() {
        var listeners = new GatewaySettings.Listeners(new HostPort("127.0.0.1", 8443), new HostPort("10.1.2.3", 9443), true);
        Finding critical = Findings.only(new ListenerCheck(listeners, GatewaySettings.Tls.defaults()).run(), Severity.CRITICAL);
        assertThat(critical.message()).startsWith("listeners.admin is 10.1.2.3:9443 with");
    }

    @Test
    void allowTls12_isWarning() {
        var tls = new GatewaySettings.Tls(null, null, GatewaySettings.Tls.Provider.AUTO, true);
        Finding w = Findings.only(new ListenerCheck(GatewaySettings.Listeners.defaults(), tls).run(), Severity.WARNING);
        assertThat(w.message()).startsWith("tls.allowTls12: true");
        assertThat(w.fix()).isEqualTo("remove tls.allowTls12 once every agent and client speaks TLS 1.3");
    }

    @Test
    void siemAllowTls12_isWarning() {
        Finding w = Findings.only(new ListenerCheck(GatewaySettings.Listeners.defaults(), GatewaySettings.Tls.defaults(), true)
                .run(), Severity.WARNING);
        assertThat(w.message()).isEqualTo("audit.siem.allowTls12: true: the audit trail may go to the SIEM over TLS 1.2"
                + " (AEAD suites only)");
    }

    @Test
    void sshOnIpv6Wildcard_isInfo() {
        var listeners = new GatewaySettings.Listeners(new HostPort("127.0.0.1", 8443), new HostPort("127.0.0.1", 9443), false,
                new HostPort("::", 2222));
        List<Finding> f = new ListenerCheck(listeners, GatewaySettings.Tls.defaults()).run();
        assertThat(f).extracting(Finding::severity).containsOnly(Severity.INFO);
        assertThat(f).extracting(Finding::message).anyMatch(m -> m.startsWith("listeners.ssh ") && m.contains("every address"));
    }
}
