package org.postern.config.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.ConfigException;
import org.postern.config.DataSize;
import org.postern.config.HostPort;
import org.postern.config.PkiSettings;
import org.postern.config.TransportChoice;
import org.postern.config.posture.PosturePolicy;

class GatewaySettingsTest {

    @TempDir
    Path dir;

    private Path write(String yaml) throws IOException {
        return Files.writeString(dir.resolve("gateway.yaml"), yaml);
    }

    /** Problems as printed for a file named gateway.yaml, with the temporary directory left out. */
    private List<String> problems(String yaml) throws IOException {
        Path f = write(yaml);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> GatewaySettings.load(f));
        assertThat(e).as("expected a ConfigException for:\n" + yaml).isNotNull();
        assertThat(e.problems()).allSatisfy(p -> assertThat(p).startsWith(f + ": "));
        return e.problems().stream().map(p -> p.replace(f.toString(), "gateway.yaml")).toList();
    }

    @Test
    void defaults_areTheDocumentedValues() {
        GatewaySettings d = GatewaySettings.defaults();
        assertThat(d.id()).isNotBlank().isEqualTo(GatewaySettings.defaultId());
        assertThat(d.dataDir()).isEqualTo(Path.of("/var/lib/postern"));
        assertThat(d.listeners().tunnel()).isEqualTo(HostPort.parse("127.0.0.1:8443"));
        assertThat(d.listeners().admin()).isEqualTo(HostPort.parse("127.0.0.1:9443"));
        assertThat(d.listeners().unsafeAdminOnNetwork()).isFalse();
        assertThat(d.tls().selfIssued()).isTrue();
        assertThat(d.tls().provider()).isEqualTo(GatewaySettings.Tls.Provider.AUTO);
        assertThat(d.tls().protocols()).containsExactly("TLSv1.3");
        assertThat(d.tls().cipherSuites()).allSatisfy(s -> assertThat(s).startsWith("TLS_").doesNotContain("_WITH_"));
        assertThat(d.posture()).isEqualTo(PosturePolicy.defaults());
        assertThat(d.access().rules()).as("deny by default").isEmpty();
        assertThat(d.limits().headerSize()).isEqualTo(DataSize.ofKiB(16));
        assertThat(d.limits().headerTime()).isEqualTo(Duration.ofSeconds(10));
        assertThat(d.limits().idleTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(d.limits().streamsPerConnection()).isEqualTo(100);
        assertThat(d.limits().connectionsPerSource()).isEqualTo(50);
        assertThat(d.limits().flowsPerDevice()).isEqualTo(64);
        assertThat(d.audit().dir()).isEqualTo(Path.of("/var/lib/postern/audit/trail"));
        assertThat(d.audit().failMode()).isEqualTo(GatewaySettings.Audit.FailMode.CLOSED);
        assertThat(d.audit().minFree()).isEqualTo(DataSize.ofMiB(64));
        assertThat(d.audit().checkpointInterval()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void load_example_equalsDefaultsWithItsAccessRule() {
        GatewaySettings example = GatewaySettings.load(Path.of("examples/gateway.yaml"));
        GatewaySettings d = GatewaySettings.defaults();
        assertThat(example.access().rules()).hasSize(1);
        AccessRules.Rule rule = example.access().rules().get(0);
        assertThat(rule.name()).isEqualTo("admins-ssh");
        assertThat(rule.groups()).containsExactly("admins");
        assertThat(rule.to()).extracting(Destination::toString).containsExactly(
                "10.20.0.0/16:22", "db1.admin.internal:5432", "[2001:db8:0:0:0:0:0:0/32]:443", "10.30.0.5:8000-8100");
        // Everything else is the default; if a default changes and the example does not, this fails.
        assertThat(new GatewaySettings(example.id(), example.dataDir(), example.listeners(), example.tls(),
                example.posture(), AccessRules.denyAll(), example.limits(), example.audit())).isEqualTo(d);
        assertThat(example.vpn()).isEqualTo(d.vpn());
        assertThat(example.proxyProtocol()).isEqualTo(d.proxyProtocol()).isEqualTo(ProxyProtocol.off());
    }

    @Test
    void load_proxyProtocol_readsTrustedNetworksPerListener() throws IOException {
        GatewaySettings s = GatewaySettings.load(write("""
                proxyProtocol:
                  tunnel:
                    trustedProxies: [127.0.0.1/32, 10.0.0.0/24, "2001:db8::/64"]
                  ssh:
                    trustedProxies: [10.0.0.5]
                  headerTime: 2s
                """));
        ProxyProtocol p = s.proxyProtocol();
        assertThat(p.tunnel().trustedProxies()).extracting(Network::toString)
                .containsExactly("127.0.0.1", "10.0.0.0/24", "2001:db8:0:0:0:0:0:0/64");
        assertThat(p.tunnel().trusts(java.net.InetAddress.ofLiteral("10.0.0.77"))).isTrue();
        assertThat(p.tunnel().trusts(java.net.InetAddress.ofLiteral("10.0.1.1"))).isFalse();
        assertThat(p.ssh().trusts(java.net.InetAddress.ofLiteral("10.0.0.5"))).isTrue();
        assertThat(p.ssh().trusts(java.net.InetAddress.ofLiteral("127.0.0.1"))).isFalse();
        assertThat(p.headerTime()).isEqualTo(Duration.ofSeconds(2));
        assertThat(GatewaySettings.defaults().proxyProtocol().tunnel().enabled()).isFalse();
    }

    @Test
    void load_proxyProtocol_badNetworks_areNamedByKeyPath() throws IOException {
        Path file = write("""
                proxyProtocol:
                  tunnel:
                    trustedProxies: [10.0.0.1/24, haproxy.internal, 0.0.0.0/0]
                  ssh:
                    trustedProxies: ["::/0", 10.0.0.0/33]
                  headerTime: 2m
                """);
        assertThatThrownBy(() -> GatewaySettings.load(file)).isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems()).containsExactly(
                        file + ": proxyProtocol.tunnel.trustedProxies[0]: expected a proxy's network in CIDR form like"
                                + " 10.0.0.0/24 or 2001:db8::/64, or one address, found \"10.0.0.1/24\" (expected a network"
                                + " address with no host bits set, found 10.0.0.1/24)",
                        file + ": proxyProtocol.tunnel.trustedProxies[1]: expected a proxy's network in CIDR form like"
                                + " 10.0.0.0/24 or 2001:db8::/64, or one address, found \"haproxy.internal\" (expected an IP"
                                + " address, found \"haproxy.internal\")",
                        file + ": proxyProtocol.tunnel.trustedProxies[2]: expected the load balancers' own networks, found"
                                + " 0.0.0.0/0 (every address could claim any client address; set"
                                + " proxyProtocol.unsafeTrustAnySource: true to allow it)",
                        file + ": proxyProtocol.ssh.trustedProxies[0]: expected the load balancers' own networks, found"
                                + " 0:0:0:0:0:0:0:0/0 (every address could claim any client address; set"
                                + " proxyProtocol.unsafeTrustAnySource: true to allow it)",
                        file + ": proxyProtocol.ssh.trustedProxies[1]: expected a proxy's network in CIDR form like"
                                + " 10.0.0.0/24 or 2001:db8::/64, or one address, found \"10.0.0.0/33\" (expected a prefix"
                                + " length between 0 and 32, found 33)",
                        file + ": proxyProtocol.headerTime: expected a duration between 100ms and 1m, found \"2m\""));
    }

    @Test
    void proxyProtocol_anySource_onlyWhenNamedUnsafe() throws IOException {
        ProxyProtocol.Listener any = new ProxyProtocol.Listener(List.of(Network.parse("0.0.0.0/0")));
        assertThatThrownBy(() -> new ProxyProtocol(any, ProxyProtocol.Listener.OFF, ProxyProtocol.DEFAULT_HEADER_TIME, false))
                .hasMessageStartingWith("proxyProtocol.tunnel.trustedProxies: expected the load balancers' own networks,"
                        + " found 0.0.0.0/0");
        GatewaySettings s = GatewaySettings.load(write("""
                proxyProtocol:
                  unsafeTrustAnySource: true
                  tunnel:
                    trustedProxies: [0.0.0.0/0]
                """));
        assertThat(s.proxyProtocol().tunnel().trusts(java.net.InetAddress.ofLiteral("198.51.100.1"))).isTrue();
    }

    @Test
    void load_exampleWithOptionalKeysUncommented_parses() throws IOException {
        String example = Files.readString(Path.of("examples/gateway.yaml"))
                .replace("  # id:", "  id:")
                .replace("  # certificate:", "  certificate:")
                .replace("  # key:", "  key:")
                .replace("  # dir:", "  dir:")
                .replace("  # hostKey:", "  hostKey:")
                .replace("  # banner:", "  banner:")
                .replace("  # pool6:", "  pool6:")
                .replace("  # dns:", "  dns:")
                .replace("  # searchDomains:", "  searchDomains:")
                .replace("  # listen:", "  listen:");
        GatewaySettings s = GatewaySettings.load(write(example));
        assertThat(s.vpn().pool6()).isEqualTo(Network.parse("fd00:7057::/64"));
        assertThat(s.vpn().dns()).extracting(java.net.InetAddress::getHostAddress).containsExactly("10.20.0.53");
        assertThat(s.vpn().searchDomains()).containsExactly("admin.internal");
        assertThat(s.vpn().listen()).isEqualTo(HostPort.parse("0.0.0.0:8443"));
        assertThat(s.ssh().hostKey()).isEqualTo(Path.of("/var/lib/postern/ssh/host.key"));
        assertThat(s.ssh().banner()).isEqualTo("Authorised use only.");
        assertThat(s.id()).isEqualTo("gw-paris-1");
        assertThat(s.tls().certificate()).isEqualTo(dir.resolve("tls/gateway.pem"));
        assertThat(s.tls().key()).isEqualTo(dir.resolve("tls/gateway.key"));
        assertThat(s.tls().selfIssued()).isFalse();
        assertThat(s.audit().dir()).isEqualTo(Path.of("/var/lib/postern/audit/trail"));
    }

    @Test
    void load_siem_readsEveryKeyAndPutsTheCursorBesideTheTrail() throws IOException {
        Files.writeString(dir.resolve("siem-ca.pem"), "-----BEGIN CERTIFICATE-----\n");
        GatewaySettings s = GatewaySettings.load(write("""
                dataDir: data
                audit:
                  siem:
                    address: siem.example.org:6514
                    ca: siem-ca.pem
                    clientCertificate: client.pem
                    clientKey: client.key
                    appName: postern-gw1
                    facility: local3
                    allowTls12: true
                """));
        GatewaySettings.Siem siem = s.audit().siem();
        assertThat(siem.address()).isEqualTo(HostPort.parse("siem.example.org:6514"));
        assertThat(siem.ca()).isEqualTo(dir.resolve("siem-ca.pem"));
        assertThat(siem.clientCertificate()).isEqualTo(dir.resolve("client.pem"));
        assertThat(siem.clientKey()).isEqualTo(dir.resolve("client.key"));
        assertThat(siem.appName()).isEqualTo("postern-gw1");
        assertThat(siem.facility().code()).isEqualTo(19);
        assertThat(siem.allowTls12()).isTrue();
        assertThat(siem.cursor()).isEqualTo(dir.resolve("data/audit/siem.cursor"));
        assertThat(GatewaySettings.load(write("audit: {}\n")).audit().siem()).as("absent = off").isNull();
    }

    @Test
    void load_siem_badValues_areEachNamed() throws IOException {
        assertThat(problems("audit:\n  siem:\n    facility: local9\n")).containsExactly(
                "gateway.yaml: audit.siem.address: expected the collector as host:port like siem.example.org:6514, found nothing",
                "gateway.yaml: audit.siem.ca: expected the PEM file of the CA that issued the collector's certificate, found nothing",
                "gateway.yaml: audit.siem.facility: expected one of kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron,"
                        + " authpriv, ftp, ntp, audit, alert, clock, local0, local1, local2, local3, local4, local5, local6, local7,"
                        + " found \"local9\"");
        assertThat(problems("audit:\n  siem:\n    address: siem:6514\n    ca: nowhere.pem\n    clientKey: k.pem\n"
                + "    appName: \"two words\"\n")).containsExactly(
                "gateway.yaml: audit.siem.ca: expected a readable PEM file, found no readable file at " + dir.resolve("nowhere.pem"),
                "gateway.yaml: audit.siem: expected both clientCertificate and clientKey, or neither, found only clientKey",
                "gateway.yaml: audit.siem.appName: expected 1 to 48 printable ASCII characters without spaces, like postern,"
                        + " found \"two words\"");
    }

    @Test
    void load_emptyFile_givesDefaults() throws IOException {
        assertThat(GatewaySettings.load(write(""))).isEqualTo(GatewaySettings.defaults());
        assertThat(GatewaySettings.load(write("gateway:\nlisteners: {}\naccess:\n"))).isEqualTo(GatewaySettings.defaults());
    }

    @Test
    void load_relativeDataDir_resolvesAgainstTheFileAndCarriesTheAuditDir() throws IOException {
        GatewaySettings s = GatewaySettings.load(write("dataDir: data\n"));
        assertThat(s.dataDir()).isEqualTo(dir.resolve("data"));
        assertThat(s.audit().dir()).isEqualTo(dir.resolve("data/audit/trail"));
    }

    @Test
    void load_allowTls12_addsTls12WithAeadEcdheSuitesOnly() throws IOException {
        GatewaySettings s = GatewaySettings.load(write("tls:\n  allowTls12: true\n  provider: jdk\n"));
        assertThat(s.tls().protocols()).containsExactly("TLSv1.3", "TLSv1.2");
        assertThat(s.tls().provider()).isEqualTo(GatewaySettings.Tls.Provider.JDK);
        assertThat(s.tls().cipherSuites()).filteredOn(c -> c.contains("_WITH_"))
                .isNotEmpty()
                .allSatisfy(c -> assertThat(c).startsWith("TLS_ECDHE_").containsAnyOf("_GCM_", "CHACHA20_POLY1305"));
    }

    @Test
    void load_nonLoopbackAdmin_isRefusedUnlessUnsafeFlagSet() throws IOException {
        assertThat(problems("listeners:\n  admin: 0.0.0.0:9443\n")).containsExactly(
                "gateway.yaml: listeners.admin: expected a loopback address like 127.0.0.1:9443 (the admin API must"
                        + " not face the network unless listeners.unsafeAdminOnNetwork: true), found 0.0.0.0:9443");
        assertThat(problems("listeners:\n  admin: admin.example.org:9443\n")).hasSize(1);
        GatewaySettings s = GatewaySettings.load(write(
                "listeners:\n  admin: 0.0.0.0:9443\n  unsafeAdminOnNetwork: true\n"));
        assertThat(s.listeners().admin()).isEqualTo(HostPort.parse("0.0.0.0:9443"));
        assertThat(GatewaySettings.load(write("listeners:\n  admin: \"[::1]:9443\"\n")).listeners().admin())
                .isEqualTo(HostPort.parse("[::1]:9443"));
        assertThat(GatewaySettings.load(write("listeners:\n  admin: localhost:9443\n")).listeners().admin().host())
                .isEqualTo("localhost");
    }

    @Test
    void constructor_nonLoopbackAdmin_isRefusedInCodeToo() {
        assertThatThrownBy(() -> new GatewaySettings.Listeners(HostPort.parse("127.0.0.1:8443"),
                HostPort.parse("10.0.0.1:9443"), false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("listeners.admin: expected a loopback address");
    }

    @Test
    void load_sameAddressForTunnelAndAdmin_isRefused() throws IOException {
        assertThat(problems("listeners:\n  tunnel: 127.0.0.1:9443\n")).containsExactly(
                "gateway.yaml: listeners.admin: expected an address other than listeners.tunnel, found the same 127.0.0.1:9443");
    }

    @Test
    void load_sshSection_readsBastionSettings_andDefaultsUnderDataDir() throws IOException {
        GatewaySettings d = GatewaySettings.load(write("dataDir: data\n"));
        assertThat(d.listeners().ssh()).isEqualTo(HostPort.parse("127.0.0.1:2222"));
        assertThat(d.ssh().hostKey()).isEqualTo(dir.resolve("data/ssh/host.key"));
        assertThat(d.ssh().banner()).isNull();
        assertThat(d.ssh().authTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(d.ssh().maxAuthTries()).isEqualTo(6);

        GatewaySettings s = GatewaySettings.load(write(
                "listeners:\n  ssh: 0.0.0.0:22\nssh:\n  hostKey: keys/bastion.key\n  banner: \"Charter v2\"\n"
                        + "  authTimeout: 10s\n  maxAuthTries: 3\n"));
        assertThat(s.listeners().ssh()).isEqualTo(HostPort.parse("0.0.0.0:22"));
        assertThat(s.ssh().hostKey()).isEqualTo(dir.resolve("keys/bastion.key"));
        assertThat(s.ssh().banner()).isEqualTo("Charter v2");
        assertThat(s.ssh().authTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(s.ssh().maxAuthTries()).isEqualTo(3);
    }

    @Test
    void load_badSshSettings_areAllReported() throws IOException {
        assertThat(problems("listeners:\n  ssh: 127.0.0.1:8443\nssh:\n  authTimeout: 1h\n  maxAuthTries: 0\n  banner: \"  \"\n"
                + "  hostKeys: x\n")).containsExactly(
                "gateway.yaml: listeners.ssh: expected an address other than listeners.tunnel and listeners.admin, found the same 127.0.0.1:8443",
                "gateway.yaml: ssh.banner: expected text of 1 to 8192 characters, found only blanks",
                "gateway.yaml: ssh.authTimeout: expected a duration between 5s and 5m, found \"1h\"",
                "gateway.yaml: ssh.maxAuthTries: expected an integer between 1 and 20, found 0",
                "gateway.yaml: ssh.hostKeys: unknown key (expected one of: hostKey, banner, authTimeout, maxAuthTries)");
    }

    @Test
    void load_tlsCertificateWithoutKey_isRefused() throws IOException {
        assertThat(problems("tls:\n  certificate: gw.pem\n")).containsExactly(
                "gateway.yaml: tls: expected both certificate and key, or neither, found only certificate");
    }

    @Test
    void load_badId_isRefused() throws IOException {
        assertThat(problems("gateway:\n  id: \"gw|1\"\n")).containsExactly(
                "gateway.yaml: gateway.id: expected an id of 1 to 63 letters, digits, '.', '_' or '-', like gw-paris-1,"
                        + " found \"gw|1\"");
    }

    @Test
    void load_postureSection_isThePosturePolicy() throws IOException {
        GatewaySettings s = GatewaySettings.load(write("posture:\n  mode: report-only\n  lease: 5m\n"));
        assertThat(s.posture().mode()).isEqualTo(PosturePolicy.Mode.REPORT_ONLY);
        assertThat(s.posture().lease()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void load_fileWithSeveralMistakes_reportsEveryOneWithItsKeyPath() throws IOException {
        String yaml = """
                gateway:
                  id: gw-1
                listeners:
                  tunnel: 127.0.0.1:99999
                  admin: 0.0.0.0:9443
                tls:
                  key: gw.key
                  provider: boringssl
                  allowTls12: yes
                posture:
                  lease: ten
                access:
                  rules:
                    - name: admins-ssh
                      groups: [admins]
                      to: ["10.20.0.0/16:22"]
                    - name: ops
                      groups: [ops]
                      to: ["10.0.0.1:22", "db1:5432", "10.0.0.0/33:22"]
                    - groups: []
                      to: "db1:22"
                limits:
                  headerSize: 16
                  flowsPerDevice: 0
                  idleTimeot: 5m
                audit:
                  failMode: maybe
                """;
        assertThat(problems(yaml)).containsExactly(
                "gateway.yaml: listeners.tunnel: expected a port between 1 and 65535, found \"127.0.0.1:99999\"",
                "gateway.yaml: listeners.admin: expected a loopback address like 127.0.0.1:9443 (the admin API must"
                        + " not face the network unless listeners.unsafeAdminOnNetwork: true), found 0.0.0.0:9443",
                "gateway.yaml: tls.provider: expected one of openssl, jdk, auto, found \"boringssl\"",
                "gateway.yaml: tls.allowTls12: expected true or false, found \"yes\"",
                "gateway.yaml: tls: expected both certificate and key, or neither, found only key",
                "gateway.yaml: posture.lease: expected a duration like 10m, found \"ten\"",
                "gateway.yaml: access.rules[1].to[2]: expected HOST:PORT, CIDR:PORT or HOST:LOW-HIGH, found \"10.0.0.0/33:22\"",
                "gateway.yaml: access.rules[2].name: expected a rule name of letters, digits, '.', '_' or '-', like"
                        + " admins-ssh, found none",
                "gateway.yaml: access.rules[2].groups: expected at least one group, found an empty list",
                "gateway.yaml: access.rules[2].to: expected a list of strings, found \"db1:22\"",
                "gateway.yaml: limits.headerSize: expected a size like 64KiB, found 16",
                "gateway.yaml: limits.flowsPerDevice: expected an integer between 1 and 10000, found 0",
                "gateway.yaml: limits.idleTimeot: unknown key (expected one of: headerSize, headerTime, idleTimeout,"
                        + " streamsPerConnection, connectionsPerSource, flowsPerDevice)",
                "gateway.yaml: audit.failMode: expected one of closed, open, found \"maybe\"");
    }

    @Test
    void load_unknownTopLevelKey_isReportedWithTheKeysExpected() throws IOException {
        assertThat(problems("acces:\n  rules: []\n")).containsExactly(
                "gateway.yaml: acces: unknown key (expected one of: gateway, dataDir, listeners, tls, posture, access,"
                        + " limits, audit, ssh, pki, transport, vpn, proxyProtocol, registry, charter)");
    }

    @Test
    void load_transport_isReadAndAutoByDefault() throws IOException {
        assertThat(GatewaySettings.defaults().transport()).isEqualTo(TransportChoice.AUTO);
        assertThat(GatewaySettings.load(write("transport: io_uring\n")).transport()).isEqualTo(TransportChoice.IO_URING);
        assertThat(GatewaySettings.load(write("transport: epoll\n")).transport()).isEqualTo(TransportChoice.EPOLL);
        assertThat(GatewaySettings.load(write("transport: nio\n")).transport()).isEqualTo(TransportChoice.NIO);
        assertThat(GatewaySettings.load(write("transport: auto\n")).transport()).isEqualTo(TransportChoice.AUTO);
    }

    @Test
    void load_unknownTransport_isReportedWithTheChoices() throws IOException {
        assertThat(problems("transport: kqueue\n")).containsExactly(
                "gateway.yaml: transport: expected one of auto, io_uring, epoll, nio, found \"kqueue\"");
        assertThat(problems("transport: io-uring\n")).containsExactly(
                "gateway.yaml: transport: expected one of auto, io_uring, epoll, nio, found \"io-uring\"");
    }

    @Test
    void load_pkiSettings_readsTheNamedPkiYaml_relativeToThisFile() throws IOException {
        Files.writeString(dir.resolve("pki.yaml"), """
                revocation:
                  crlUrl: https://pki.example.org/pki/crl
                  ocspUrl: https://pki.example.org/pki/ocsp
                certificates:
                  deviceLifetime: 30d
                enrollment:
                  tokenTtl: 2h
                """);
        GatewaySettings s = GatewaySettings.load(write("pki:\n  settings: pki.yaml\n"));
        assertThat(s.pki().file()).isEqualTo(dir.resolve("pki.yaml"));
        assertThat(s.pki().settings().crlUrl()).hasToString("https://pki.example.org/pki/crl");
        assertThat(s.pki().settings().ocspUrl()).hasToString("https://pki.example.org/pki/ocsp");
        assertThat(s.pki().settings().certificates().deviceLifetime()).isEqualTo(Duration.ofDays(30));
        assertThat(s.pki().settings().enrollment().tokenTtl()).isEqualTo(Duration.ofHours(2));
    }

    @Test
    void load_withoutPkiSettings_derivesTheUrlsFromTheTunnelListener() throws IOException {
        GatewaySettings s = GatewaySettings.load(write("listeners:\n  tunnel: 127.0.0.2:9000\n"));
        assertThat(s.pki().file()).isNull();
        assertThat(s.pki().settings().crlUrl()).hasToString("https://127.0.0.2:9000/pki/crl");
        assertThat(s.pki().settings().ocspUrl()).hasToString("https://127.0.0.2:9000/pki/ocsp");
        assertThat(s.pki().settings().certificates()).isEqualTo(PkiSettings.Certificates.defaults());
    }

    @Test
    void load_badPkiSettings_namesTheGatewayKeyAndThePkiYamlProblem() throws IOException {
        Files.writeString(dir.resolve("pki.yaml"), "revocation:\n  ocspUrl: ftp://pki.example.org/ocsp\n");
        assertThat(problems("pki:\n  settings: pki.yaml\n")).singleElement().asString()
                .startsWith("gateway.yaml: pki.settings: expected valid PKI settings, found: " + dir.resolve("pki.yaml")
                        + ": revocation.ocspUrl: expected");
        assertThat(problems("pki:\n  settings: missing.yaml\n")).containsExactly(
                "gateway.yaml: pki.settings: expected valid PKI settings, found: " + dir.resolve("missing.yaml")
                        + ": expected a configuration file, found none");
        assertThat(problems("pki:\n  setting: pki.yaml\n")).containsExactly(
                "gateway.yaml: pki.setting: unknown key (expected one of: settings)");
    }
}
