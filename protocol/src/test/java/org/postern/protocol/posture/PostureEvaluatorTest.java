package org.postern.protocol.posture;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.postern.config.posture.PosturePolicy;
import org.postern.config.posture.PosturePolicy.Mode;
import org.postern.config.posture.VersionNumber;

class PostureEvaluatorTest {

    static final Instant NOW = Instant.parse("2024-05-01T12:00:00Z");
    static final Instant CERT_NOT_AFTER = NOW.plus(Duration.ofDays(60));
    static final PosturePolicy DEFAULTS = PosturePolicy.defaults();

    static final OsFacts WINDOWS = new OsFacts("windows", "Windows 11 Pro", "10.0.22631", "22631.3447", null);
    static final OsFacts MACOS = new OsFacts("macos", "macOS", "14.4.1", "23E224", null);
    static final OsFacts DEBIAN = new OsFacts("linux", "debian", "12", null, "6.1.0-18-amd64");
    static final DiskFacts BITLOCKER = new DiskFacts("C:", true, "XTS-AES 128", true, DiskFacts.FULLY_ENCRYPTED, 100);
    static final DiskFacts FILEVAULT = new DiskFacts("/", true, "FileVault", true, DiskFacts.FULLY_ENCRYPTED, null);
    static final DiskFacts LUKS = new DiskFacts("/", true, "LUKS2", true, DiskFacts.FULLY_ENCRYPTED, null);
    static final PatchFacts FRESH = new PatchFacts(NOW.minus(Duration.ofDays(3)), 0, null, false);
    static final AgentInfo AGENT = new AgentInfo("postern-agent", "0.1.0");

    private final PostureEvaluator evaluator = new PostureEvaluator();

    static PostureClaims claims(OsFacts os, DiskFacts disk, PatchFacts patch, CheckError... errors) {
        return claims(AGENT, os, disk, patch, errors);
    }

    static PostureClaims claims(AgentInfo agent, OsFacts os, DiskFacts disk, PatchFacts patch, CheckError... errors) {
        return PostureClaims.of("nonce", "laptop-42", NOW, agent,
                new PostureClaims.Facts(os, disk, patch, PostureClaims.NATIVE, List.of(errors)));
    }

    static PostureClaims windows(DiskFacts disk) {
        return claims(WINDOWS, disk, FRESH);
    }

    PostureVerdict evaluate(PostureClaims c) {
        return evaluator.evaluate(c, DEFAULTS, CERT_NOT_AFTER, NOW);
    }

    PostureVerdict evaluate(PostureClaims c, PosturePolicy p) {
        return evaluator.evaluate(c, p, CERT_NOT_AFTER, NOW);
    }

    static List<String> codes(PostureVerdict v) {
        return v.reasons().stream().map(ReasonDetail::code).toList();
    }

    static ReasonDetail only(PostureVerdict v) {
        assertThat(v.reasons()).hasSize(1);
        return v.reasons().getFirst();
    }

    static CheckResult line(PostureVerdict v, String check) {
        return v.checks().stream().filter(c -> c.check().equals(check)).findFirst().orElseThrow();
    }

    static PosturePolicy with(PosturePolicy p, Mode mode, boolean requireDisk, PosturePolicy.MinOs minOs,
                              boolean denyReboot) {
        return new PosturePolicy(p.version(), mode, p.lease(), requireDisk, minOs, p.maxDaysSinceUpdate(),
                p.maxSecurityPendingDays(), denyReboot, p.minAgentVersion(), p.minCertValidityDays(), p.evidenceSkew(),
                p.unsafeAllowUnknownPendingAge());
    }

    // ---- compliant ---------------------------------------------------------------------------

