package org.postern.gateway.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.sshd.common.config.keys.PublicKeyEntry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.server.GatewayServer;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.ssh.SshKeys;
import org.postern.pki.ssh.SshUserCa;
import org.postern.pki.testing.Proc;
import org.postern.pki.testing.TestCsrs;
import org.postern.pki.testing.TestPki;

/**
 * The bastion with real OpenSSH: the gateway (TLS listener and bastion) on loopback, a real
 * {@code sshd} started here as the admin host, and {@code ssh}/{@code scp} with a configuration
 * file the way {@code postern-agent ssh-config} writes one. Devices prove their posture and get
 * their SSH certificates over mTLS from {@code POST /v1/ssh/certificate}.
 */
class SshBastionIT {

    static final ObjectMapper JSON = new ObjectMapper();

    static TestPki pki;
    static GatewayServer gateway;
    static DeviceClient.Gateway gw;
    static Path work;
    static Process sshd;
    static int sshdPort;
    static Path adminUserKey;
    static Path knownHosts;
    static AccessRules rules;
    /** The gateway's clock: the system's, moved ahead by a test (remote-work hours) and back. */
    static final ShiftedClock clock = new ShiftedClock();
    /** When the window of the rule office-ssh (group office, remote-work hours) closes: 10 minutes after start. */
    static Instant officeWindowEnd;

    /** The system clock plus an offset a test sets: real time passes, and a test can jump ahead. */
    static final class ShiftedClock extends java.time.Clock {
        volatile Duration offset = Duration.ZERO;

        @Override
        public Instant instant() {
            return Instant.now().plus(offset);
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public java.time.Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }

