package org.postern.gateway.relay.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.server.GatewayServer;
import org.postern.gateway.server.GatewayServerIT;
import org.postern.gateway.ssh.BenchDevice;
import org.postern.pki.ca.KeyProtection;
import org.postern.keys.Pem;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;

/**
 * For {@code bench/tunnel/run.sh} (not a test): a gateway on loopback {@code PORT} with a fresh
 * test PKI, a report-only policy with a 24 h lease, one access rule (group {@code admins} to
 * {@code 127.0.0.1/32:1024-65535}) and limits raised for 5,000 idle tunnels from one address.
 * One device ({@code bench-laptop}) is enrolled here and holds a lease; a second
 * ({@code bench-agent}) is left pending for {@code postern-agent enroll}. Writes to {@code OUT}:
 * {@code root.pem}, {@code root.sha256}, {@code device.crt} (leaf and chain), {@code device.key},
 * {@code server.crt}/{@code server.key} (a 127.0.0.1 server certificate for stunnel, same CA, P-256)
 * and {@code agent.token}; with {@code LAPTOPS} > 0 also {@code laptops/laptop-NNN.crt} (leaf and
 * chain) and {@code .key} for that many more devices ({@code laptop-001} …, group {@code admins}),
 * enrolled here but without a posture decision: {@code LaptopLoad} proves each one's posture
 * itself, as an agent would. Prints {@code ready}, and runs until its standard input closes.
 *
 * <p>Usage: {@code TunnelBenchGateway OUT PORT [LAPTOPS]}
 */
public final class TunnelBenchGateway {

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        int port = Integer.parseInt(args[1]);
        int laptops = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        try (TestPki pki = TestPki.create()) {
            GatewaySettings d = GatewaySettings.defaults();
            AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("bench", List.of("admins"),
                    List.of(Destination.parse("127.0.0.1/32:1024-65535")))));
            PosturePolicy p = PosturePolicy.defaults();
            PosturePolicy policy = new PosturePolicy("bench-report-only", PosturePolicy.Mode.REPORT_ONLY, Duration.ofHours(24),
                    p.requireDiskEncryption(), p.minOs(), p.maxDaysSinceUpdate(), p.maxSecurityPendingDays(), p.denyRebootRequired(),
                    p.minAgentVersion(), p.minCertValidityDays(), p.evidenceSkew(), p.unsafeAllowUnknownPendingAge());
            GatewaySettings.Limits l = d.limits();
            GatewaySettings.Limits limits = new GatewaySettings.Limits(l.headerSize(), l.headerTime(), Duration.ofHours(1),
                    l.streamsPerConnection(), 20_000, 10_000);
            GatewaySettings settings = new GatewaySettings("gw-bench", pki.dataDir,
                    new GatewaySettings.Listeners(new HostPort("127.0.0.1", port), new HostPort("127.0.0.1", GatewayServerIT.freePort()),
                            false, new HostPort("127.0.0.1", GatewayServerIT.freePort())),
                    d.tls(), policy, rules, limits,
                    new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED,
                            DataSize.ofMiB(1), Duration.ofSeconds(60)));
            try (GatewayServer gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE))) {
                var added = pki.service.addDevice("bench-laptop", "bench", List.of("admins"), null, null, "bench");
                KeyPair keys = TestCsrs.p256();
                X509Certificate cert = pki.service.enroll("bench-laptop", added.token(), TestCsrs.body(keys, "bench-laptop"), "bench");
                BenchDevice device = new BenchDevice(gateway.address(), pki.ca.root(), "bench-laptop", keys, cert, pki.ca.chain());
                JsonNode decision = device.posture();
                if (!decision.get("compliant").asBoolean()) {
                    throw new IllegalStateException("bench device not compliant: " + decision);
                }
                List<Object> leafAndChain = new ArrayList<>();
                leafAndChain.add(cert);
                leafAndChain.addAll(pki.ca.chain());
                Files.writeString(out.resolve("device.crt"), Pem.encodeAll(leafAndChain));
                TestPki.writePem(out.resolve("device.key"), keys.getPrivate());
                TestPki.writePem(out.resolve("root.pem"), pki.ca.root());
                Files.writeString(out.resolve("root.sha256"), pki.ca.rootSha256() + "\n");
                pki.service.issueServer(List.of(), List.of("127.0.0.1"), "bench").writeTo(out, "server", pki.ca.chain());
                var agent = pki.service.addDevice("bench-agent", "bench", List.of("admins"), null, null, "bench");
                Files.writeString(out.resolve("agent.token"), agent.token().reveal() + "\n");
                issueLaptops(pki, out.resolve("laptops"), laptops);
                System.out.println("ready " + Instant.now() + " pid " + ProcessHandle.current().pid());
                System.out.flush();
                System.in.read(new byte[1]); // until the script closes our standard input
            }
        }
    }

    /** Enrolls {@code count} devices through the registry (token, CSR, certificate) and writes their keys. */
    private static void issueLaptops(TestPki pki, Path dir, int count) throws Exception {
        if (count <= 0) {
            return;
        }
        Files.createDirectories(dir);
        TestPki.writePem(dir.resolve("root.pem"), pki.ca.root());
        for (int i = 1; i <= count; i++) {
            String id = String.format(Locale.ROOT, "laptop-%03d", i);
            var added = pki.service.addDevice(id, "bench", List.of("admins"), null, null, "bench");
            KeyPair keys = TestCsrs.p256();
            X509Certificate cert = pki.service.enroll(id, added.token(), TestCsrs.body(keys, id), "bench");
            List<Object> leafAndChain = new ArrayList<>();
            leafAndChain.add(cert);
            leafAndChain.addAll(pki.ca.chain());
            Files.writeString(dir.resolve(id + ".crt"), Pem.encodeAll(leafAndChain));
            TestPki.writePem(dir.resolve(id + ".key"), keys.getPrivate());
        }
    }

    private TunnelBenchGateway() {
    }
}
