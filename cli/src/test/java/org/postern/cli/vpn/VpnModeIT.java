package org.postern.cli.vpn;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The VPN mode end to end in three network namespaces: real gateway, real agent, real clients. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VpnModeIT {

    static final String GATEWAY_BODY = """
            posture:
              mode: report-only
              lease: 1m
            access:
              rules:
                - name: admins-web-ssh
                  groups: [admins]
                  to: ["%1$s:8080", "%1$s:22", "%1$s:5201"]
                - name: admins-dns-iperf-udp
                  groups: [admins]
                  to: ["%1$s:53", "%1$s:5201"]
                  protocols: [udp]
                - name: admins-ping
                  groups: [admins]
                  to: ["%1$s:1"]
                  protocols: [icmp]
            vpn:
              enabled: true
              pool: 100.64.0.0/16
              dns: [%1$s]
              searchDomains: [admin.internal]
            """.formatted(VpnLab.ADMIN_HOST);

    VpnLab lab;
    VpnInstall install;

    @BeforeAll
    void start() throws Exception {
        Path work = Files.createTempDirectory("vpn-mode");
        lab = VpnLab.create(work);
        install = new VpnInstall(lab);
        lab.startAdmin();
        String token = install.initAndRegister("laptop-vpn", "alice", "admins");
        install.startGateway(GATEWAY_BODY);
        install.enroll(token);
    }

    @AfterAll
    void stop() throws Exception {
        if (install != null) {
            install.close();
        }
        if (lab != null) {
            lab.close();
        }
    }

    @Test
    void agentUp_getsItsLeaseThroughTheLab() throws Exception {
        install.startAgent("");
        install.awaitAgent("posture NOT compliant, allowed (report-only)", Duration.ofSeconds(120));
    }
}