    @BeforeAll
    static void start() throws Exception {
        for (String tool : new String[] {"/usr/bin/ssh", "/usr/bin/scp", "/usr/bin/ssh-keygen", "/usr/sbin/sshd"}) {
            assertThat(Path.of(tool)).as("this test drives %s: install openssh-client and openssh-server", tool).exists();
        }
        pki = TestPki.create();
        work = pki.workDir("ssh");
        sshdPort = freePort();
        int bastionPort = freePort();
        // remote-work hours: office-ssh is open today from 00:00 (UTC) to the minute 10 minutes from now
        java.time.ZonedDateTime end = Instant.now().plus(Duration.ofMinutes(11)).atZone(java.time.ZoneOffset.UTC)
                .truncatedTo(java.time.temporal.ChronoUnit.MINUTES);
        officeWindowEnd = end.toInstant();
        assertThat(end.toLocalDate()).as("the window must not cross midnight: run this test before 23:45 UTC")
                .isEqualTo(java.time.LocalDate.now(java.time.ZoneOffset.UTC));
        org.postern.config.gateway.Hours today = new org.postern.config.gateway.Hours(List.of(
                new org.postern.config.gateway.Hours.Window(java.util.EnumSet.of(end.getDayOfWeek()), 0,
                        end.getHour() * 60 + end.getMinute())), java.util.Set.of());
        rules = new AccessRules(List.of(new AccessRules.Rule("admins-ssh", List.of("admins"),
                List.of(Destination.parse("127.0.0.1/32:" + sshdPort))),
                new AccessRules.Rule("office-ssh", List.of("office"), List.of(Destination.parse("127.0.0.1/32:" + sshdPort)),
                        AccessRules.Rule.DEFAULT_PROTOCOLS, today),
                // night-ssh: open only 00:00-00:01 UTC today, so closed while this test runs
                new AccessRules.Rule("night-ssh", List.of("night"), List.of(Destination.parse("127.0.0.1/32:" + sshdPort)),
                        AccessRules.Rule.DEFAULT_PROTOCOLS, new org.postern.config.gateway.Hours(List.of(
                                new org.postern.config.gateway.Hours.Window(java.util.EnumSet.of(end.getDayOfWeek()), 0, 1)),
                        java.util.Set.of()))), java.time.ZoneId.of("UTC"), true);
        GatewaySettings d = GatewaySettings.defaults();
        GatewaySettings settings = new GatewaySettings("gw-ssh", pki.dataDir,
                new GatewaySettings.Listeners(new HostPort("127.0.0.1", freePort()), new HostPort("127.0.0.1", org.postern.gateway.server.GatewayServerIT.freePort()), false,
                        new HostPort("127.0.0.1", bastionPort)),
                d.tls(), PosturePolicy.defaults(), rules, d.limits(),
                new GatewaySettings.Audit(pki.dataDir.resolve("audit/trail"), GatewaySettings.Audit.FailMode.CLOSED,
                        DataSize.ofMiB(1), Duration.ofSeconds(60)),
                new GatewaySettings.Ssh(pki.dataDir.resolve("ssh/host.key"), "Postern test charter: authorised use only",
                        Duration.ofSeconds(30), 6));
        gateway = GatewayServer.start(settings, new KeyProtection.Passphrase(TestPki.PASSPHRASE), clock, new SecureRandom());
        gw = new DeviceClient.Gateway(gateway.address(), pki.ca.root());

        // the admin host: a real sshd with a fresh host key, accepting one plain key for root
        Path hostKey = work.resolve("admin_host_key");
        Proc.run(work, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey.toString()).ok();
        adminUserKey = work.resolve("admin_user_key");
        Proc.run(work, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", adminUserKey.toString()).ok();
        Files.copy(work.resolve("admin_user_key.pub"), work.resolve("authorized_keys"));
        Files.createDirectories(Path.of("/run/sshd"));
        Path config = Files.writeString(work.resolve("sshd_config"), String.join("\n",
                "ListenAddress 127.0.0.1",
                "HostKey " + hostKey,
                "PidFile " + work.resolve("sshd.pid"),
                "AuthorizedKeysFile " + work.resolve("authorized_keys"),
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "Subsystem sftp internal-sftp",
                "") );
        sshd = new ProcessBuilder("/usr/sbin/sshd", "-D", "-e", "-f", config.toString(), "-p", String.valueOf(sshdPort))
                .redirectErrorStream(true).redirectOutput(work.resolve("sshd.log").toFile()).start();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(banner(sshdPort)).startsWith("SSH-2.0-OpenSSH"));

        knownHosts = Files.writeString(work.resolve("known_hosts"),
                "[127.0.0.1]:" + bastionPort + " " + PublicKeyEntry.toString(SshKeys.load(pki.dataDir.resolve("ssh/host.key")).getPublic()) + "\n"
                        + "[127.0.0.1]:" + sshdPort + " " + Files.readString(work.resolve("admin_host_key.pub")).strip() + "\n");
    }

    @AfterAll
    static void stop() throws Exception {
        if (sshd != null) {
            sshd.destroy();
            sshd.waitFor(5, TimeUnit.SECONDS);
        }
        if (gateway != null) {
            gateway.close();
        }
        if (pki != null) {
            pki.close();
        }
    }

    // ---- what works ------------------------------------------------------------------------

    @Test
    void jump_runsACommandOnTheAdminHost_andAuditsSessionAndFlow() throws Exception {
        Laptop alice = Laptop.compliant("laptop-jump", "alice", "admins");
        Proc.Result r = alice.ssh("admin", "echo hello-from-admin-host; id -un");
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.stdout()).isEqualTo("hello-from-admin-host\nroot\n");
        assertThat(r.stderr()).contains("Postern test charter: authorised use only");

