package org.postern.agent.collect.windows;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postern.protocol.posture.CheckError;
import org.postern.protocol.posture.DiskFacts;
import org.postern.protocol.posture.OsFacts;
import org.postern.protocol.posture.PatchFacts;
import org.postern.protocol.posture.PostureClaims;

class WindowsReportParserTest {
    static final Instant NOW = Instant.parse("2024-04-20T10:00:00Z");

    static String fixture(String name) {
        try (InputStream in = WindowsReportParserTest.class.getResourceAsStream("/collect/windows/" + name)) {
            if (in == null) {
                throw new IllegalStateException("no fixture " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static PostureClaims.Facts parse(String fixture) {
        return WindowsReportParser.parse(fixture(fixture), NOW);
    }

    @Test
    void englishFullyEncrypted_allFacts_noErrors() {
        PostureClaims.Facts f = parse("en-fully-encrypted-ps51.json");

        assertThat(f.errors()).isEmpty();
        assertThat(f.collector()).isEqualTo(PostureClaims.NATIVE);
        assertThat(f.os()).isEqualTo(new OsFacts(OsFacts.WINDOWS, "Windows 11 Pro", "10.0.22631", "22631.3447", "10.0.22631"));
        assertThat(f.disk()).isEqualTo(new DiskFacts("C:", true, "XTS-AES 128", true, DiskFacts.FULLY_ENCRYPTED, 100));
        // the newer Defender definition update (KB2267602) is not "the last update"
        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-04-09T17:12:45Z"), 0, null, false));
    }

    @Test
    void germanWindows_parsesLikeEnglish_securityUpdateFoundByCategoryId() {
        PostureClaims.Facts f = parse("de-fully-encrypted-ps51.json");

        assertThat(f.errors()).isEmpty();
        assertThat(f.os()).isEqualTo(new OsFacts(OsFacts.WINDOWS, "Windows 11 Enterprise", "10.0.22631", "22631.3296", "10.0.22631"));
        assertThat(f.disk()).isEqualTo(new DiskFacts("C:", true, "XTS-AES 256", true, DiskFacts.FULLY_ENCRYPTED, 100));
        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-03-12T18:30:00Z"), 1, Instant.parse("2024-04-09T00:00:00Z"), false));
    }

    @Test
    void frenchWindows10_twoSecurityUpdatesPending_oldestSinceJanuary_rebootRequired() {
        PostureClaims.Facts f = parse("fr-pending-reboot-ps51.json");

        assertThat(f.errors()).isEmpty();
        assertThat(f.os()).isEqualTo(new OsFacts(OsFacts.WINDOWS, "Windows 10 Pro", "10.0.19045", "19045.4170", "10.0.19045"));
        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-03-12T18:30:00Z"), 2, Instant.parse("2024-01-09T00:00:00Z"), true));
    }

    @Test
    void encryptionInProgress_42percent_protectionOff() {
        PostureClaims.Facts f = parse("en-encryption-in-progress-ps7.json");

        assertThat(f.errors()).isEmpty();
        assertThat(f.disk()).isEqualTo(new DiskFacts("C:", true, "XTS-AES 256", false, DiskFacts.ENCRYPTION_IN_PROGRESS, 42));
        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-04-09T17:12:45Z"), 0, null, false));
    }

    @Test
    void suspendedBitLocker_fullyEncryptedButProtectionOff() {
        PostureClaims.Facts f = parse("en-protection-suspended-ps7.json");

        assertThat(f.errors()).isEmpty();
        assertThat(f.disk()).isEqualTo(new DiskFacts("C:", true, "XTS-AES 128", false, DiskFacts.FULLY_ENCRYPTED, 100));
    }

    @Test
    void usedSpaceOnlyWithProtectionOff_saysSoInMethod_protectionOff() {
        PostureClaims.Facts f = parse("en-used-space-only-protection-off-ps51.json");

        assertThat(f.errors()).isEmpty();
        assertThat(f.disk()).isEqualTo(new DiskFacts("C:", true, "XTS-AES 128, used space only", false, DiskFacts.FULLY_ENCRYPTED, 100));
        assertThat(f.patch().lastUpdate()).isEqualTo(Instant.parse("2024-04-09T17:12:45Z"));
    }

    @Test
    void noBitLocker_notEncrypted() {
        PostureClaims.Facts f = parse("en-no-bitlocker-ps51.json");

        assertThat(f.errors()).isEmpty();
        assertThat(f.disk()).isEqualTo(new DiskFacts("C:", false, "none", false, DiskFacts.FULLY_DECRYPTED, 0));
    }

    @Test
    void unelevated_diskAccessDenied_isCheckErrorWithHresult_otherFactsStay() {
        PostureClaims.Facts f = parse("en-access-denied-ps51.json");

        assertThat(f.disk()).isNull();
        assertThat(f.errors()).containsExactly(new CheckError("disk",
                "cannot query Win32_EncryptableVolume: HRESULT 0x80041003 Access denied"));
        assertThat(f.os().build()).isEqualTo("22631.3447");
        assertThat(f.patch().securityPending()).isZero();
    }

    @Test
    void staleWindowsUpdateSearch_pendingUnknown_notZero() {
        PostureClaims.Facts f = parse("en-wu-search-stale-ps7.json");

        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-03-12T18:30:00Z"), null, null, false));
        assertThat(f.errors()).containsExactly(new CheckError("patch",
                "Windows Update last searched for updates at 2024-03-20T09:00:00Z, more than 7 days ago; pending security updates are not known"));
    }

    @Test
    void windowsUpdateServiceDisabled_frenchMessage_isCheckError() {
        PostureClaims.Facts f = parse("fr-wu-service-disabled-ps51.json");

        assertThat(f.patch()).isEqualTo(new PatchFacts(Instant.parse("2024-04-09T17:12:45Z"), null, null, false));
        assertThat(f.errors()).containsExactly(new CheckError("patch",
                "cannot search Windows Update for pending updates: HRESULT 0x80070422 Exception de HRESULT : 0x80070422"));
    }

    @Test
    void unknownProtectionStatus_isNullWithError() {
        String json = fixture("en-fully-encrypted-ps51.json").replace("\"protectionStatus\":1", "\"protectionStatus\":2");

        PostureClaims.Facts f = WindowsReportParser.parse(json, NOW);

        assertThat(f.disk().protectionOn()).isNull();
        assertThat(f.errors()).containsExactly(new CheckError("disk",
                "GetProtectionStatus on C: gave protection status 2 (unknown; the volume may be locked)"));
    }

    @Test
    void failedWmiMethod_returnValueNamed() {
        String json = fixture("en-fully-encrypted-ps51.json").replace("\"conversionReturn\":0", "\"conversionReturn\":2150694912");

        PostureClaims.Facts f = WindowsReportParser.parse(json, NOW);

        assertThat(f.disk()).isNull();
        assertThat(f.errors()).containsExactly(new CheckError("disk", "GetConversionStatus on C: returned 0x80310000 (expected 0)"));
    }

    @Test
    void encryptionPaused_isNotFullyEncrypted() {
        String json = fixture("en-encryption-in-progress-ps7.json").replace("\"conversionStatus\":2", "\"conversionStatus\":4");

        assertThat(WindowsReportParser.parse(json, NOW).disk().conversion()).isEqualTo("encryption_paused");
    }

    @Test
    void noVolumeForSystemDrive_isCheckError() {
        String json = "{\"os\":{\"productName\":\"Windows 10 Home\",\"major\":10,\"minor\":0,\"currentBuild\":\"19045\",\"ubr\":4291},"
                + "\"disk\":{\"driveLetter\":\"C:\",\"found\":false},\"history\":[],\"pending\":[],"
                + "\"autoUpdate\":{\"lastSearchSuccess\":\"2024-04-20T04:15:27Z\"},\"rebootRequired\":false}";

        PostureClaims.Facts f = WindowsReportParser.parse(json, NOW);

        assertThat(f.disk()).isNull();
        assertThat(f.errors()).containsExactly(
                new CheckError("disk", "Win32_EncryptableVolume has no instance for the system drive C: (BitLocker is not available on this volume)"),
                new CheckError("patch", "no successful update installation (other than antivirus definitions) in the last 200 Windows Update history entries"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "Get-CimInstance : Zugriff verweigert", "[1,2]"})
    void noJsonDocument_everyCheckFails(String output) {
        PostureClaims.Facts f = WindowsReportParser.parse(output, NOW);

        assertThat(f.os()).isNull();
        assertThat(f.disk()).isNull();
        assertThat(f.patch()).isNull();
        assertThat(f.errors()).extracting(CheckError::check).containsExactly("os", "disk", "patch");
        assertThat(f.errors().getFirst().why()).startsWith("powershell.exe printed no JSON document (expected one object, found ");
    }

    @Test
    void encryptionMethods_namedAsDocumented() {
        assertThat(WindowsReportParser.method(0L)).isEqualTo("none");
        assertThat(WindowsReportParser.method(1L)).isEqualTo("AES 128 with Diffuser");
        assertThat(WindowsReportParser.method(4L)).isEqualTo("AES 256");
        assertThat(WindowsReportParser.method(5L)).isEqualTo("Hardware Encryption");
        assertThat(WindowsReportParser.method(7L)).isEqualTo("XTS-AES 256");
        assertThat(WindowsReportParser.method(4294967295L)).isEqualTo("unknown (4294967295)");
        assertThat(WindowsReportParser.method(-1L)).isEqualTo("unknown (4294967295)");
    }
}