    @Test
    void evaluate_compliantLaptopOfEachFamily_isCompliantWithALease() {
        for (PostureClaims c : List.of(windows(BITLOCKER), claims(MACOS, FILEVAULT, FRESH), claims(DEBIAN, LUKS, FRESH))) {
            PostureVerdict v = evaluate(c);
            assertThat(v).as(c.os().family()).isInstanceOf(PostureVerdict.Compliant.class);
            assertThat(v.compliant()).isTrue();
            assertThat(v.allowed()).isTrue();
            assertThat(v.reasons()).isEmpty();
            assertThat(v.leaseUntil()).isEqualTo(NOW.plus(Duration.ofMinutes(10)));
            assertThat(v.mode()).isEqualTo(Mode.ENFORCE);
            assertThat(v.policyVersion()).isEqualTo("default");
            assertThat(v.checks()).extracting(CheckResult::check).containsExactly("disk", "os", "patch.lastUpdate",
                    "patch.securityPending", "patch.rebootRequired", "agent", "cert");
            assertThat(v.checks()).allMatch(CheckResult::passed);
        }
    }

    @Test
    void evaluate_compliant_reportLinesShowTheFacts() {
        PostureVerdict v = evaluate(windows(BITLOCKER));
        assertThat(v.checks()).extracting(CheckResult::line).containsExactly(
                "✔ Disk encryption — C: encrypted (XTS-AES 128), protection on, fully encrypted",
                "✔ Operating system — Windows 11 Pro 10.0.22631 build 22631.3447",
                "✔ Recent updates — last update 2024-04-28 (3 days ago)",
                "✔ Security updates — none pending",
                "✔ Restart after updates — no restart pending (not enforced by policy)",
                "✔ Agent version — postern-agent 0.1.0",
                "✔ Device certificate — expires 2024-06-30 (60 days left)");
    }

    // ---- disk --------------------------------------------------------------------------------

    @Test
    void evaluate_unencryptedWindowsVolume_isNotEncryptedWithBitLockerSteps() {
        ReasonDetail r = only(evaluate(windows(new DiskFacts("C:", false, null, false, DiskFacts.FULLY_DECRYPTED, 0))));
        assertThat(r.code()).isEqualTo("disk.not_encrypted");
        assertThat(r.message()).isEqualTo("System volume C: is not encrypted");
        assertThat(r.remediation()).startsWith(
                "Turn on BitLocker for C: in Settings → Privacy & security → Device encryption");
    }

    @Test
    void evaluate_unencryptedMac_pointsToFileVault() {
        ReasonDetail r = only(evaluate(claims(MACOS, new DiskFacts("/", false, null, false, null, null), FRESH)));
        assertThat(r.code()).isEqualTo("disk.not_encrypted");
        assertThat(r.message()).isEqualTo("System volume / is not encrypted");
        assertThat(r.remediation()).contains("System Settings → Privacy & Security → FileVault");
    }

    @Test
    void evaluate_unencryptedLinux_saysReinstallWithLuks() {
        ReasonDetail r = only(evaluate(claims(DEBIAN, new DiskFacts("/", false, null, false, null, null), FRESH)));
        assertThat(r.code()).isEqualTo("disk.not_encrypted");
        assertThat(r.remediation()).contains("cannot be turned on in place").contains("reinstall").contains("LUKS");
    }

    @Test
    void evaluate_suspendedBitLocker_isProtectionOff() {
        ReasonDetail r = only(evaluate(windows(new DiskFacts("C:", true, "XTS-AES 128", false, DiskFacts.FULLY_ENCRYPTED, 100))));
        assertThat(r.code()).isEqualTo("disk.protection_off");
        assertThat(r.message()).isEqualTo("Encryption protection is off on C:");
        assertThat(r.remediation()).contains("Resume protection");
    }

    @Test
    void evaluate_fileVaultDeferred_isProtectionOff() {
        ReasonDetail r = only(evaluate(claims(MACOS, new DiskFacts("/", true, "FileVault", false,
                DiskFacts.FULLY_ENCRYPTED, null), FRESH)));
        assertThat(r.code()).isEqualTo("disk.protection_off");
        assertThat(r.remediation()).contains("deferred enablement");
    }

    @Test
    void evaluate_encryptionInProgress_hasItsOwnCode() {
        PostureVerdict v = evaluate(windows(new DiskFacts("C:", true, "XTS-AES 128", false,
                DiskFacts.ENCRYPTION_IN_PROGRESS, 62)));
        assertThat(codes(v)).containsExactly("disk.encryption_in_progress", "disk.protection_off");
        assertThat(v.reasons().getFirst().message()).isEqualTo("System volume C: is still being encrypted (62% done)");
        assertThat(v.reasons().getFirst().remediation()).contains("Keep the laptop on power");
        assertThat(line(v, "disk").line()).isEqualTo(
                "✘ Disk encryption — C: encrypted (XTS-AES 128), protection off, encryption in progress 62%");
    }

