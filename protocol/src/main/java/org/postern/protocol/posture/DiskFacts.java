package org.postern.protocol.posture;

/**
 * The system volume's encryption. {@code volume} names it ({@code "C:"}, {@code "/"} on
 * {@code /dev/mapper/root}); {@code encrypted} whether its data is encrypted at all;
 * {@code method} how ({@code "LUKS2"}, {@code "XTS-AES 128"}, {@code "FileVault"});
 * {@code protectionOn} whether the protection is active (false for suspended BitLocker, for
 * "used space only" with protection off, for FileVault deferred); {@code conversion} the state of
 * an ongoing encryption or decryption ({@code "fully_encrypted"}, {@code "encryption_in_progress"},
 * {@code "decryption_in_progress"}, {@code "fully_decrypted"}, {@code "encryption_paused"},
 * {@code "decryption_paused"}) and {@code conversionPercent} its
 * progress. Boxed types: null means "not known", which the evaluator never treats as a pass.
 */
public record DiskFacts(String volume, Boolean encrypted, String method, Boolean protectionOn,
                        String conversion, Integer conversionPercent) {
    public static final String FULLY_ENCRYPTED = "fully_encrypted";
    public static final String ENCRYPTION_IN_PROGRESS = "encryption_in_progress";
    public static final String DECRYPTION_IN_PROGRESS = "decryption_in_progress";
    public static final String FULLY_DECRYPTED = "fully_decrypted";
    /** BitLocker stopped half-way through encrypting (ConversionStatus 4). */
    public static final String ENCRYPTION_PAUSED = "encryption_paused";
    /** BitLocker stopped half-way through decrypting (ConversionStatus 5). */
    public static final String DECRYPTION_PAUSED = "decryption_paused";
}
