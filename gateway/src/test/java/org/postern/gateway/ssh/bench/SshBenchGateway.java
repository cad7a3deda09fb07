package org.postern.gateway.ssh.bench;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.server.GatewayServer;
import org.postern.gateway.ssh.BenchDevice;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.ssh.SshKeys;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;

/**
 * For {@code bench/ssh/run.sh} (not a test): a gateway on loopback whose bastion may reach the
 * admin sshd on {@code ADMIN_PORT}, one enrolled compliant device of group {@code admins}, and its
 * SSH key and certificate from {@code POST /v1/ssh/certificate}. Writes {@code OUT/bastion.conf}
 * (an ssh_config {@code Host postern} block) and {@code OUT/known_hosts_bastion}, prints
 * {@code ready}, and runs until its standard input closes.
 *
 * <p>Usage: {@code SshBenchGateway OUT ADMIN_PORT BASTION_PORT PUBKEY_FILE}
 */
public final class SshBenchGateway {

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        int adminPort = Integer.parseInt(args[1]);
        int bastionPort = Integer.parseInt(args[2]);
        Path pubKey = Path.of(args[3]);
        try (TestPki pki = TestPki.create()) {
            GatewaySettings d = GatewaySettings.defaults();
            AccessRules rules = new AccessRules(List.of(new AccessRules.Rule("bench", List.of("admins"),
                    List.of(Destination.parse("127.0.0.1/32:" + adminPort)))));
            GatewaySettings settings = new GatewaySettings("gw-bench", pki.dataDir,
                    new GatewaySettings.Listeners(new HostPort("127.0.0.1", freePort()), new HostPort("127.0.0.1", org.postern.gateway.server.GatewayServerIT.freePort()), false,
                            new HostPort("127.0.0.1", bastionPort)),
                    d.tls(), PosturePolicy.defaults(), rules, d.limits(),
                    new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED,
                            DataSize.ofMiB(1), Duration.ofSeconds(60)),
                    GatewaySettings.Ssh.defaults(pki.dataDir));
            try (GatewayServer gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE))) {
                var added = pki.service.addDevice("bench-laptop", "bench", List.of("admins"), null, null, "bench");
                KeyPair keys = TestCsrs.p256();
                X509Certificate cert = pki.service.enroll("bench-laptop", added.token(), TestCsrs.body(keys, "bench-laptop"), "bench");
                BenchDevice device = new BenchDevice(gateway.address(), pki.ca.root(), "bench-laptop", keys, cert, pki.ca.chain());
                JsonNode decision = device.posture();
                if (!decision.get("compliant").asBoolean()) {
                    throw new IllegalStateException("bench device not compliant: " + decision);
                }
                String certLine = device.sshCertificate(Files.readString(pubKey));
                String base = pubKey.toString().substring(0, pubKey.toString().length() - ".pub".length());
                Files.writeString(Path.of(base + "-cert.pub"), certLine + "\n");
                InetSocketAddress b = gateway.bastion().address();
                Files.writeString(out.resolve("known_hosts_bastion"), "[127.0.0.1]:" + b.getPort() + " "
                        + PublicKeyEntry.toString(SshKeys.load(pki.dataDir.resolve("ssh/host.key")).getPublic()) + "\n");
                System.out.println("ready " + Instant.now());
                System.out.flush();
                System.in.read(new byte[1]); // until the script closes our standard input
            }
        }
    }

    private static int freePort() throws java.io.IOException {
        return org.postern.pki.testing.FreePorts.next();
    }

    private SshBenchGateway() {
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
