package org.postern.config.posture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.ConfigException;
import org.postern.config.ConfigReader;
import org.postern.config.posture.PosturePolicy.Mode;

class PosturePolicyTest {

    @TempDir
    Path dir;

    private Path write(String yaml) throws IOException {
        return Files.writeString(dir.resolve("posture-policy.yaml"), yaml);
    }

    private ConfigException failure(String yaml) throws IOException {
        Path f = write(yaml);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> PosturePolicy.load(f));
        assertThat(e).as("expected a ConfigException").isNotNull();
        return new ConfigException(e.problems().stream().map(p -> p.replace(f.toString(), "policy.yaml")).toList());
    }

    @Test
    void defaults_areTheDocumentedValues() {
        PosturePolicy d = PosturePolicy.defaults();
        assertThat(d.version()).isEqualTo("default");
        assertThat(d.mode()).isEqualTo(Mode.ENFORCE);
        assertThat(d.lease()).isEqualTo(Duration.ofMinutes(10));
        assertThat(d.requireDiskEncryption()).isTrue();
        assertThat(d.minOs().windows().text()).isEqualTo("10.0.19045.4291");
        assertThat(d.minOs().macos().text()).isEqualTo("14.4");
        assertThat(d.minOs().linux().kernel().text()).isEqualTo("6.1");
        assertThat(d.minOs().linux().distributions()).containsOnlyKeys("debian", "ubuntu", "fedora", "rhel");
        assertThat(d.minOs().linux().distributions().get("ubuntu").text()).isEqualTo("22.04");
        assertThat(d.minOs().linux().distributions().get("rhel").text()).isEqualTo("9.3");
        assertThat(d.maxDaysSinceUpdate()).isEqualTo(30);
        assertThat(d.maxSecurityPendingDays()).isEqualTo(14);
        assertThat(d.denyRebootRequired()).isFalse();
        assertThat(d.minAgentVersion().text()).isEqualTo("0.1.0");
        assertThat(d.minCertValidityDays()).isEqualTo(7);
        assertThat(d.evidenceSkew()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void load_example_equalsDefaults() {
        assertThat(PosturePolicy.load(Path.of("examples/posture-policy.yaml"))).isEqualTo(PosturePolicy.defaults());
    }

    @Test
    void load_unquotedVersions_keepTheirTrailingZero() throws IOException {
        Path f = dir.resolve("versions.yaml");
        Files.writeString(f, "minOs:\n  macos: 14.10\n  linux:\n    kernel: 6.10\n    distributions:\n      ubuntu: 22.04\n");
        PosturePolicy p = PosturePolicy.load(f);
        assertThat(p.minOs().macos()).hasToString("14.10");
        assertThat(p.minOs().linux().kernel()).hasToString("6.10");
        assertThat(p.minOs().linux().distributions().get("ubuntu")).hasToString("22.04");
    }

    @Test
    void load_emptyFile_givesDefaults() throws IOException {
        assertThat(PosturePolicy.load(write(""))).isEqualTo(PosturePolicy.defaults());
    }

    @Test
    void read_asGatewaySection_reportsKeysUnderPosture() {
        String yaml = "posture:\n  mode: report-only\n  lease: 5m\n";
        PosturePolicy p = ConfigReader.parse(yaml, "gateway.yaml", dir, r -> r.section("posture", PosturePolicy::read));
        assertThat(p.mode()).isEqualTo(Mode.REPORT_ONLY);
        assertThat(p.lease()).isEqualTo(Duration.ofMinutes(5));
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigReader.parse(
                "posture:\n  lease: ten\n", "gateway.yaml", dir, r -> r.section("posture", PosturePolicy::read)));
        assertThat(e.problems()).containsExactly("gateway.yaml: posture.lease: expected a duration like 10m, found \"ten\"");
    }

    @Test
    void load_everyKeySet_isRead() throws IOException {
        PosturePolicy p = PosturePolicy.load(write("""
                version: "2024-05"
                mode: report-only
                lease: 30m
                requireDiskEncryption: false
                minOs:
                  macos: "14.10"
                  linux:
                    kernel: "6.6"
                    distributions:
                      ubuntu: "24.04"
                      rocky: "9"
                maxDaysSinceUpdate: 10
                maxSecurityPendingDays: 0
                denyRebootRequired: true
                minAgentVersion: 1.2.3
                minCertValidityDays: 0
                evidenceSkew: 30s
                """));
        assertThat(p).isEqualTo(new PosturePolicy("2024-05", Mode.REPORT_ONLY, Duration.ofMinutes(30), false,
                new PosturePolicy.MinOs(null, VersionNumber.parse("14.10"), new PosturePolicy.Linux(
                        VersionNumber.parse("6.6"),
                        Map.of("ubuntu", VersionNumber.parse("24.04"), "rocky", VersionNumber.parse("9")))),
                10, 0, true, VersionNumber.parse("1.2.3"), 0, Duration.ofSeconds(30), false));
        assertThat(p.allowsFamily("windows")).as("windows left out of a written minOs is denied").isFalse();
        assertThat(p.allowsFamily("macos")).isTrue();
        assertThat(p.allowsFamily("freebsd")).isFalse();
        assertThat(p.allowsFamily(null)).isFalse();
    }

    @Test
    void load_linuxWithoutDistributions_keepsDefaultDistributions() throws IOException {
        PosturePolicy p = PosturePolicy.load(write("minOs:\n  linux:\n    kernel: \"6.6\"\n"));
        assertThat(p.minOs().linux().distributions()).isEqualTo(PosturePolicy.Linux.defaults().distributions());
        assertThat(p.minOs().windows()).isNull();
        assertThat(p.minOs().macos()).isNull();
    }

    @Test
    void load_emptyMinOs_isRejected() throws IOException {
        assertThat(failure("minOs: {}\n").problems()).containsExactly(
                "policy.yaml: minOs: expected at least one of windows, macos, linux (a family not named is denied),"
                        + " found none");
    }

    @Test
    void load_unknownDistribution_isRejectedWithTheCatalogue() throws IOException {
        assertThat(failure("minOs:\n  linux:\n    distributions:\n      rehl: \"9\"\n").problems()).containsExactly(
                "policy.yaml: minOs.linux.distributions.rehl: unknown key (expected one of: debian, ubuntu,"
                        + " linuxmint, pop, fedora, rhel, centos, rocky, almalinux, ol, sles, sled, opensuse-leap)",
                "policy.yaml: minOs.linux.distributions: expected at least one distribution like debian: \"12\","
                        + " found none");
    }

    @Test
    void load_severalMistakes_reportsAllTogether() throws IOException {
        assertThat(failure("""
                mode: audit
                lease: 30s
                requireDiskEncryption: yes
                minOs:
                  windows: "10.0.19045.x"
                  macos: sonoma
                  linux:
                    kernel: 6.1-rc
                    distributions:
                      debian: twelve
                maxDaysSinceUpdate: 0
                maxSecurityPendingDays: 400
                minAgentVersion: latest
                minCertValidityDays: -1
                evidenceSkew: 1h
                leese: 10m
                """).problems()).containsExactly(
                "policy.yaml: mode: expected one of enforce, report-only, found \"audit\"",
                "policy.yaml: lease: expected a duration between 1m and 1d, found \"30s\"",
                "policy.yaml: requireDiskEncryption: expected true or false, found \"yes\"",
                "policy.yaml: minOs.windows: expected a Windows version like 10.0.19045.4291 (major.minor.build.UBR),"
                        + " found \"10.0.19045.x\"",
                "policy.yaml: minOs.macos: expected a macOS version like 14.4, found \"sonoma\"",
                "policy.yaml: minOs.linux.kernel: expected a kernel version like 6.1, found \"6.1-rc\"",
                "policy.yaml: minOs.linux.distributions.debian: expected a release like \"22.04\","
                        + " found \"twelve\"",
                "policy.yaml: maxDaysSinceUpdate: expected an integer between 1 and 365, found 0",
                "policy.yaml: maxSecurityPendingDays: expected an integer between 0 and 365, found 400",
                "policy.yaml: minAgentVersion: expected a version of dotted numbers like 0.1.0, found \"latest\"",
                "policy.yaml: minCertValidityDays: expected an integer between 0 and 365, found -1",
                "policy.yaml: evidenceSkew: expected a duration between 1s and 10m, found \"1h\"",
                "policy.yaml: leese: unknown key (expected one of: version, mode, lease, requireDiskEncryption,"
                        + " minOs, maxDaysSinceUpdate, maxSecurityPendingDays, denyRebootRequired, minAgentVersion,"
                        + " minCertValidityDays, evidenceSkew, unsafeAllowUnknownPendingAge)");
    }

    @Test
    void constructor_validatesLikeTheFile() {
        PosturePolicy d = PosturePolicy.defaults();
        assertThatThrownBy(() -> new PosturePolicy("v", d.mode(), Duration.ofSeconds(5), true, d.minOs(), 30, 14,
                false, d.minAgentVersion(), 7, d.evidenceSkew(), false))
                .hasMessage("lease: expected a duration between 1m and 1d, found 5s");
        assertThatThrownBy(() -> new PosturePolicy("v", d.mode(), d.lease(), true, d.minOs(), 0, 14,
                false, d.minAgentVersion(), 7, d.evidenceSkew(), false))
                .hasMessage("maxDaysSinceUpdate: expected an integer between 1 and 365, found 0");
        assertThatThrownBy(() -> new PosturePolicy.Linux(VersionNumber.parse("6.1"), Map.of()))
                .hasMessageStartingWith("linux.distributions: expected at least one distribution");
        assertThatThrownBy(() -> new PosturePolicy.Linux(VersionNumber.parse("6.1"), Map.of("arch", VersionNumber.parse("1"))))
                .hasMessageStartingWith("linux.distributions.arch: expected one of debian, ubuntu");
    }

    @Test
    void mode_spelling_isAsWritten() {
        assertThat(Mode.REPORT_ONLY.spelling()).isEqualTo("report-only");
        assertThat(Mode.ENFORCE.spelling()).isEqualTo("enforce");
    }

    @org.junit.jupiter.api.Test
    void toYaml_readsBackEqual_forTheDefaults_andAPolicyWithEverySettingChanged() {
        PosturePolicy d = PosturePolicy.defaults();
        assertThat(ConfigReader.parse(d.toYaml(), "published", dir, PosturePolicy::read)).isEqualTo(d);
        String custom = """
                posture:
                  version: "14.10"
                  mode: report-only
                  lease: 25m
                  requireDiskEncryption: false
                  minOs:
                    windows: "10.0.22631"
                    linux:
                      kernel: "6.1"
                      distributions:
                        debian: "12"
                        ubuntu: "24.04"
                  maxDaysSinceUpdate: 9
                  maxSecurityPendingDays: 3
                  denyRebootRequired: true
                  minAgentVersion: "0.2.1"
                  minCertValidityDays: 5
                  evidenceSkew: 90s
                  unsafeAllowUnknownPendingAge: true
                """;
        PosturePolicy p = ConfigReader.parse(custom, "gateway.yaml", dir, r -> r.section("posture", PosturePolicy::read));
        String yaml = p.toYaml();
        assertThat(yaml).contains("version: \"14.10\"").contains("mode: report-only").contains("lease: 25m");
        assertThat(ConfigReader.parse(yaml, "published", dir, PosturePolicy::read)).isEqualTo(p);
        PosturePolicy yes = ConfigReader.parse("version: \"yes\"\n", "t", dir, PosturePolicy::read);
        assertThat(ConfigReader.parse(yes.toYaml(), "published", dir, PosturePolicy::read)).isEqualTo(yes);
    }
}
