package org.postern.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PkiSettingsTest {

    @TempDir
    Path dir;

    private Path write(String yaml) throws IOException {
        return Files.writeString(dir.resolve("pki.yaml"), yaml);
    }

    /** Problems as printed for a file named pki.yaml, with the temporary directory left out. */
    private ConfigException failure(String yaml) throws IOException {
        Path f = write(yaml);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> PkiSettings.load(f));
        assertThat(e).as("expected a ConfigException").isNotNull();
        assertThat(e.problems()).allSatisfy(p -> assertThat(p).startsWith(f + ": "));
        return new ConfigException(e.problems().stream().map(p -> p.replace(f.toString(), "pki.yaml")).toList());
    }

    @Test
    void defaults_areTheDocumentedValues() {
        PkiSettings d = PkiSettings.defaults();
        assertThat(d.ca().name()).isEqualTo("Postern");
        assertThat(d.certificates().deviceLifetime()).isEqualTo(Duration.ofDays(90));
        assertThat(d.certificates().serverLifetime()).isEqualTo(Duration.ofDays(397));
        assertThat(d.certificates().adminLifetime()).isEqualTo(Duration.ofDays(365));
        assertThat(d.certificates().ocspResponderLifetime()).isEqualTo(Duration.ofDays(30));
        assertThat(d.enrollment().tokenTtl()).isEqualTo(Duration.ofHours(24));
        assertThat(d.enrollment().maxRequestSize()).isEqualTo(DataSize.ofKiB(64));
        assertThat(d.revocation().crlUrl()).isNull();
        assertThat(d.revocation().ocspUrl()).isNull();
        assertThat(d.revocation().crlValidity()).isEqualTo(Duration.ofDays(7));
        assertThat(d.server().listen()).isEqualTo(HostPort.parse("127.0.0.1:8443"));
        assertThat(d.server().tlsCertificate()).isNull();
        assertThat(d.server().tlsKey()).isNull();
        assertThat(d.server().tls()).isFalse();
    }

    @Test
    void load_example_equalsDefaults() {
        // The example documents every key; if a default changes and the example does not, this fails.
        assertThat(PkiSettings.load(Path.of("examples/pki.yaml"))).isEqualTo(PkiSettings.defaults());
    }

    @Test
    void load_exampleWithOptionalKeysUncommented_parses() throws IOException {
        String example = Files.readString(Path.of("examples/pki.yaml"))
                .replace("  # crlUrl:", "  crlUrl:")
                .replace("  # ocspUrl:", "  ocspUrl:")
                .replace("  # tls:", "  tls:")
                .replace("  #   certificate:", "    certificate:")
                .replace("  #   key:", "    key:");
        PkiSettings s = PkiSettings.load(write(example));
        assertThat(s.revocation().crlUrl()).isEqualTo(URI.create("https://pki.example.org/pki/crl"));
        assertThat(s.revocation().ocspUrl()).isEqualTo(URI.create("https://pki.example.org/pki/ocsp"));
        assertThat(s.server().tlsCertificate()).isEqualTo(dir.resolve("tls/server.pem"));
        assertThat(s.server().tlsKey()).isEqualTo(dir.resolve("tls/server.key"));
    }

    @Test
    void load_emptyFile_givesDefaults() throws IOException {
        assertThat(PkiSettings.load(write(""))).isEqualTo(PkiSettings.defaults());
        assertThat(PkiSettings.load(write("# nothing set\n"))).isEqualTo(PkiSettings.defaults());
        assertThat(PkiSettings.load(write("enrollment:\nserver: {}\n"))).isEqualTo(PkiSettings.defaults());
    }

    @Test
    void load_everyKeySet_isRead() throws IOException {
        PkiSettings s = PkiSettings.load(write("""
                ca:
                  name: Ministry Devices CA
                certificates:
                  deviceLifetime: 30d
                  serverLifetime: 90d
                  adminLifetime: 180d
                  ocspResponderLifetime: 7d
                enrollment:
                  tokenTtl: 1h30m
                  maxRequestSize: 16KiB
                revocation:
                  crlUrl: http://pki.example.org/pki/crl
                  ocspUrl: https://pki.example.org/pki/ocsp
                  crlValidity: 2d
                server:
                  listen: "[::1]:9000"
                  tls:
                    certificate: /etc/postern/tls/pki.pem
                    key: tls/pki.key
                """));
        assertThat(s).isEqualTo(new PkiSettings(
                new PkiSettings.Ca("Ministry Devices CA"),
                new PkiSettings.Certificates(Duration.ofDays(30), Duration.ofDays(90), Duration.ofDays(180),
                        Duration.ofDays(7)),
                new PkiSettings.Enrollment(Duration.ofMinutes(90), DataSize.ofKiB(16)),
                new PkiSettings.Revocation(URI.create("http://pki.example.org/pki/crl"),
                        URI.create("https://pki.example.org/pki/ocsp"), Duration.ofDays(2)),
                new PkiSettings.Server(new HostPort("::1", 9000), Path.of("/etc/postern/tls/pki.pem"),
                        dir.resolve("tls/pki.key"))));
        assertThat(s.server().tls()).isTrue();
    }

    @Test
    void load_badDuration_namesFileKeyExpectedAndFound() throws IOException {
        assertThat(failure("enrollment:\n  tokenTtl: ten\n").problems())
                .containsExactly("pki.yaml: enrollment.tokenTtl: expected a duration like 10m, found \"ten\"");
    }

    @Test
    void load_unknownKey_isRejectedWithExpectedKeys() throws IOException {
        assertThat(failure("enrollment:\n  tokenTTL: 10m\n").problems())
                .containsExactly("pki.yaml: enrollment.tokenTTL: unknown key (expected one of: tokenTtl, maxRequestSize)");
        assertThat(failure("enrolment:\n  tokenTtl: 10m\n").problems())
                .containsExactly("pki.yaml: enrolment: unknown key (expected one of: ca, certificates, enrollment,"
                        + " revocation, server, registry)");
        assertThat(failure("server:\n  tls:\n    cert: a.pem\n").problems())
                .containsExactly("pki.yaml: server.tls.cert: unknown key (expected one of: certificate, key)");
    }

    @Test
    void load_severalMistakes_reportsAllTogether() throws IOException {
        ConfigException e = failure("""
                ca:
                  name: ""
                certificates:
                  deviceLifetime: 30m
                enrollment:
                  tokenTtl: ten
                  maxRequestSize: 2MiB
                revocation:
                  crlUrl: ldap://ldap.example.org/cn=crl
                  crlValidity: 1y
                server:
                  listen: ::1:8443
                  tls:
                    key: tls/server.key
                  backlog: 128
                """);
        assertThat(e.problems()).containsExactly(
                "pki.yaml: ca.name: expected a string of 1 to 64 characters, found \"\"",
                "pki.yaml: certificates.deviceLifetime: expected a duration between 1h and 3650d, found \"30m\"",
                "pki.yaml: enrollment.tokenTtl: expected a duration like 10m, found \"ten\"",
                "pki.yaml: enrollment.maxRequestSize: expected a size between 1KiB and 1MiB, found \"2MiB\"",
                "pki.yaml: revocation.crlUrl: expected an absolute http or https URL like"
                        + " https://pki.example.org/pki/crl, found \"ldap://ldap.example.org/cn=crl\"",
                "pki.yaml: revocation.crlValidity: expected a duration like 10m, found \"1y\"",
                "pki.yaml: server.listen: expected host:port like 127.0.0.1:8443 or [::1]:8443, found \"::1:8443\"",
                "pki.yaml: server.tls: expected both certificate and key, or neither, found only key",
                "pki.yaml: server.backlog: unknown key (expected one of: listen, tls)");
        assertThat(e.getMessage()).isEqualTo(String.join("\n", e.problems()));
    }

    @Test
    void load_bounds_areEnforcedForEachSetting() throws IOException {
        assertThat(failure("""
                ca: {name: %s}
                certificates: {serverLifetime: 3651d, adminLifetime: 59m, ocspResponderLifetime: 0s}
                enrollment: {tokenTtl: 59s, maxRequestSize: 1023B}
                revocation: {crlValidity: 91d}
                """.formatted("x".repeat(65))).problems()).containsExactly(
                "pki.yaml: ca.name: expected a string of 1 to 64 characters, found \"" + "x".repeat(60) + "…\"",
                "pki.yaml: certificates.serverLifetime: expected a duration between 1h and 3650d, found \"3651d\"",
                "pki.yaml: certificates.adminLifetime: expected a duration between 1h and 3650d, found \"59m\"",
                "pki.yaml: certificates.ocspResponderLifetime: expected a duration between 1h and 3650d, found \"0s\"",
                "pki.yaml: enrollment.tokenTtl: expected a duration between 1m and 30d, found \"59s\"",
                "pki.yaml: enrollment.maxRequestSize: expected a size between 1KiB and 1MiB, found \"1023B\"",
                "pki.yaml: revocation.crlValidity: expected a duration between 1h and 90d, found \"91d\"");
    }

    @Test
    void load_listWhereMapExpected_isRejected() throws IOException {
        assertThat(failure("enrollment:\n  - tokenTtl: 10m\nserver: 127.0.0.1:8443\n").problems()).containsExactly(
                "pki.yaml: enrollment: expected a map, found a list",
                "pki.yaml: server: expected a map, found \"127.0.0.1:8443\"");
    }

    @Test
    void load_mapWhereValueExpected_isRejected() throws IOException {
        assertThat(failure("enrollment:\n  tokenTtl: {hours: 24}\nca:\n  name: [a, b]\n").problems()).containsExactly(
                "pki.yaml: ca.name: expected a string of 1 to 64 characters, found a list",
                "pki.yaml: enrollment.tokenTtl: expected a duration like 10m, found a map");
    }

    @Test
    void load_topLevelList_isRejected() throws IOException {
        assertThat(failure("- ca\n- server\n").problems())
                .containsExactly("pki.yaml: expected a map of settings at the top level, found a list");
    }

    @Test
    void load_yamlSyntaxError_namesLineAndColumn() throws IOException {
        assertThat(failure("ca:\n  name: Postern\n enrollment: {}\n").problems())
                .containsExactly("pki.yaml: line 3, column 2: invalid YAML: expected <block end>, but found '<block mapping start>'");
    }

    @Test
    void load_unclosedFlowList_namesWhereItEnds() throws IOException {
        assertThat(failure("server:\n  listen: [127.0.0.1:8443\n").problems())
                .containsExactly("pki.yaml: line 3, column 1: invalid YAML: expected ',' or ']', but got <stream end>");
    }

    @Test
    void load_tlsCertificateWithoutKey_isRejected() throws IOException {
        assertThat(failure("server:\n  tls:\n    certificate: tls/server.pem\n").problems())
                .containsExactly("pki.yaml: server.tls: expected both certificate and key, or neither, found only certificate");
    }

    @Test
    void load_tlsKeyWithoutCertificate_isRejected() throws IOException {
        assertThat(failure("server:\n  tls:\n    key: tls/server.key\n").problems())
                .containsExactly("pki.yaml: server.tls: expected both certificate and key, or neither, found only key");
    }

    @Test
    void load_relativeTlsPaths_areResolvedAgainstTheFilesDirectory() throws IOException {
        Path sub = Files.createDirectories(dir.resolve("etc"));
        Path f = Files.writeString(sub.resolve("pki.yaml"),
                "server:\n  tls:\n    certificate: tls/server.pem\n    key: ../secrets/server.key\n");
        PkiSettings s = PkiSettings.load(f);
        assertThat(s.server().tlsCertificate()).isEqualTo(sub.resolve("tls/server.pem").toAbsolutePath());
        assertThat(s.server().tlsKey()).isEqualTo(dir.resolve("secrets/server.key").toAbsolutePath());
    }

    @Test
    void load_missingFile_isReported() {
        Path f = dir.resolve("absent.yaml");
        assertThatThrownBy(() -> PkiSettings.load(f))
                .isInstanceOf(ConfigException.class)
                .hasMessage(f + ": expected a configuration file, found none");
    }

    @Test
    void revocationUrls_absent_areDerivedFromTheListenAddress() {
        PkiSettings d = PkiSettings.defaults();
        assertThat(d.crlUrl()).isEqualTo(URI.create("https://127.0.0.1:8443/pki/crl"));
        assertThat(d.ocspUrl()).isEqualTo(URI.create("https://127.0.0.1:8443/pki/ocsp"));
        PkiSettings v6tls = new PkiSettings(d.ca(), d.certificates(), d.enrollment(), d.revocation(),
                new PkiSettings.Server(HostPort.parse("[::1]:9443"), Path.of("c.pem"), Path.of("k.pem")));
        assertThat(v6tls.crlUrl()).isEqualTo(URI.create("https://[::1]:9443/pki/crl"));
    }

    @Test
    void revocationUrls_set_areUsedAsGiven() {
        PkiSettings d = PkiSettings.defaults();
        PkiSettings s = new PkiSettings(d.ca(), d.certificates(), d.enrollment(),
                new PkiSettings.Revocation(URI.create("http://crl.example.org/ca.crl"),
                        URI.create("http://ocsp.example.org/"), Duration.ofDays(7)), d.server());
        assertThat(s.crlUrl()).isEqualTo(URI.create("http://crl.example.org/ca.crl"));
        assertThat(s.ocspUrl()).isEqualTo(URI.create("http://ocsp.example.org/"));
    }

    @Test
    void constructors_enforceTheSameRulesAsTheFile() {
        assertThatThrownBy(() -> new PkiSettings.Ca(""))
                .hasMessage("ca.name: expected a string of 1 to 64 characters, found \"\"");
        assertThatThrownBy(() -> new PkiSettings.Certificates(Duration.ofMinutes(5), Duration.ofDays(1),
                Duration.ofDays(1), Duration.ofDays(1)))
                .hasMessage("certificates.deviceLifetime: expected a duration between 1h and 3650d, found 5m");
        assertThatThrownBy(() -> new PkiSettings.Enrollment(Duration.ofHours(1), DataSize.ofMiB(2)))
                .hasMessage("enrollment.maxRequestSize: expected a size between 1KiB and 1MiB, found 2MiB");
        assertThatThrownBy(() -> new PkiSettings.Revocation(URI.create("ftp://x/crl"), null, Duration.ofDays(1)))
                .hasMessage("revocation.crlUrl: expected an absolute http or https URL, found \"ftp://x/crl\"");
        assertThatThrownBy(() -> new PkiSettings.Server(PkiSettings.Server.DEFAULT_LISTEN, Path.of("c.pem"), null))
                .hasMessage("server.tls: expected both certificate and key, or neither, found only certificate");
        assertThatThrownBy(() -> new PkiSettings.Enrollment(null, DataSize.ofKiB(64)))
                .isInstanceOf(NullPointerException.class);
    }
}