    @Test
    void evaluate_encryptionInProgressNotYetEncrypted_isOnlyInProgress() {
        assertThat(codes(evaluate(windows(new DiskFacts("C:", false, null, false, DiskFacts.ENCRYPTION_IN_PROGRESS, 5)))))
                .containsExactly("disk.encryption_in_progress");
    }

    @Test
    void evaluate_pendingOfUnknownAge_passesOnlyWithTheUnsafeSwitch() {
        PosturePolicy d = PosturePolicy.defaults();
        PosturePolicy unsafe = new PosturePolicy(d.version(), d.mode(), d.lease(), d.requireDiskEncryption(), d.minOs(),
                d.maxDaysSinceUpdate(), d.maxSecurityPendingDays(), d.denyRebootRequired(), d.minAgentVersion(),
                d.minCertValidityDays(), d.evidenceSkew(), true);
        PostureClaims c = claims(DEBIAN, LUKS, new PatchFacts(NOW.minus(Duration.ofDays(1)), 3, null, false));
        assertThat(codes(evaluate(c, d))).containsExactly("patch.security_pending");
        assertThat(evaluate(c, unsafe).compliant()).isTrue();
        assertThat(line(evaluate(c, unsafe), "patch.securityPending").found()).contains("allowed by unsafeAllowUnknownPendingAge");
    }

    @Test
    void evaluate_encryptionPaused_isInProgressNotAPass() {
        PostureVerdict v = evaluate(windows(new DiskFacts("C:", true, "XTS-AES 128", false, DiskFacts.ENCRYPTION_PAUSED, 30)));
        assertThat(codes(v)).containsExactly("disk.encryption_in_progress", "disk.protection_off");
        assertThat(v.reasons().getFirst().message()).isEqualTo("System volume C: is only partly encrypted: encryption was paused (30% done)");
    }

    @Test
    void evaluate_decryptionPaused_isNotEncrypted() {
        assertThat(codes(evaluate(windows(new DiskFacts("C:", true, "XTS-AES 128", true, DiskFacts.DECRYPTION_PAUSED, 60)))))
                .containsExactly("disk.not_encrypted");
    }

    @Test
    void evaluate_decryptionInProgress_isNotEncrypted() {
        ReasonDetail r = only(evaluate(windows(new DiskFacts("C:", true, "XTS-AES 128", true,
                DiskFacts.DECRYPTION_IN_PROGRESS, 40))));
        assertThat(r.code()).isEqualTo("disk.not_encrypted");
        assertThat(r.message()).isEqualTo("System volume C: is being decrypted");
    }

    @Test
    void evaluate_unknownDiskFacts_areCheckFailedNeverAPass() {
        assertThat(only(evaluate(windows(null))).message())
                .isEqualTo("Disk encryption could not be checked: no disk facts were collected");
        assertThat(only(evaluate(windows(new DiskFacts("C:", null, null, true, DiskFacts.FULLY_ENCRYPTED, 100)))).message())
                .isEqualTo("Disk encryption could not be checked: whether it is encrypted is unknown");
        assertThat(only(evaluate(windows(new DiskFacts("C:", true, null, null, DiskFacts.FULLY_ENCRYPTED, 100)))).message())
                .isEqualTo("Disk encryption could not be checked: whether its protection is on is unknown");
        assertThat(only(evaluate(windows(new DiskFacts("C:", true, null, true, null, null)))).message())
                .isEqualTo("Disk encryption could not be checked: its conversion state is unknown");
        ReasonDetail odd = only(evaluate(windows(new DiskFacts("C:", true, null, true, "paused", null))));
        assertThat(odd.code()).isEqualTo("check.failed");
        assertThat(odd.message()).contains("\"paused\" is not one Postern knows");
        assertThat(odd.remediation()).isEqualTo(Reason.CHECK_FAILED.remediation());
    }

