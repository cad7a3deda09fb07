package org.postern.gateway.audit.siem;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.server.GatewayServer;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.testing.TestPki;

/** {@code audit.siem} in the gateway's settings: the running gateway forwards its trail. */
class GatewaySiemIT {
    @TempDir
    Path tmp;

    @Test
    void gatewayWithSiemSettings_forwardsItsTrailToRsyslog() throws Exception {
        try (TestPki pki = TestPki.create();
             RsyslogCollector collector = RsyslogCollector.withCertificateFrom(pki, tmp.resolve("rsyslog"))) {
            collector.start();
            GatewaySettings d = GatewaySettings.defaults();
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path trail = pki.dataDir.resolve("audit/trail");
            GatewaySettings.Siem siem = new GatewaySettings.Siem(new HostPort("127.0.0.1", collector.port), pki.chainFile(),
                    null, null, "postern", GatewaySettings.Siem.Facility.LOCAL4, trail.resolveSibling("siem.cursor"), false);
            GatewaySettings settings = new GatewaySettings("gw-siem", pki.dataDir,
                    new GatewaySettings.Listeners(new HostPort("127.0.0.1", port), d.listeners().admin(), false),
                    d.tls(), d.posture(), d.access(), d.limits(),
                    new GatewaySettings.Audit(trail, GatewaySettings.Audit.FailMode.CLOSED, DataSize.ofMiB(1),
                            Duration.ofSeconds(60), siem));
            try (GatewayServer gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE))) {
                // starting, the gateway issues itself a server certificate: a pki.issue record in its trail
                Awaitility.await("the gateway's pki.issue record at the collector").atMost(Duration.ofSeconds(30))
                        .until(() -> collector.lines().stream().anyMatch(l -> l.startsWith("pki.issue [postern@32473 seq=\"1\"")));
            }
            assertThat(collector.lines().getFirst()).contains("\"gateway\":\"gw-siem\"");
        }
    }
}
