package org.postern.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Charter;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.config.posture.VersionNumber;
import org.postern.gateway.server.GatewayServer;
import org.postern.pki.ca.KeyProtection;

/** The demo's gateway: its settings on loopback and the two posture policies it runs under. */
final class DemoGateway {
    /** The administration's remote-work charter, version 1: every device must accept it before its first session. */
    static final Charter CHARTER = new Charter(1, """
            Remote-work charter of the Postern demo administration.
            I reach administration hosts only from this issued laptop, never from a shared or public place.
            I lock the laptop when I leave it, and I report its loss to IT security at once.
            My sessions are recorded in a signed audit trail that auditors read.
            """);

    private DemoGateway() {
    }

    /**
     * Starts the gateway with its tunnel and SSH bastion on the given ports, the same for every
     * start (the agent's settings name both), and its admin listener on a free port.
     */
    static GatewayServer start(Path dir, int tunnelPort, int bastionPort, PosturePolicy policy, AccessRules rules, KeyProtection protection)
            throws IOException, InterruptedException {
        GatewaySettings d = GatewaySettings.defaults();
        GatewaySettings settings = new GatewaySettings("demo-gateway", dir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", tunnelPort), new HostPort("127.0.0.1", DemoAdminHost.freePort()), false,
                        new HostPort("127.0.0.1", bastionPort)),
                d.tls(), policy, rules, d.limits(),
                new GatewaySettings.Audit(dir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED, DataSize.ofMiB(1), Duration.ofSeconds(60)));
        return GatewayServer.start(settings.withCharter(CHARTER), protection);
    }

    /** Enforce, and a minimum OS release no machine has: denied on any machine, with reasons. */
    static PosturePolicy strictPolicy() {
        PosturePolicy p = PosturePolicy.defaults();
        VersionNumber v99 = VersionNumber.parse("99");
        Map<String, VersionNumber> distributions = new java.util.LinkedHashMap<>();
        PosturePolicy.Linux.KNOWN_DISTRIBUTIONS.forEach(name -> distributions.put(name, v99));
        PosturePolicy.MinOs minOs = new PosturePolicy.MinOs(v99, v99, new PosturePolicy.Linux(PosturePolicy.Linux.DEFAULT_KERNEL, distributions));
        return new PosturePolicy("demo-strict", PosturePolicy.Mode.ENFORCE, p.lease(), true, minOs, p.maxDaysSinceUpdate(),
                p.maxSecurityPendingDays(), p.denyRebootRequired(), p.minAgentVersion(), p.minCertValidityDays(), p.evidenceSkew(),
                p.unsafeAllowUnknownPendingAge());
    }

    /** The default checks under the name "demo", enforced or report-only. */
    static PosturePolicy demoPolicy(PosturePolicy.Mode mode) {
        PosturePolicy p = PosturePolicy.defaults();
        return new PosturePolicy("demo", mode, p.lease(), p.requireDiskEncryption(), p.minOs(), p.maxDaysSinceUpdate(),
                p.maxSecurityPendingDays(), p.denyRebootRequired(), p.minAgentVersion(), p.minCertValidityDays(), p.evidenceSkew(),
                p.unsafeAllowUnknownPendingAge());
    }

    /** A gateway.yaml naming the running gateway's admin listener, for {@code postern gateway sessions --config}. */
    static Path yaml(Path dir, int tunnelPort, GatewayServer gateway) throws IOException {
        return Files.writeString(dir.resolve("gateway.yaml"), """
                gateway:
                  id: demo-gateway
                dataDir: %s
                listeners:
                  tunnel: 127.0.0.1:%d
                  admin: 127.0.0.1:%d
                  ssh: 127.0.0.1:%d
                """.formatted(dir, tunnelPort, gateway.adminAddress().getPort(), gateway.bastion().address().getPort()));
    }
}