    @Test
    void evaluate_diskNotRequired_passesAnUnencryptedVolume() {
        PosturePolicy p = with(DEFAULTS, Mode.ENFORCE, false, DEFAULTS.minOs(), false);
        PostureVerdict v = evaluate(claims(WINDOWS, new DiskFacts("C:", false, null, false, null, null), FRESH,
                new CheckError("disk", "powershell timed out after 10s")), p);
        assertThat(v.compliant()).isTrue();
        assertThat(line(v, "disk").found()).endsWith("(not required by policy)");
    }

    // ---- OS ----------------------------------------------------------------------------------

    static OsFacts win(String version, String build) {
        return new OsFacts("windows", "Windows 10 Pro", version, build, null);
    }

    @Test
    void evaluate_windowsBuildUbr_isComparedOnBothSidesOfTheMinimum() {
        assertThat(evaluate(claims(win("10.0.19045", "19045.4291"), BITLOCKER, FRESH)).compliant()).isTrue();
        assertThat(evaluate(claims(win("10.0.19045", "19045.4292"), BITLOCKER, FRESH)).compliant()).isTrue();
        assertThat(evaluate(claims(win("10.0.22000", "22000.1"), BITLOCKER, FRESH)).compliant()).isTrue();
        ReasonDetail r = only(evaluate(claims(win("10.0.19045", "19045.4290"), BITLOCKER, FRESH)));
        assertThat(r.code()).isEqualTo("os.too_old");
        assertThat(r.message()).isEqualTo("Windows 10.0.19045.4290 is older than the required 10.0.19045.4291");
        assertThat(r.remediation()).startsWith("Open Settings → Windows Update");
    }

    @Test
    void evaluate_unreadableWindowsBuild_isCheckFailed() {
        assertThat(only(evaluate(claims(win("10.0.19045", null), BITLOCKER, FRESH))).message())
                .isEqualTo("Operating system could not be checked: the Windows build (CurrentBuild.UBR) \"null\" is not numeric");
        assertThat(only(evaluate(claims(win("10", "19045.4291"), BITLOCKER, FRESH))).code()).isEqualTo("check.failed");
    }

    static OsFacts mac(String version) {
        return new OsFacts("macos", "macOS", version, "23E224", null);
    }

    @Test
    void evaluate_macosVersion_isNumericOnBothSidesOfTheMinimum() {
        assertThat(evaluate(claims(mac("14.4"), FILEVAULT, FRESH)).compliant()).isTrue();
        assertThat(evaluate(claims(mac("14.10"), FILEVAULT, FRESH)).compliant()).isTrue();
        assertThat(evaluate(claims(mac("15.0"), FILEVAULT, FRESH)).compliant()).isTrue();
        ReasonDetail r = only(evaluate(claims(mac("14.3.1"), FILEVAULT, FRESH)));
        assertThat(r.code()).isEqualTo("os.too_old");
        assertThat(r.message()).isEqualTo("macOS 14.3.1 is older than the required 14.4");
        assertThat(r.remediation()).startsWith("Open System Settings → General → Software Update");
        assertThat(only(evaluate(claims(mac(null), FILEVAULT, FRESH))).code()).isEqualTo("check.failed");
    }

    static OsFacts linux(String distribution, String release, String kernel) {
        return new OsFacts("linux", distribution, release, null, kernel);
    }

    @Test
    void evaluate_linuxKernel_isComparedOnItsLeadingNumbers() {
        assertThat(evaluate(claims(linux("debian", "12", "6.1.0-18-amd64"), LUKS, FRESH)).compliant()).isTrue();
        assertThat(evaluate(claims(linux("debian", "12", "6.1"), LUKS, FRESH)).compliant()).isTrue();
        ReasonDetail r = only(evaluate(claims(linux("debian", "12", "6.0.12-1-amd64"), LUKS, FRESH)));
        assertThat(r.code()).isEqualTo("os.too_old");
        assertThat(r.message()).isEqualTo("Linux kernel 6.0.12-1-amd64 is older than the required 6.1");
        assertThat(r.remediation()).startsWith("Run `sudo apt update && sudo apt full-upgrade`");
        assertThat(only(evaluate(claims(linux("debian", "12", "unknown"), LUKS, FRESH))).code()).isEqualTo("check.failed");
    }

