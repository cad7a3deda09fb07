package org.postern.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.gateway.GatewaySettings;

class RegistrySettingsTest {

    @TempDir
    Path dir;

    private RegistrySettings parse(String yaml, Map<String, String> env) {
        return ConfigReader.parse(yaml, "pki.yaml", dir, r -> r.section("registry", s -> RegistrySettings.read(s, env)));
    }

    private ConfigException failure(String yaml, Map<String, String> env) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> parse(yaml, env));
        assertThat(e).as("expected a ConfigException").isNotNull();
        return e;
    }

    private Path passwordFile(String mode) throws IOException {
        Path f = dir.resolve("registry.pw");
        Files.writeString(f, "s3cret-pw\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
        return f;
    }

    @Test
    void absent_isSqliteWithTheDocumentedDefaults() {
        RegistrySettings s = parse("", Map.of());
        assertThat(s).isEqualTo(RegistrySettings.defaults());
        assertThat(s.postgres()).isNull();
        assertThat(s.url()).isEqualTo("sqlite");
        assertThat(s.maxStale()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.poolSize()).isEqualTo(8);
        assertThat(parse("registry: {url: sqlite, maxStale: 2s}", Map.of()).maxStale()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void postgresql_withPasswordFile_isRead() throws Exception {
        Path pw = passwordFile("rw-------");
        Path ca = caFile("db-ca.pem");
        RegistrySettings s = parse("""
                registry:
                  url: postgresql://db.example.org:5432/postern
                  user: postern_gw
                  passwordFile: registry.pw
                  tlsCa: db-ca.pem
                  maxStale: 10s
                  poolSize: 16
                """, Map.of(RegistrySettings.PASSWORD_ENV, "ignored-when-a-file-is-named"));
        assertThat(pw).exists();
        assertThat(s.postgres()).isNotNull();
        assertThat(s.postgres().host()).isEqualTo("db.example.org");
        assertThat(s.postgres().port()).isEqualTo(5432);
        assertThat(s.postgres().database()).isEqualTo("postern");
        assertThat(s.postgres().user()).isEqualTo("postern_gw");
        assertThat(s.postgres().password().reveal()).isEqualTo("s3cret-pw");
        assertThat(s.url()).isEqualTo("postgresql://db.example.org:5432/postern");
        assertThat(s.maxStale()).isEqualTo(Duration.ofSeconds(10));
        assertThat(s.poolSize()).isEqualTo(16);
        assertThat(s.postgres().tlsCa()).isEqualTo(ca);
        assertThat(s.postgres().unsafePlaintext()).isFalse();
        assertThat(s.toString()).doesNotContain("s3cret-pw").contains("redacted");
    }

    /** Review of issue 14: the driver's default does not verify the server, so a man in the middle could hide revocations. */
    @Test
    void tls_otherHostWithoutCa_isRefusedNamingTlsCa() {
        assertThat(failure("registry: {url: 'postgresql://db.example.org:5432/postern', user: gw}", Map.of(RegistrySettings.PASSWORD_ENV, "p"))
                .problems()).containsExactly("pki.yaml: registry.tlsCa: expected the PEM file of the CA that signed PostgreSQL's "
                + "server certificate (verified TLS to db.example.org, which is not this host), found none "
                + "(or set registry.unsafePlaintext: true to allow no TLS)");
        assertThatThrownBy(() -> new RegistrySettings.Postgres("10.0.0.5", 5432, "postern", "gw", Secret.of("p"), null, false))
                .hasMessage("registry.tlsCa: expected a CA file for verified TLS to 10.0.0.5 (not this host), found none");
    }

    @Test
    void tls_unsafePlaintext_allowsAnotherHostWithoutCa() {
        RegistrySettings s = parse("registry: {url: 'postgresql://10.0.0.5:5432/postern', user: gw, unsafePlaintext: true}",
                Map.of(RegistrySettings.PASSWORD_ENV, "p"));
        assertThat(s.postgres().unsafePlaintext()).isTrue();
        assertThat(s.postgres().tlsCa()).isNull();
    }

    @Test
    void tls_caAndUnsafePlaintext_bothOrBadCa_areRefused() throws Exception {
        caFile("ca.pem");
        Files.writeString(dir.resolve("not-pem.txt"), "hello\n");
        Map<String, String> env = Map.of(RegistrySettings.PASSWORD_ENV, "p");
        assertThat(failure("registry: {url: 'postgresql://db:5432/postern', user: gw, tlsCa: ca.pem, unsafePlaintext: true}", env)
                .problems()).containsExactly("pki.yaml: registry.unsafePlaintext: expected either registry.tlsCa (verified TLS) "
                + "or registry.unsafePlaintext: true, found both");
        assertThat(failure("registry: {url: 'postgresql://db:5432/postern', user: gw, tlsCa: missing.pem}", env).problems())
                .singleElement().asString().startsWith("pki.yaml: registry.tlsCa: expected a readable PEM file of CA certificates at "
                        + dir.resolve("missing.pem") + ", found ");
        assertThat(failure("registry: {url: 'postgresql://db:5432/postern', user: gw, tlsCa: not-pem.txt}", env).problems())
                .singleElement().asString().startsWith("pki.yaml: registry.tlsCa: expected a ");
        assertThat(failure("registry: {tlsCa: ca.pem}", env).problems()).containsExactly("pki.yaml: registry.tlsCa: expected no "
                + "TLS setting with the SQLite registry, found registry.tlsCa (set registry.url to postgresql://HOST:PORT/DB)");
    }

    @Test
    void isLoopback_literalLoopbackOnly_noNameResolved() {
        assertThat(RegistrySettings.isLoopback("127.0.0.1")).isTrue();
        assertThat(RegistrySettings.isLoopback("127.255.3.9")).isTrue();
        assertThat(RegistrySettings.isLoopback("localhost")).isTrue();
        assertThat(RegistrySettings.isLoopback("[::1]")).isTrue();
        assertThat(RegistrySettings.isLoopback("128.0.0.1")).isFalse();
        assertThat(RegistrySettings.isLoopback("127.0.0.256")).isFalse();
        assertThat(RegistrySettings.isLoopback("127.db.example.org")).isFalse();
        assertThat(RegistrySettings.isLoopback("localhost.example.org")).isFalse();
        assertThat(RegistrySettings.isLoopback("[::2]")).isFalse();
        assertThat(RegistrySettings.isLoopback("db")).isFalse();
    }

    /** A self-signed P-256 CA certificate made by the real openssl, as an operator would have. */
    private Path caFile(String name) throws Exception {
        Path out = dir.resolve(name);
        Process p = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=db-ca", "-days", "1", "-keyout", dir.resolve(name + ".key").toString(), "-out", out.toString())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("openssl req -x509: %s", output).isZero();
        return out;
    }

    @Test
    void postgresql_passwordFromEnvironment_andIpv6Host() {
        RegistrySettings s = parse("registry: {url: 'postgresql://[::1]:6432/reg', user: gw}",
                Map.of(RegistrySettings.PASSWORD_ENV, "from-env"));
        assertThat(s.postgres().host()).isEqualTo("[::1]");
        assertThat(s.postgres().port()).isEqualTo(6432);
        assertThat(s.postgres().password().reveal()).isEqualTo("from-env");
        assertThat(s.toString()).doesNotContain("from-env");
    }

    @Test
    void badUrl_namesTheKeyAndBothForms() {
        assertThat(failure("registry: {url: 'mysql://x'}", Map.of()).problems()).containsExactly(
                "pki.yaml: registry.url: expected sqlite or postgresql://HOST:PORT/DB, found \"mysql://x\"");
        assertThat(failure("registry: {url: 'postgresql://db/postern', user: u}", Map.of("POSTERN_REGISTRY_PASSWORD", "p"))
                .problems()).containsExactly(
                "pki.yaml: registry.url: expected sqlite or postgresql://HOST:PORT/DB, found \"postgresql://db/postern\"");
        assertThat(failure("registry: {url: 'postgresql://db:70000/postern', user: u}", Map.of("POSTERN_REGISTRY_PASSWORD", "p"))
                .problems()).singleElement().asString().contains("registry.url: expected", "port between 1 and 65535");
    }

    @Test
    void postgresql_withoutUserOrPassword_isRefused() {
        assertThat(failure("registry: {url: 'postgresql://127.0.0.1:5432/postern'}", Map.of()).problems()).containsExactly(
                "pki.yaml: registry.user: expected the PostgreSQL role to log in as, found none");
        assertThat(failure("registry: {url: 'postgresql://127.0.0.1:5432/postern', user: gw}", Map.of()).problems()).containsExactly(
                "pki.yaml: registry.passwordFile: expected a password file, or the password in the environment variable "
                        + "POSTERN_REGISTRY_PASSWORD, found neither");
    }

    @Test
    void passwordFile_readableByOthers_isRefused() throws IOException {
        passwordFile("rw-r--r--");
        assertThat(failure("registry: {url: 'postgresql://127.0.0.1:5432/postern', user: gw, passwordFile: registry.pw}", Map.of())
                .problems()).singleElement().asString()
                .contains("registry.passwordFile: expected a file only its owner can read (mode 0600 or 0400), found mode rw-r--r--")
                .doesNotContain("s3cret-pw");
        passwordFile("r--------");
        assertThat(parse("registry: {url: 'postgresql://127.0.0.1:5432/postern', user: gw, passwordFile: registry.pw}", Map.of())
                .postgres().password().reveal()).isEqualTo("s3cret-pw");
    }

    @Test
    void passwordFile_missing_isRefused() {
        assertThat(failure("registry: {url: 'postgresql://127.0.0.1:5432/postern', user: gw, passwordFile: none.pw}", Map.of())
                .problems()).singleElement().asString().startsWith("pki.yaml: registry.passwordFile: expected a readable password file at");
    }

    @Test
    void credentialsWithSqlite_andOutOfRangeNumbers_areRefused() {
        assertThat(failure("registry: {user: gw, maxStale: 2h, poolSize: 0}", Map.of()).problems()).containsExactlyInAnyOrder(
                "pki.yaml: registry.user: expected no credentials with the SQLite registry, found registry.user "
                        + "(set registry.url to postgresql://HOST:PORT/DB)",
                "pki.yaml: registry.maxStale: expected a duration between 1s and 1h, found \"2h\"",
                "pki.yaml: registry.poolSize: expected an integer between 1 and 100, found 0");
        assertThat(failure("registry: {maxStale: 500ms}", Map.of()).problems()).containsExactly(
                "pki.yaml: registry.maxStale: expected a duration between 1s and 1h, found \"500ms\"");
        assertThatThrownBy(() -> new RegistrySettings(null, Duration.ofHours(2), 8))
                .hasMessage("registry.maxStale: expected a duration between 1s and 1h, found 2h");
    }

    @Test
    void bothFiles_takeTheSection() {
        assertThat(ConfigReader.parse("registry: {maxStale: 3s}", "pki.yaml", dir, PkiSettings::read).registry().maxStale())
                .isEqualTo(Duration.ofSeconds(3));
        assertThat(ConfigReader.parse("registry: {poolSize: 3}", "gateway.yaml", dir, GatewaySettings::read).registry().poolSize())
                .isEqualTo(3);
        assertThat(GatewaySettings.defaults().registry()).isEqualTo(RegistrySettings.defaults());
        assertThat(PkiSettings.defaults().registry()).isEqualTo(RegistrySettings.defaults());
    }

    @Test
    void gatewayRegistry_otherThanItsPkiSettings_isRefused() throws IOException {
        passwordFile("rw-------");
        Files.writeString(dir.resolve("pki.yaml"), "registry: {url: 'postgresql://127.0.0.1:5432/postern', user: gw, passwordFile: registry.pw}\n");

        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigReader.parse("pki: {settings: pki.yaml}\n", "gateway.yaml", dir, GatewaySettings::read));
        assertThat(e.problems()).containsExactly("gateway.yaml: registry: expected the registry of pki.settings "
                + "(postgresql://127.0.0.1:5432/postern in " + dir.resolve("pki.yaml") + "), found url sqlite");

        GatewaySettings same = ConfigReader.parse("pki: {settings: pki.yaml}\nregistry: {url: 'postgresql://127.0.0.1:5432/postern', user: gw, "
                + "passwordFile: registry.pw}\n", "gateway.yaml", dir, GatewaySettings::read);
        assertThat(same.registry()).isEqualTo(same.pki().settings().registry());
    }
}