        JsonNode start = lastEvent("session.start", "laptop-jump");
        assertThat(start.get("via").asText()).isEqualTo("ssh");
        assertThat(start.get("user").asText()).isEqualTo("alice");
        assertThat(start.get("source").asText()).startsWith("127.0.0.1:");
        JsonNode open = lastEvent("flow.open", "laptop-jump");
        assertThat(open.get("dest").asText()).isEqualTo("127.0.0.1:" + sshdPort);
        assertThat(open.get("rule").asText()).isEqualTo("admins-ssh");
        assertThat(open.get("session").asText()).isEqualTo(start.get("session").asText());
        // issue 15: admitted on the device's lease: its posture decision as posture.decision recorded it, and
        // the version of the access rules in force (generation 1: no reload), on both records
        JsonNode decision = lastEvent("posture.decision", "laptop-jump");
        assertThat(decision.get("result").asText()).isEqualTo("compliant");
        assertThat(decision.get("policyVersion").asText()).isEqualTo(PosturePolicy.defaults().version());
        for (JsonNode e : List.of(start, open)) {
            assertThat(e.path("posture").asText()).as(e.toString()).isEqualTo("compliant");
            assertThat(e.path("posturePolicy").asText()).as(e.toString()).isEqualTo(PosturePolicy.defaults().version());
            assertThat(e.path("accessPolicy").asText()).as(e.toString())
                    .isEqualTo(org.postern.gateway.policy.AccessPolicyVersion.of(rules, 1)).matches("[0-9a-f]{12}-g1");
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            JsonNode close = lastEvent("flow.close", "laptop-jump");
            assertThat(close.get("via").asText()).isEqualTo("ssh");
            assertThat(close.get("bytesUp").asLong()).isPositive();
            assertThat(close.get("bytesDown").asLong()).isPositive();
            assertThat(lastEvent("session.end", "laptop-jump").get("reason").asText()).isEqualTo("client_closed");
        });
    }

    @Test
    void stdioForward_W_reachesTheAdminHost() throws Exception {
        Laptop alice = Laptop.compliant("laptop-w", "alice", "admins");
        Proc.Result r = alice.ssh("-W", "127.0.0.1:" + sshdPort, "bastion");
        assertThat(r.stdout()).as(r.all()).startsWith("SSH-2.0-OpenSSH");
    }

    @Test
    void localForward_L_reachesTheAdminHost() throws Exception {
        Laptop alice = Laptop.compliant("laptop-l", "alice", "admins");
        int local = freePort();
        Process p = alice.start("-N", "-L", "127.0.0.1:" + local + ":127.0.0.1:" + sshdPort, "bastion");
        try {
            await().atMost(Duration.ofSeconds(15)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(banner(local)).startsWith("SSH-2.0-OpenSSH"));
        } finally {
            p.destroy();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void scp_throughTheJump_copiesAFileIntact() throws Exception {
        Laptop alice = Laptop.compliant("laptop-scp", "alice", "admins");
        byte[] data = new byte[3 * 1024 * 1024 + 17];
        new SecureRandom().nextBytes(data);
        Path src = Files.write(alice.dir.resolve("payload.bin"), data);
        Path dst = work.resolve("copied-" + System.nanoTime() + ".bin");
        Proc.Result r = Proc.run(alice.dir, Duration.ofSeconds(60), "scp", "-q", "-F", alice.config.toString(),
                src.toString(), "admin:" + dst);
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(sha256(Files.readAllBytes(dst))).isEqualTo(sha256(data));
    }

    @Test
    void windowEnd_endsAnOpenForward_withOutsideHours_andThenRefusesWithTheRemedy() throws Exception {
        Laptop bob = Laptop.compliant("laptop-office", "bob", "office");
        Process p = bob.start("admin", "sleep 60");
        try {
            await().atMost(Duration.ofSeconds(15)).until(() -> events("flow.open", "laptop-office").size() == 1);
            JsonNode open = lastEvent("flow.open", "laptop-office");
            assertThat(open.get("rule").asText()).isEqualTo("office-ssh");
            assertThat(open.get("windowEnd").asText()).isEqualTo(officeWindowEnd.toString());
            assertThat(p.isAlive()).isTrue();
            // jump to the window's end on the gateway's clock (the lease, 10 minutes from now, still runs)
            clock.offset = Duration.between(Instant.now(), officeWindowEnd).plusSeconds(1);
            Instant jumped = Instant.now();
            await().atMost(Duration.ofSeconds(5)).until(() -> !p.isAlive());
            assertThat(Duration.between(jumped, Instant.now())).as("the gateway checks every second").isLessThan(Duration.ofSeconds(3));
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(lastEvent("flow.close", "laptop-office").get("how").asText()).isEqualTo("outside_hours"));
            // office-ssh was the only rule of bob's groups: the SSH session itself ends, for that reason
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(lastEvent("session.end", "laptop-office").get("reason").asText()).isEqualTo("outside_hours"));
        } finally {
            clock.offset = Duration.ZERO;
            p.destroyForcibly();
        }
    }

    @Test
    void outsideHours_channelIsRefused_andTheTrailHasTheRemedy() throws Exception {
        Laptop carol = Laptop.compliant("laptop-night", "carol", "night");
        Proc.Result r = carol.ssh("-W", "127.0.0.1:" + sshdPort, "bastion");
        assertThat(r.exit()).isNotZero();
        // MINA sends its own text with the failure, so OpenSSH shows only the code class, not our message
        assertThat(r.all()).contains("open failed: administratively prohibited");
        JsonNode denied = lastDenied("laptop-night");
        assertThat(denied.get("reason").asText()).isEqualTo("access.outside_hours");
        assertThat(denied.get("remedy").asText()).as("next week, same day, 00:00")
                .matches("access opens [A-Z][a-z]+day \\d{4}-\\d{2}-\\d{2} 00:00 UTC");
        assertThat(denied.get("user").asText()).isEqualTo("carol");
        assertThat(denied.get("detail").asText()).contains("outside the hours of night-ssh (00:00-00:01 ");
    }

    @Test
    void leaseEnd_closesAnOpenJumpSessionWithin2s() throws Exception {
        Laptop alice = Laptop.compliant("laptop-lease", "alice", "admins");
        Process p = alice.start("admin", "sleep 60");
        try {
            await().atMost(Duration.ofSeconds(15)).until(() -> events("flow.open", "laptop-lease").size() == 1);
            assertThat(p.isAlive()).isTrue();
            // a renewal that is not compliant ends the lease (enforce mode)
            JsonNode decision = alice.device.posture(false);
            assertThat(decision.get("compliant").asBoolean()).isFalse();
            Instant ended = Instant.now();
            await().atMost(Duration.ofSeconds(2)).until(() -> !p.isAlive());
            assertThat(Duration.between(ended, Instant.now())).isLessThan(Duration.ofSeconds(2));
        } finally {
            p.destroyForcibly();
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            // ended by a non-compliant renewal: recorded as such, as on the tunnel listener
            assertThat(lastEvent("flow.close", "laptop-lease").get("how").asText()).isEqualTo("non_compliant");
            assertThat(lastEvent("session.end", "laptop-lease").get("reason").asText()).isEqualTo("non_compliant");
        });
        // and a new connection is refused: no lease
        Proc.Result again = alice.ssh("-W", "127.0.0.1:" + sshdPort, "bastion");
        assertThat(again.exit()).isNotZero();
        assertThat(lastDenied("laptop-lease").get("reason").asText()).isEqualTo("posture.no_lease");
    }

    @Test
    void closeDevice_cutsTheSessionsOfThatDeviceOnly() throws Exception {
        Laptop a = Laptop.compliant("laptop-cut-a", "alice", "admins");
        Laptop b = Laptop.compliant("laptop-cut-b", "bob", "admins");
        Process pa = a.start("admin", "sleep 60");
        Process pb = b.start("admin", "sleep 60");
        try {
            await().atMost(Duration.ofSeconds(15)).until(() -> events("flow.open", "laptop-cut-a").size() == 1
                    && events("flow.open", "laptop-cut-b").size() == 1);
            assertThat(gateway.bastion().closeDevice("laptop-cut-a", org.postern.gateway.session.FlowEnd.REVOKED)).isEqualTo(1);
            await().atMost(Duration.ofSeconds(2)).until(() -> !pa.isAlive());
            assertThat(pb.isAlive()).isTrue();
            assertThat(gateway.bastion().sessions()).anySatisfy(s -> assertThat(s.device()).isEqualTo("laptop-cut-b"));
        } finally {
            pa.destroyForcibly();
            pb.destroyForcibly();
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(lastEvent("session.end", "laptop-cut-a").get("reason").asText()).isEqualTo("revoked"));
    }

    /** Issue 14 review: a stale registry view ends every SSH session on the gateway, not only new logins. */
    @Test
    void closeAll_cutsEverySession_asRegistryUnavailable() throws Exception {
        Laptop a = Laptop.compliant("laptop-stale-a", "alice", "admins");
        Laptop b = Laptop.compliant("laptop-stale-b", "bob", "admins");
        Process pa = a.start("admin", "sleep 60");
        Process pb = b.start("admin", "sleep 60");
        try {
            await().atMost(Duration.ofSeconds(15)).until(() -> events("flow.open", "laptop-stale-a").size() == 1
                    && events("flow.open", "laptop-stale-b").size() == 1);
            assertThat(gateway.bastion().closeAll(org.postern.gateway.session.FlowEnd.REGISTRY_UNAVAILABLE)).isEqualTo(2);
            await().atMost(Duration.ofSeconds(2)).until(() -> !pa.isAlive() && !pb.isAlive());
            assertThat(gateway.bastion().sessions()).isEmpty();
        } finally {
            pa.destroyForcibly();
            pb.destroyForcibly();
        }
        for (String device : List.of("laptop-stale-a", "laptop-stale-b")) {
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(lastEvent("session.end", device).get("reason").asText()).isEqualTo("registry_unavailable"));
            assertThat(lastEvent("flow.close", device).get("how").asText()).isEqualTo("registry_unavailable");
        }
    }

    @Test
    void certificateEndpoint_signsOnlyForALiveLease_andNamesWhatIsWrong() throws Exception {
        Laptop alice = Laptop.compliant("laptop-endpoint", "alice", "admins");
        DeviceClient.Answer bad = alice.device.post("/v1/ssh/certificate", "text/plain", "ssh-ed25519 not-base64!");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.reason()).isEqualTo("ssh.bad_public_key");
        assertThat(bad.body()).startsWith("SSH public key: expected");
        DeviceClient.Answer get = alice.device.post("/v1/ssh/certificate", "text/plain", "");
        assertThat(get.status()).isEqualTo(400);
        JsonNode issued = lastEvent("pki.issue", "laptop-endpoint");
        assertThat(issued.get("kind").asText()).isEqualTo("ssh_user");
        assertThat(issued.get("principal").asText()).isEqualTo("alice");
        assertThat(Instant.parse(issued.get("validBefore").asText())).isBefore(Instant.now().plus(Duration.ofMinutes(11)));
        // a non-compliant renewal ends the lease: no more certificates
        alice.device.posture(false);
        DeviceClient.Answer noLease = alice.device.post("/v1/ssh/certificate", "text/plain",
                Files.readString(alice.dir.resolve("id_ecdsa.pub")));
        assertThat(noLease.status()).isEqualTo(403);
        assertThat(noLease.reason()).isEqualTo("posture.no_lease");
        assertThat(lastEvent("pki.issue.denied", "laptop-endpoint").get("reason").asText()).isEqualTo("posture.no_lease");
    }

    // ---- refused, each with an audit record ------------------------------------------------

    @Test
    void plainKey_isRefused() throws Exception {
        Laptop alice = Laptop.compliant("laptop-plain", "alice", "admins");
        alice.useCertificate(null);
        int before = events("access.denied", null).size();
        Proc.Result r = alice.ssh("-W", "127.0.0.1:" + sshdPort, "bastion");
        assertThat(r.exit()).as(r.all()).isNotZero();
        assertThat(r.stderr()).contains("Permission denied (publickey)");
        // a plain key names no device: the record has the login, the source and the key's fingerprint
        List<JsonNode> denied = events("access.denied", null);
        JsonNode d = denied.subList(before, denied.size()).stream()
                .filter(e -> e.path("reason").asText().equals(CertificateAuth.CERT_REQUIRED)).findFirst().orElseThrow();
        assertThat(d.path("user").asText()).isEqualTo("alice");
        assertThat(d.path("via").asText()).isEqualTo("ssh");
        assertThat(d.path("detail").asText()).contains("found a plain ecdsa-sha2-nistp256 key SHA256:");
        assertThat(events("session.start", "laptop-plain")).isEmpty();
    }

    @Test
    void certificateFromAnotherCa_isRefused() throws Exception {
        Laptop alice = Laptop.compliant("laptop-otherca", "alice", "admins");
        SshUserCa other = SshUserCa.ephemeral(new SecureRandom());
        Instant now = Instant.now();
        alice.useCertificate(other.issue(alice.sshPublicKey(), "laptop-otherca", "alice", now, now.plusSeconds(600)).line());
        assertRefused(alice.ssh("-W", "127.0.0.1:" + sshdPort, "bastion"), "laptop-otherca", "alice",
                CertificateAuth.UNKNOWN_CA);
    }

    @Test
    void expiredCertificate_isRefused() throws Exception {
        Laptop alice = Laptop.compliant("laptop-expired", "alice", "admins");
        SshUserCa ours = SshUserCa.loadOrCreate(pki.dataDir, new KeyProtection.Passphrase(TestPki.PASSPHRASE), new SecureRandom());
        Instant now = Instant.now();
        alice.useCertificate(ours.issue(alice.sshPublicKey(), "laptop-expired", "alice", now.minusSeconds(7200),
                now.minusSeconds(3600)).line());
        assertRefused(alice.ssh("-W", "127.0.0.1:" + sshdPort, "bastion"), "laptop-expired", "alice",
                CertificateAuth.EXPIRED);
    }

    @Test
    void deviceRevokedAfterIssue_isRefused() throws Exception {
        Laptop alice = Laptop.compliant("laptop-revoked", "alice", "admins");
        pki.service.revoke("laptop-revoked", RevocationReason.lost, "test");
        assertRefused(alice.ssh("-W", "127.0.0.1:" + sshdPort, "bastion"), "laptop-revoked", "alice",
                CertificateAuth.DEVICE_NOT_ACTIVE);
    }

    @Test
    void principalMismatch_isRefused() throws Exception {
        Laptop alice = Laptop.compliant("laptop-bob", "alice", "admins");
        alice.login("bob");
        assertRefused(alice.ssh("-W", "127.0.0.1:" + sshdPort, "bastion"), "laptop-bob", "bob",
                CertificateAuth.PRINCIPAL_MISMATCH);
    }

    @Test
    void shellAndExecOnTheBastion_areRefused() throws Exception {
        Laptop alice = Laptop.compliant("laptop-shell", "alice", "admins");
        Proc.Result exec = alice.ssh("bastion", "uname -a");
        assertThat(exec.exit()).as(exec.all()).isNotZero();
        // MINA SSHD sends its generic text with the reason code; the detail is in the audit record
        assertThat(exec.stderr()).contains("open failed: administratively prohibited");
        assertThat(lastDenied("laptop-shell").get("reason").asText()).isEqualTo(RefusedSessionChannel.SESSION_REFUSED);
        Proc.Result shell = alice.ssh("-T", "bastion");
        assertThat(shell.exit()).as(shell.all()).isNotZero();
        assertThat(events("access.denied", "laptop-shell")).hasSize(2);
    }

    @Test
    void destinationOutsidePolicy_isRefused() throws Exception {
        Laptop alice = Laptop.compliant("laptop-policy", "alice", "admins");
        // TEST-NET-1: refused by the policy before any packet is sent
        Proc.Result r = alice.ssh("-W", "192.0.2.10:22", "bastion");
        assertThat(r.exit()).as(r.all()).isNotZero();
        assertThat(r.stderr()).contains("administratively prohibited");
        JsonNode denied = lastDenied("laptop-policy");
        assertThat(denied.get("reason").asText()).isEqualTo("access.no_rule");
        assertThat(denied.get("dest").asText()).isEqualTo("192.0.2.10:22");
        assertThat(denied.get("via").asText()).isEqualTo("ssh");
        // loopback on a port no rule names
        Proc.Result loop = alice.ssh("-W", "127.0.0.1:" + gateway.address().getPort(), "bastion");
        assertThat(loop.exit()).isNotZero();
        assertThat(lastDenied("laptop-policy").get("reason").asText()).isEqualTo("access.forbidden_address");
        // a group with no rule
        Laptop bob = Laptop.compliant("laptop-staff", "bob", "staff");
        assertThat(bob.ssh("-W", "127.0.0.1:" + sshdPort, "bastion").exit()).isNotZero();
        assertThat(lastDenied("laptop-staff").get("reason").asText()).isEqualTo("access.forbidden_address");
    }

    @Test
    void passwordAuthentication_isNeverOfferedAndRefused() throws Exception {
        Laptop alice = Laptop.compliant("laptop-pw", "alice", "admins");
        int before = events("access.denied", null).size();
        Proc.Result r = alice.ssh("-o", "PreferredAuthentications=password,keyboard-interactive",
                "-o", "PubkeyAuthentication=no", "-W", "127.0.0.1:" + sshdPort, "bastion");
        assertThat(r.exit()).isNotZero();
        assertThat(r.stderr()).contains("Permission denied (publickey)");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            List<JsonNode> denied = events("access.denied", null);
            assertThat(denied.subList(before, denied.size()))
                    .anySatisfy(e -> {
                        assertThat(e.path("reason").asText()).isEqualTo(SshBastion.NOT_AUTHENTICATED);
                        assertThat(e.path("user").asText()).isEqualTo("alice");
                    });
        });
        // a client that sends a password anyway is refused and recorded, the password never written
        PasswordClient.tryPassword(gateway.bastion().address(), "alice", "hunter2-secret");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(events("access.denied", null))
                .anySatisfy(e -> {
                    assertThat(e.path("reason").asText()).isEqualTo(AuthRequestAudit.METHOD_REFUSED);
                    assertThat(e.path("method").asText()).isEqualTo("password");
                }));
        assertThat(trailText()).doesNotContain("hunter2-secret");
    }

    // ---- helpers ---------------------------------------------------------------------------

    static void assertRefused(Proc.Result r, String device, String user, String reason) {
        assertThat(r.exit()).as(r.all()).isNotZero();
        assertThat(r.stderr()).contains("Permission denied (publickey)");
        JsonNode denied = lastDenied(device);
        assertThat(denied.get("reason").asText()).isEqualTo(reason);
        assertThat(denied.get("user").asText()).isEqualTo(user);
        assertThat(denied.get("via").asText()).isEqualTo("ssh");
        assertThat(denied.get("source").asText()).startsWith("127.0.0.1:");
        assertThat(denied.get("detail").asText()).isNotBlank();
        assertThat(events("session.start", device)).isEmpty();
    }

    static JsonNode lastDenied(String device) {
        List<JsonNode> d = events("access.denied", device);
        assertThat(d).as("access.denied for " + device).isNotEmpty();
        return d.getLast();
    }

    static JsonNode lastEvent(String type, String device) {
        List<JsonNode> e = events(type, device);
        assertThat(e).as(type + " for " + device).isNotEmpty();
        return e.getLast();
    }

    static List<JsonNode> events(String type, String device) {
        List<JsonNode> out = new ArrayList<>();
        for (String line : trailText().split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            try {
                JsonNode n = JSON.readTree(line);
                if (n.get("type").asText().equals(type)
                        && (device == null || (n.has("device") && n.get("device").asText().equals(device)))) {
                    out.add(n);
                }
            } catch (IOException e) {
                throw new AssertionError("not a trail record: " + line, e);
            }
        }
        return out;
    }

    static String trailText() {
        Path dir = pki.dataDir.resolve("audit/trail");
        try (Stream<Path> files = Files.list(dir)) {
            StringBuilder sb = new StringBuilder();
            for (Path f : files.filter(p -> p.getFileName().toString().matches("segment-\\d+\\.jsonl")).sorted().toList()) {
                sb.append(Files.readString(f));
            }
            return sb.toString();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static String banner(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            s.setSoTimeout(3000);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64];
            int n = in.read(buf);
            return n <= 0 ? "" : new String(buf, 0, n, StandardCharsets.US_ASCII);
        }
    }

    static int freePort() throws IOException {
        return org.postern.pki.testing.FreePorts.next();
    }

    static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    /** A laptop: an enrolled device with a lease, an SSH key from ssh-keygen, its certificate, an ssh_config. */
    static final class Laptop {
        final DeviceClient device;
        final Path dir;
        final Path key;
        final Path config;
        String login;
        String certificateFile;

        private Laptop(DeviceClient device, Path dir, String login) throws IOException {
            this.device = device;
            this.dir = dir;
            this.key = dir.resolve("id_ecdsa");
            this.config = dir.resolve("ssh_config");
            this.login = login;
        }

        /** Registered in {@code group}, enrolled, compliant, with a certificate from the gateway. */
        static Laptop compliant(String id, String owner, String group) throws Exception {
            var added = pki.service.addDevice(id, owner, List.of(group), null, null, "test");
            KeyPair keys = TestCsrs.p256();
            X509Certificate cert = pki.service.enroll(id, added.token(), TestCsrs.body(keys, id), "test");
            DeviceClient device = new DeviceClient(gw, id, keys, cert, pki.ca.chain());
            JsonNode decision = device.posture(true);
            assertThat(decision.get("compliant").asBoolean()).as(decision.toString()).isTrue();
            Path dir = Files.createDirectories(work.resolve(id));
            Laptop l = new Laptop(device, dir, owner);
            Proc.run(dir, "ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f", l.key.toString()).ok();
            String line = device.sshCertificate(Files.readString(dir.resolve("id_ecdsa.pub")));
            l.useCertificate(line);
            return l;
        }

        java.security.PublicKey sshPublicKey() throws IOException {
            return SshUserCa.parsePublicKey(Files.readString(dir.resolve("id_ecdsa.pub")));
        }

        /** Uses this certificate line (null: none, the plain key alone). */
        void useCertificate(String line) throws IOException {
            Path cert = dir.resolve("id_ecdsa-cert.pub");
            Files.deleteIfExists(cert);
            if (line != null) {
                Files.writeString(cert, line + "\n");
            }
            certificateFile = line == null ? null : cert.toString();
            writeConfig();
        }

        void login(String user) throws IOException {
            login = user;
            writeConfig();
        }

        private void writeConfig() throws IOException {
            InetSocketAddress b = gateway.bastion().address();
            String common = "  UserKnownHostsFile " + knownHosts + "\n  StrictHostKeyChecking yes\n  BatchMode yes\n"
                    + "  ConnectTimeout 10\n  IdentitiesOnly yes\n";
            Files.writeString(config, "Host bastion\n  HostName 127.0.0.1\n  Port " + b.getPort() + "\n  User " + login + "\n"
                    + "  IdentityFile " + key + "\n"
                    + (certificateFile != null ? "  CertificateFile " + certificateFile + "\n" : "")
                    + common
                    + "Host admin\n  HostName 127.0.0.1\n  Port " + sshdPort + "\n  User root\n  IdentityFile " + adminUserKey
                    + "\n  ProxyJump bastion\n" + common);
        }

        Proc.Result ssh(String... args) {
            List<String> cmd = new ArrayList<>(List.of("ssh", "-F", config.toString()));
            cmd.addAll(List.of(args));
            return Proc.run(dir, Duration.ofSeconds(30), cmd.toArray(String[]::new));
        }

        Process start(String... args) throws IOException {
            List<String> cmd = new ArrayList<>(List.of("ssh", "-F", config.toString()));
            cmd.addAll(List.of(args));
            return new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("ssh-" + System.nanoTime() + ".log").toFile()).start();
        }
    }
}