    @Test
    void evaluate_linuxDistributionRelease_isComparedOnBothSidesOfTheMinimum() {
        assertThat(evaluate(claims(linux("ubuntu", "22.04", "6.5.0-27-generic"), LUKS, FRESH)).compliant()).isTrue();
        assertThat(evaluate(claims(linux("ubuntu", "24.04", "6.8.0-31-generic"), LUKS, FRESH)).compliant()).isTrue();
        ReasonDetail r = only(evaluate(claims(linux("ubuntu", "21.10", "6.1.0"), LUKS, FRESH)));
        assertThat(r.code()).isEqualTo("os.too_old");
        assertThat(r.message()).isEqualTo("ubuntu 21.10 is older than the required 22.04");
        assertThat(r.remediation()).startsWith("Upgrade ubuntu to release 22.04 or later");
        assertThat(only(evaluate(claims(linux("rhel", "9.2", "6.1.0"), LUKS, FRESH))).code()).isEqualTo("os.too_old");
        assertThat(evaluate(claims(linux("rhel", "9.3", "6.1.0"), LUKS, FRESH)).compliant()).isTrue();
    }

    @Test
    void evaluate_oldDistributionAndOldKernel_reportsBoth() {
        PostureVerdict v = evaluate(claims(linux("debian", "11", "5.10.0-28-amd64"), LUKS, FRESH));
        assertThat(codes(v)).containsExactly("os.too_old", "os.too_old");
        assertThat(v.reasons()).extracting(ReasonDetail::message).containsExactly(
                "debian 11 is older than the required 12",
                "Linux kernel 5.10.0-28-amd64 is older than the required 6.1");
    }

    @Test
    void evaluate_distributionNotInPolicy_isUnsupported() {
        ReasonDetail r = only(evaluate(claims(linux("arch", null, "6.8.9-arch1-1"), LUKS, FRESH)));
        assertThat(r.code()).isEqualTo("os.unsupported");
        assertThat(r.message()).isEqualTo(
                "Linux distribution arch is not allowed by the posture policy (allowed: debian, ubuntu, fedora, rhel)");
        assertThat(only(evaluate(claims(linux(null, "12", "6.1.0"), LUKS, FRESH))).code()).isEqualTo("check.failed");
    }

    @Test
    void evaluate_fedoraKernelTooOld_suggestsDnf() {
        assertThat(only(evaluate(claims(linux("fedora", "40", "6.0.7-301.fc37.x86_64"), LUKS, FRESH))).remediation())
                .startsWith("Run `sudo dnf upgrade --refresh`");
    }

    @Test
    void evaluate_familyUnknownToPolicy_isUnsupported() {
        ReasonDetail r = only(evaluate(claims(new OsFacts("freebsd", "FreeBSD", "14.0", null, "14.0-RELEASE"), LUKS, FRESH)));
        assertThat(r.code()).isEqualTo("os.unsupported");
        assertThat(r.message()).isEqualTo("OS family \"freebsd\" is not allowed by the posture policy"
                + " (allowed: Windows, macOS, Linux)");
        PosturePolicy macOnly = with(DEFAULTS, Mode.ENFORCE, true,
                new PosturePolicy.MinOs(null, VersionNumber.parse("14.4"), null), false);
        ReasonDetail w = only(evaluate(windows(BITLOCKER), macOnly));
        assertThat(w.code()).isEqualTo("os.unsupported");
        assertThat(w.message()).isEqualTo("Windows is not allowed by the posture policy (allowed: macOS)");
    }

    @Test
    void evaluate_noOsFacts_isCheckFailed() {
        assertThat(only(evaluate(claims(null, BITLOCKER, FRESH))).message())
                .isEqualTo("Operating system could not be checked: its family is unknown");
    }

    // ---- patch -------------------------------------------------------------------------------

    static PatchFacts updated(Duration ago) {
        return new PatchFacts(NOW.minus(ago), 0, null, false);
    }

