package org.postern.config.agent;

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
import org.postern.config.TransportChoice;
import org.postern.config.ConfigException;
import org.postern.config.HostPort;

class AgentSettingsTest {

    @TempDir
    Path dir;

    private Path write(String yaml) throws IOException {
        return Files.writeString(dir.resolve("agent.yaml"), yaml);
    }

    private List<String> problems(String yaml) throws IOException {
        Path f = write(yaml);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> AgentSettings.load(f));
        assertThat(e).as("expected a ConfigException for:\n" + yaml).isNotNull();
        return e.problems().stream().map(p -> p.replace(f.toString(), "agent.yaml")).toList();
    }

    @Test
    void defaults_areTheDocumentedValues() {
        AgentSettings d = AgentSettings.defaults();
        assertThat(d.gateways()).isEmpty();
        assertThat(d.stateDir()).isNull();
        assertThat(d.socks().enabled()).isTrue();
        assertThat(d.socks().listen()).isEqualTo(HostPort.parse("127.0.0.1:1080"));
        assertThat(d.socks().unsafeListenOnNetwork()).isFalse();
        assertThat(d.forwards()).isEmpty();
        assertThat(d.posture().collector()).isEqualTo(AgentSettings.Posture.Collector.NATIVE);
        assertThat(d.posture().retryInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(d.posture().renewMargin()).isEqualTo(Duration.ofMinutes(2));
        assertThat(d.reconnect().minBackoff()).isEqualTo(Duration.ofSeconds(1));
        assertThat(d.reconnect().maxBackoff()).isEqualTo(Duration.ofSeconds(60));
        assertThat(d.ssh()).isEqualTo(new AgentSettings.Ssh(true, null, null));
        assertThat(d.tls().provider()).isEqualTo(AgentSettings.Tls.Provider.AUTO);
    }

    @Test
    void load_emptyFile_isTheDefaults() throws IOException {
        assertThat(AgentSettings.load(write(""))).isEqualTo(AgentSettings.defaults());
    }

    @Test
    void load_example_equalsDefaultsWithItsForward() {
        AgentSettings example = AgentSettings.load(Path.of("examples/agent.yaml"));
        assertThat(example.forwards()).containsExactly(new AgentSettings.Forward(HostPort.parse("127.0.0.1:2201"),
                HostPort.parse("db1.admin.internal:22")));
        // Everything else is the default; if a default changes and the example does not, this fails.
        assertThat(new AgentSettings(example.gateways(), example.stateDir(), example.socks(), List.of(),
                example.posture(), example.reconnect(), example.ssh(), example.tls())).isEqualTo(AgentSettings.defaults());
        assertThat(example.vpn()).isEqualTo(AgentSettings.Vpn.defaults());
    }

    @Test
    void load_exampleWithOptionalKeysUncommented_parses() throws IOException {
        String text = Files.readString(Path.of("examples/agent.yaml"))
                .replace("# gateway:", "gateway:").replace("# stateDir:", "stateDir:")
                .replace("# bastion:", "bastion:").replace("# knownHosts:", "knownHosts:");
        AgentSettings s = AgentSettings.load(write(text));
        assertThat(s.ssh().bastion()).isEqualTo(HostPort.parse("gw.example.org:2222"));
        assertThat(s.ssh().knownHosts()).isEqualTo(Path.of("/home/alice/.postern-agent/ssh/known_hosts"));
        assertThat(s.gateways()).containsExactly(java.net.URI.create("https://gw.example.org:8443"));
        assertThat(s.stateDir()).isEqualTo(Path.of("/home/alice/.postern-agent"));
    }

    @Test
    void load_everyProblemReportedTogether() throws IOException {
        assertThat(problems("""
                gateway: http://gw.example.org
                socks:
                  listen: 0.0.0.0:1080
                forwards:
                  - listen: 10.0.0.5:2201
                    to: db1:22
                  - to: db2:22
                  - listen: 127.0.0.1:2203
                posture:
                  retryInterval: thirty
                  renewMargin: 0s
                reconnect:
                  minBackoff: 5s
                  maxBackoff: 2s
                ssh:
                  enabled: maybe
                  bastion: gw.example.org
                tls:
                  provider: boringssl
                sock: {}
                """)).containsExactly(
                "agent.yaml: gateway: expected an https URL like https://gw.example.org:8443, found \"http://gw.example.org\"",
                "agent.yaml: socks.listen: expected a loopback address like 127.0.0.1:1080 (anyone who reaches the SOCKS5"
                        + " listener uses this device's access, unless socks.unsafeListenOnNetwork: true), found 0.0.0.0:1080",
                "agent.yaml: forwards[0].listen: expected a loopback address like 127.0.0.1:2201 (a forward must not face"
                        + " the network), found 10.0.0.5:2201",
                "agent.yaml: forwards[1].listen: expected a loopback host:port like 127.0.0.1:2201, found none",
                "agent.yaml: forwards[2].to: expected the destination host:port like db1.admin.internal:22, found none",
                "agent.yaml: posture.retryInterval: expected a duration like 10m, found \"thirty\"",
                "agent.yaml: posture.renewMargin: expected a duration between 1s and 1h, found \"0s\"",
                "agent.yaml: reconnect.maxBackoff: expected a duration of at least reconnect.minBackoff (5s), found 2s",
                "agent.yaml: ssh.enabled: expected true or false, found \"maybe\"",
                "agent.yaml: ssh.bastion: expected host:port like 127.0.0.1:8443 or [::1]:8443, found \"gw.example.org\"",
                "agent.yaml: tls.provider: expected one of auto, openssl, jdk, found \"boringssl\"",
                "agent.yaml: sock: unknown key (expected one of: gateway, gateways, stateDir, socks, forwards, posture, reconnect, ssh, tls,"
                        + " transport, vpn)");
    }

    @Test
    void gateways_areKeptInTheirOrder_andOneGatewayIsAListOfOne() throws IOException {
        assertThat(AgentSettings.load(write("""
                gateways:
                  - https://gw2.example.org:8443
                  - https://gw1.example.org
                """)).gateways()).containsExactly(java.net.URI.create("https://gw2.example.org:8443"),
                java.net.URI.create("https://gw1.example.org"));
        assertThat(AgentSettings.load(write("gateway: https://gw.example.org:8443\n")).gateways())
                .containsExactly(java.net.URI.create("https://gw.example.org:8443"));
    }

    @Test
    void gateways_bothKeysOrAnEmptyList_areReported() throws IOException {
        assertThat(problems("""
                gateway: https://gw1.example.org:8443
                gateways: [https://gw2.example.org:8443]
                """)).containsExactly("agent.yaml: gateways: expected either gateway or gateways, found both"
                + " (gateway: https://gw1.example.org:8443; put every URL under gateways)");
        assertThat(problems("gateways: []\n")).containsExactly(
                "agent.yaml: gateways: expected at least one URL (an https URL like https://gw.example.org:8443), found an empty list");
        assertThat(problems("gateways:\n  - {url: x}\n")).containsExactly(
                "agent.yaml: gateways[0]: expected a string, found a map");
    }

    @Test
    void gateways_badAndRepeatedUrls_areEachNamed() throws IOException {
        assertThat(problems("""
                gateways:
                  - https://gw1.example.org:8443
                  - http://gw2.example.org:8443
                  - https://gw1.example.org:8443
                """)).containsExactly(
                "agent.yaml: gateways[1]: expected an https URL like https://gw.example.org:8443, found \"http://gw2.example.org:8443\"",
                "agent.yaml: gateways[2]: expected each URL once, found https://gw1.example.org:8443 again");
        assertThatThrownBy(() -> new AgentSettings(List.of(java.net.URI.create("http://gw")), null,
                AgentSettings.Socks.defaults(), List.of(), AgentSettings.Posture.defaults(), AgentSettings.Reconnect.defaults()))
                .hasMessage("gateways: expected an https URL like https://gw.example.org:8443, found \"http://gw\"");
    }

    @Test
    void load_tlsProvider_isReadAsWritten() throws IOException {
        assertThat(AgentSettings.load(write("tls:\n  provider: openssl\n")).tls().provider())
                .isEqualTo(AgentSettings.Tls.Provider.OPENSSL);
        assertThat(AgentSettings.load(write("tls:\n  provider: jdk\n")).tls().provider())
                .isEqualTo(AgentSettings.Tls.Provider.JDK);
    }

    @Test
    void transport_isReadAndAutoByDefault_andAnUnknownOneIsReported() throws IOException {
        assertThat(AgentSettings.defaults().transport()).isEqualTo(TransportChoice.AUTO);
        assertThat(AgentSettings.load(write("transport: epoll\n")).transport()).isEqualTo(TransportChoice.EPOLL);
        assertThat(AgentSettings.load(write("transport: nio\n")).transport()).isEqualTo(TransportChoice.NIO);
        assertThat(problems("transport: uring\n")).containsExactly(
                "agent.yaml: transport: expected one of auto, io_uring, epoll, nio, found \"uring\"");
    }

    @Test
    void ssh_bastionDefaultsToTheGatewayHostOnPort2222() throws IOException {
        java.net.URI gw = java.net.URI.create("https://gw.example.org:8443");
        assertThat(AgentSettings.defaults().ssh().bastionFor(gw)).isEqualTo(HostPort.parse("gw.example.org:2222"));
        AgentSettings s = AgentSettings.load(write("ssh: {enabled: false, bastion: 'bastion.example.org:22', knownHosts: kh}\n"));
        assertThat(s.ssh().enabled()).isFalse();
        assertThat(s.ssh().bastionFor(gw)).isEqualTo(HostPort.parse("bastion.example.org:22"));
        assertThat(s.ssh().knownHosts()).isEqualTo(dir.resolve("kh"));
    }

    @Test
    void load_unsafeListenOnNetwork_allowsNonLoopbackSocks() throws IOException {
        AgentSettings s = AgentSettings.load(write("socks: {listen: 0.0.0.0:1080, unsafeListenOnNetwork: true}\n"));
        assertThat(s.socks().listen()).isEqualTo(HostPort.parse("0.0.0.0:1080"));
    }

    @Test
    void load_forwardOnTheSocksPort_isAClash() throws IOException {
        assertThat(problems("forwards: [{listen: 127.0.0.1:1080, to: db1:22}]\n")).containsExactly(
                "agent.yaml: forwards: expected each listen address once (socks.listen included), found 127.0.0.1:1080 twice");
        // with SOCKS5 off, the port is free
        assertThat(AgentSettings.load(write("socks: {enabled: false}\nforwards: [{listen: 127.0.0.1:1080, to: db1:22}]\n"))
                .forwards()).hasSize(1);
    }

    @Test
    void records_validateAsTheFileDoes() {
        assertThatThrownBy(() -> new AgentSettings.Forward(HostPort.parse("[::]:22"), HostPort.parse("db:22")))
                .hasMessageContaining("forwards: listen: expected a loopback address");
        assertThat(new AgentSettings.Forward(HostPort.parse("[::1]:2201"), HostPort.parse("db:22")).listen().host())
                .isEqualTo("::1");
        assertThatThrownBy(() -> new AgentSettings.Reconnect(Duration.ofSeconds(5), Duration.ofSeconds(1)))
                .hasMessageContaining("reconnect.maxBackoff");
    }

    @Test
    void backoff_doublesUpToTheMaximum() {
        AgentSettings.Reconnect r = AgentSettings.Reconnect.defaults();
        assertThat(List.of(r.backoff(0), r.backoff(1), r.backoff(2), r.backoff(5), r.backoff(6), r.backoff(1000)))
                .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4),
                        Duration.ofSeconds(32), Duration.ofSeconds(60), Duration.ofSeconds(60));
    }

    @Test
    void vpn_defaultsAreOffAutoPostern0WithDns() throws IOException {
        AgentSettings.Vpn v = AgentSettings.load(write("")).vpn();
        assertThat(v).isEqualTo(AgentSettings.Vpn.defaults());
        assertThat(v.enabled()).isFalse();
        assertThat(v.fullTunnel()).isFalse();
        assertThat(v.transport()).isEqualTo(AgentSettings.Vpn.Transport.AUTO);
        assertThat(v.interfaceName()).isEqualTo("postern0");
        assertThat(v.dns()).isTrue();
        assertThat(AgentSettings.defaults().vpn()).isEqualTo(v);
    }

    @Test
    void vpn_everyKey_isRead() throws IOException {
        AgentSettings.Vpn v = AgentSettings.load(write(
                "vpn:\n  enabled: true\n  fullTunnel: true\n  transport: h2\n  interface: pst_1\n  dns: false\n")).vpn();
        assertThat(v).isEqualTo(new AgentSettings.Vpn(true, true, AgentSettings.Vpn.Transport.H2, "pst_1", false));
        assertThat(AgentSettings.load(write("vpn:\n  transport: h3\n")).vpn().transport())
                .isEqualTo(AgentSettings.Vpn.Transport.H3);
    }

    @Test
    void vpn_badValues_nameTheKeyExpectedAndFound() throws IOException {
        assertThat(problems("vpn:\n  enabled: on\n")).containsExactly("agent.yaml: vpn.enabled: expected true or false, found \"on\"");
        assertThat(problems("vpn:\n  fullTunnel: 0\n")).containsExactly("agent.yaml: vpn.fullTunnel: expected true or false, found 0");
        assertThat(problems("vpn:\n  dns: [10.0.0.53]\n")).containsExactly(
                "agent.yaml: vpn.dns: expected true or false, found a list");
        assertThat(problems("vpn:\n  transport: quic\n")).containsExactly(
                "agent.yaml: vpn.transport: expected one of auto, h3, h2, found \"quic\"");
        assertThat(problems("vpn:\n  interface: \"tun/0\"\n")).containsExactly("agent.yaml: vpn.interface: expected an"
                + " interface name of 1 to 15 letters, digits, '_', '.' or '-', starting with a letter or digit, like postern0,"
                + " found \"tun/0\"");
        assertThat(problems("vpn:\n  pool: 10.0.0.0/8\n")).singleElement().asString()
                .startsWith("agent.yaml: vpn.pool: unknown key (expected one of: enabled, fullTunnel, transport, interface, dns)");
        assertThatThrownBy(() -> new AgentSettings.Vpn(true, false, AgentSettings.Vpn.Transport.AUTO, "", true))
                .hasMessageStartingWith("vpn.interface: expected an interface name");
    }
}
