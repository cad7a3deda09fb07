package org.postern.agent.collect.macos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.postern.protocol.posture.DiskFacts;

class FdesetupParserTest {

    @Test
    void on_isFullyEncryptedAndProtected() {
        assertThat(FdesetupParser.parse(MacFixtures.read("fdesetup-on.txt")))
                .isEqualTo(new DiskFacts("/", true, "FileVault", true, DiskFacts.FULLY_ENCRYPTED, 100));
    }

    @Test
    void onWithMasterKeychainLine_isStillOn() {
        assertThat(FdesetupParser.parse(MacFixtures.read("fdesetup-on-master-keychain.txt")).protectionOn()).isTrue();
    }

    @Test
    void off_isNotEncrypted() {
        assertThat(FdesetupParser.parse(MacFixtures.read("fdesetup-off.txt")))
                .isEqualTo(new DiskFacts("/", false, null, false, DiskFacts.FULLY_DECRYPTED, 0));
    }

    @Test
    void encryptionInProgress_42percent_notProtectedYet() {
        assertThat(FdesetupParser.parse(MacFixtures.read("fdesetup-encryption-in-progress.txt")))
                .isEqualTo(new DiskFacts("/", true, "FileVault", false, DiskFacts.ENCRYPTION_IN_PROGRESS, 42));
    }

    @Test
    void decryptionInProgress_evenAfterOnLine_decimalPercentRoundedDown() {
        assertThat(FdesetupParser.parse(MacFixtures.read("fdesetup-decryption-in-progress.txt")))
                .isEqualTo(new DiskFacts("/", true, "FileVault", false, DiskFacts.DECRYPTION_IN_PROGRESS, 37));
    }

    @Test
    void encryptionInProgressWithoutOnLine_isInProgress() {
        assertThat(FdesetupParser.parse("Encryption in progress: Percent completed = 43.2\n").conversionPercent()).isEqualTo(43);
    }

    @Test
    void deferredWhileOff_notProtected() {
        assertThat(FdesetupParser.parse(MacFixtures.read("fdesetup-deferred-off.txt")))
                .isEqualTo(new DiskFacts("/", false, null, false, DiskFacts.FULLY_DECRYPTED, 0));
    }

    @Test
    void deferredWhileOn_notProtected() {
        DiskFacts d = FdesetupParser.parse(MacFixtures.read("fdesetup-deferred-on.txt"));

        assertThat(d.protectionOn()).isFalse();
    }

    @Test
    void unknownOutput_isRejectedQuotingIt() {
        assertThatThrownBy(() -> FdesetupParser.parse("Error: Unable to get FileVault status.\n"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("fdesetup status: expected \"FileVault is On.\" or \"FileVault is Off.\", found \"Error: Unable to get FileVault status.\"");
        assertThatThrownBy(() -> FdesetupParser.parse(""))
                .hasMessage("fdesetup status: expected \"FileVault is On.\" or \"FileVault is Off.\", found nothing");
    }
}