    @Test
    void evaluate_lastUpdate_isWithinMaxDaysOnBothSides() {
        assertThat(evaluate(claims(WINDOWS, BITLOCKER, updated(Duration.ofDays(29)))).compliant()).isTrue();
        assertThat(evaluate(claims(WINDOWS, BITLOCKER, updated(Duration.ofDays(30)))).compliant()).isTrue();
        ReasonDetail r = only(evaluate(claims(WINDOWS, BITLOCKER, updated(Duration.ofDays(31)))));
        assertThat(r.code()).isEqualTo("patch.stale");
        assertThat(r.message()).isEqualTo("The last successful update was on 2024-03-31, more than 30 days ago");
        assertThat(r.remediation()).startsWith("Open Settings → Windows Update");
        assertThat(only(evaluate(claims(WINDOWS, BITLOCKER, updated(Duration.ofDays(30).plusSeconds(1))))).code())
                .isEqualTo("patch.stale");
    }

    @Test
    void evaluate_lastUpdateUnknownOrInTheFuture_isCheckFailed() {
        assertThat(only(evaluate(claims(WINDOWS, BITLOCKER, new PatchFacts(null, 0, null, false)))).message())
                .isEqualTo("Recent updates could not be checked: it is unknown");
        assertThat(only(evaluate(claims(WINDOWS, BITLOCKER, new PatchFacts(NOW.plus(Duration.ofDays(2)), 0, null, false))))
                .code()).isEqualTo("check.failed");
        assertThat(codes(evaluate(claims(WINDOWS, BITLOCKER, null))))
                .containsExactly("check.failed", "check.failed");
    }

    static PatchFacts pending(int count, Duration since) {
        return new PatchFacts(NOW.minus(Duration.ofDays(1)), count, since == null ? null : NOW.minus(since), false);
    }

    @Test
    void evaluate_securityPending_isWithinMaxDaysOnBothSides() {
        assertThat(evaluate(claims(DEBIAN, LUKS, pending(2, Duration.ofDays(13)))).compliant()).isTrue();
        assertThat(evaluate(claims(DEBIAN, LUKS, pending(2, Duration.ofDays(14)))).compliant()).isTrue();
        PostureVerdict v = evaluate(claims(DEBIAN, LUKS, pending(2, Duration.ofDays(15))));
        ReasonDetail r = only(v);
        assertThat(r.code()).isEqualTo("patch.security_pending");
        assertThat(r.message()).isEqualTo("2 security updates have been pending since 2024-04-16, longer than the 14 days allowed");
        assertThat(r.remediation()).startsWith("Run `sudo apt update && sudo apt full-upgrade`");
        assertThat(line(v, "patch.securityPending").line())
                .isEqualTo("✘ Security updates — 2 pending since 2024-04-16 (15 days ago)");
    }

    @Test
    void evaluate_securityPendingSinceUnknown_isTreatedAsTooLong() {
        ReasonDetail r = only(evaluate(claims(MACOS, FILEVAULT, pending(1, null))));
        assertThat(r.code()).isEqualTo("patch.security_pending");
        assertThat(r.message()).isEqualTo("1 security update has been pending since an unknown date, so they cannot be"
                + " shown to be within the 14 days allowed");
        assertThat(r.remediation()).startsWith("Open System Settings → General → Software Update");
    }

    @Test
    void evaluate_securityPendingCountUnknown_isCheckFailed() {
        assertThat(only(evaluate(claims(DEBIAN, LUKS, new PatchFacts(NOW, null, null, false)))).message())
                .isEqualTo("Security updates could not be checked: their number is unknown");
    }

    @Test
    void evaluate_rebootRequired_isShownButNotEnforcedByDefault() {
        PostureVerdict v = evaluate(claims(DEBIAN, LUKS, new PatchFacts(NOW, 0, null, true)));
        assertThat(v.compliant()).isTrue();
        assertThat(line(v, "patch.rebootRequired").found()).isEqualTo("restart required (not enforced by policy)");
    }

    @Test
    void evaluate_rebootRequiredWhenPolicyDeniesIt_isRebootRequired() {
        PosturePolicy p = with(DEFAULTS, Mode.ENFORCE, true, DEFAULTS.minOs(), true);
        ReasonDetail r = only(evaluate(claims(WINDOWS, BITLOCKER, new PatchFacts(NOW, 0, null, true)), p));
        assertThat(r.code()).isEqualTo("patch.reboot_required");
        assertThat(r.message()).isEqualTo("An installed update waits for a restart");
        assertThat(r.remediation()).startsWith("Restart Windows");
        assertThat(evaluate(claims(WINDOWS, BITLOCKER, new PatchFacts(NOW, 0, null, false)), p).compliant()).isTrue();
        assertThat(only(evaluate(claims(WINDOWS, BITLOCKER, new PatchFacts(NOW, 0, null, null)), p)).code())
                .isEqualTo("check.failed");
    }

