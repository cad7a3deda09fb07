package org.postern.agent.collect.macos;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.postern.protocol.posture.DiskFacts;

/**
 * {@code fdesetup status} (fdesetup(8)): "FileVault is On." / "FileVault is Off.", a conversion
 * line "Encryption in progress: Percent completed = 42" or "Decryption in progress: …", and, when
 * FileVault waits for a user to log out, "Deferred enablement appears to be active for user
 * 'alice'." Percentages may carry decimals ("= 37.4"); they are rounded down. Deferred enablement is not protection: nothing is encrypted until that user logs out.
 */
final class FdesetupParser {
    static final String VOLUME = "/";
    static final String METHOD = "FileVault";

    private static final Pattern CONVERSION = Pattern.compile(
            "(?im)(En|De)cryption (in progress|paused)\\b[^\\n=]*(?:=\\s*(\\d{1,3})(?:\\.\\d+)?)?");
    private static final Pattern ON = Pattern.compile("(?im)^\\s*FileVault is On\\.?\\s*$");
    private static final Pattern OFF = Pattern.compile("(?im)^\\s*FileVault is Off\\.?\\s*$");
    private static final Pattern DEFERRED = Pattern.compile("(?im)^\\s*Deferred enablement appears to be active");

    private FdesetupParser() {
    }

    /** @throws IllegalArgumentException naming what was found when no known status line is there */
    static DiskFacts parse(String output) {
        String text = output == null ? "" : output;
        Matcher conversion = CONVERSION.matcher(text);
        if (conversion.find()) {
            boolean encrypting = conversion.group(1).equalsIgnoreCase("En");
            Integer percent = conversion.group(3) == null ? null : Integer.parseInt(conversion.group(3));
            String state = encrypting ? DiskFacts.ENCRYPTION_IN_PROGRESS : DiskFacts.DECRYPTION_IN_PROGRESS;
            return new DiskFacts(VOLUME, true, METHOD, false, state, percent);
        }
        boolean deferred = DEFERRED.matcher(text).find();
        if (ON.matcher(text).find()) {
            return new DiskFacts(VOLUME, true, METHOD, !deferred, DiskFacts.FULLY_ENCRYPTED, 100);
        }
        if (OFF.matcher(text).find() || deferred) {
            return new DiskFacts(VOLUME, false, null, false, DiskFacts.FULLY_DECRYPTED, 0);
        }
        throw new IllegalArgumentException("fdesetup status: expected \"FileVault is On.\" or \"FileVault is Off.\", found "
                + MacText.quote(text));
    }
}