    // ---- agent and certificate ---------------------------------------------------------------

    @Test
    void evaluate_agentVersion_isComparedOnBothSides() {
        assertThat(evaluate(claims(new AgentInfo("postern-agent", "0.1.0-SNAPSHOT"), WINDOWS, BITLOCKER, FRESH)).compliant()).isTrue();
        assertThat(evaluate(claims(new AgentInfo("postern-agent", "0.2"), WINDOWS, BITLOCKER, FRESH)).compliant()).isTrue();
        ReasonDetail r = only(evaluate(claims(new AgentInfo("postern-agent", "0.0.9"), WINDOWS, BITLOCKER, FRESH)));
        assertThat(r.code()).isEqualTo("agent.too_old");
        assertThat(r.message()).isEqualTo("postern-agent 0.0.9 is older than the required 0.1.0");
        assertThat(r.remediation()).isEqualTo("Install the postern-agent version IT provides (0.1.0 or later).");
        assertThat(only(evaluate(claims(null, WINDOWS, BITLOCKER, FRESH))).code()).isEqualTo("check.failed");
    }

    @Test
    void evaluate_certValidity_isComparedOnBothSides() {
        PostureClaims c = windows(BITLOCKER);
        assertThat(evaluator.evaluate(c, DEFAULTS, NOW.plus(Duration.ofDays(8)), NOW).compliant()).isTrue();
        assertThat(evaluator.evaluate(c, DEFAULTS, NOW.plus(Duration.ofDays(7)), NOW).compliant()).isTrue();
        ReasonDetail r = only(evaluator.evaluate(c, DEFAULTS, NOW.plus(Duration.ofDays(6)), NOW));
        assertThat(r.code()).isEqualTo("cert.expiring");
        assertThat(r.message()).isEqualTo("The device certificate expires on 2024-05-07, in less than the 7 days required");
        assertThat(r.remediation()).contains("renews its certificate by itself");
        assertThat(only(evaluator.evaluate(c, DEFAULTS, NOW.minus(Duration.ofDays(1)), NOW)).message())
                .isEqualTo("The device certificate expired on 2024-04-30");
    }

    @Test
    void evaluate_noCertificate_isCheckFailedWithEnrollSteps() {
        ReasonDetail r = only(evaluator.evaluate(windows(BITLOCKER), DEFAULTS, null, NOW));
        assertThat(r.code()).isEqualTo("check.failed");
        assertThat(r.message()).isEqualTo("Device certificate could not be checked: this laptop has no device certificate");
        assertThat(r.remediation()).contains("postern-agent enroll");
    }

    // ---- collector errors --------------------------------------------------------------------

    @Test
    void evaluate_checkErrorWithGoodFacts_isCheckFailedNeverAPass() {
        PostureVerdict v = evaluate(claims(MACOS, FILEVAULT, FRESH, new CheckError("disk", "fdesetup not found")));
        ReasonDetail r = only(v);
        assertThat(r.code()).isEqualTo("check.failed");
        assertThat(r.message()).isEqualTo("Disk encryption could not be checked: fdesetup not found");
        assertThat(line(v, "disk").passed()).isFalse();
    }

    @Test
    void evaluate_checkErrorWithBadFacts_reportsBoth() {
        PostureVerdict v = evaluate(claims(WINDOWS, new DiskFacts("C:", false, null, false, null, null), FRESH,
                new CheckError("disk", "GetConversionStatus returned 2147942405")));
        assertThat(codes(v)).containsExactly("check.failed", "disk.not_encrypted");
    }

    @Test
    void evaluate_patchCheckError_failsEachPatchLine() {
        PostureVerdict v = evaluate(claims(DEBIAN, LUKS, FRESH, new CheckError("patch", "apt-get timed out after 30s")));
        assertThat(codes(v)).containsExactly("check.failed", "check.failed");
        assertThat(line(v, "patch.lastUpdate").passed()).isFalse();
        assertThat(line(v, "patch.securityPending").passed()).isFalse();
        assertThat(line(v, "patch.rebootRequired").passed()).isTrue();
        PostureVerdict narrow = evaluate(claims(DEBIAN, LUKS, FRESH,
                new CheckError("patch.securityPending", "apt-get timed out after 30s")));
        assertThat(only(narrow).message()).isEqualTo("Security updates could not be checked: apt-get timed out after 30s");
    }

    @Test
    void evaluate_checkErrorOfAnUnknownCheck_failsALineOfItsOwn() {
        PostureVerdict v = evaluate(claims(WINDOWS, BITLOCKER, FRESH, new CheckError("firewall", "netsh not found")));
        assertThat(only(v).message()).isEqualTo("Check firewall could not be checked: netsh not found");
        assertThat(v.checks().getLast().check()).isEqualTo("firewall");
    }

    @Test
    void evaluate_twoErrorsForOneCheck_giveOneCheckFailedWithBoth() {
        ReasonDetail r = only(evaluate(claims(MACOS, FILEVAULT, FRESH, new CheckError("os", "sw_vers not found"),
                new CheckError("os", "uname timed out"))));
        assertThat(r.message()).isEqualTo("Operating system could not be checked: sw_vers not found; uname timed out");
    }

    // ---- everything together, and report-only -------------------------------------------------

    @Test
    void evaluate_manyFailures_areAllReportedInCheckOrder() {
        PostureClaims c = claims(new AgentInfo("postern-agent", "0.0.1"), win("10.0.19045", "19045.100"),
                new DiskFacts("C:", false, null, false, DiskFacts.FULLY_DECRYPTED, 0),
                new PatchFacts(NOW.minus(Duration.ofDays(90)), 3, NOW.minus(Duration.ofDays(60)), true));
        PostureVerdict v = evaluator.evaluate(c, DEFAULTS, NOW.plus(Duration.ofDays(2)), NOW);
        assertThat(v).isInstanceOf(PostureVerdict.NonCompliant.class);
        assertThat(codes(v)).containsExactly("disk.not_encrypted", "os.too_old", "patch.stale",
                "patch.security_pending", "agent.too_old", "cert.expiring");
        assertThat(v.leaseUntil()).isNull();
        assertThat(v.allowed()).isFalse();
        assertThat(v.checks()).extracting(CheckResult::passed)
                .containsExactly(false, false, false, false, true, false, false);
    }

    @Test
    void evaluate_reportOnly_listsWhatWouldFailAndKeepsALease() {
        PosturePolicy p = with(DEFAULTS, Mode.REPORT_ONLY, true, DEFAULTS.minOs(), false);
        PostureVerdict v = evaluate(windows(new DiskFacts("C:", false, null, false, null, null)), p);
        assertThat(v).isInstanceOf(PostureVerdict.NonCompliant.class);
        assertThat(v.compliant()).isFalse();
        assertThat(v.mode()).isEqualTo(Mode.REPORT_ONLY);
        assertThat(codes(v)).containsExactly("disk.not_encrypted");
        assertThat(v.leaseUntil()).isEqualTo(NOW.plus(Duration.ofMinutes(10)));
        assertThat(v.allowed()).isTrue();
    }

    @Test
    void evaluate_policyVersionAndLease_comeFromThePolicy() {
        PosturePolicy p = new PosturePolicy("2024-05-a", Mode.ENFORCE, Duration.ofMinutes(3), true,
                new PosturePolicy.MinOs(VersionNumber.parse("10.0.22631.3447"), null,
                        new PosturePolicy.Linux(VersionNumber.parse("6.1"), Map.of("debian", VersionNumber.parse("12")))),
                30, 14, false, VersionNumber.parse("0.1.0"), 7, Duration.ofSeconds(60), false);
        PostureVerdict v = evaluate(windows(BITLOCKER), p);
        assertThat(v.policyVersion()).isEqualTo("2024-05-a");
        assertThat(v.leaseUntil()).isEqualTo(NOW.plus(Duration.ofMinutes(3)));
    }
}
