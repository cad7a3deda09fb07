package org.postern.pki.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A SoftHSM2 token made for one test run, in a private directory: its {@code softhsm2.conf}
 * (which a child JVM gets as {@code SOFTHSM2_CONF}) and the SunPKCS11 configuration naming its
 * slot. Nothing under {@code /etc} is read or written. Fails loudly, naming the Debian package,
 * when SoftHSM2 is not installed.
 */
public record SoftHsmToken(Path softhsmConf, Path pkcs11Config) {
    public static final String SO_PIN = "87654321";
    public static final String PIN = "12345678";
    private static final List<Path> LIBRARIES = List.of(
            Path.of("/usr/lib/softhsm/libsofthsm2.so"),
            Path.of("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
            Path.of("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
            Path.of("/usr/local/lib/softhsm/libsofthsm2.so"));

    /** Initialises a token labelled {@code label} under {@code dir}; {@code providerName} names the SunPKCS11 provider. */
    public static SoftHsmToken create(Path dir, String label, String providerName) throws IOException, InterruptedException {
        Path library = LIBRARIES.stream().filter(Files::isReadable).findFirst().orElseThrow(() -> new AssertionError(
                "SoftHSM2 is not installed: expected libsofthsm2.so in one of " + LIBRARIES + " (apt-get install softhsm2)"));
        Path tokens = Files.createDirectories(dir.resolve("softhsm/tokens"));
        Path conf = dir.resolve("softhsm/softhsm2.conf");
        Files.writeString(conf, "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n");
        ProcessBuilder pb = new ProcessBuilder("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", PIN)
                .redirectErrorStream(true);
        pb.environment().put("SOFTHSM2_CONF", conf.toString());
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("softhsm2-util --init-token did not finish within 60 s");
        }
        if (p.exitValue() != 0) {
            throw new AssertionError("softhsm2-util --init-token failed (exit " + p.exitValue() + "): " + output);
        }
        Matcher slot = Pattern.compile("reassigned to slot (\\d+)").matcher(output);
        if (!slot.find()) {
            throw new AssertionError("softhsm2-util output does not name the new slot: " + output);
        }
        Path pkcs11 = dir.resolve("pkcs11.cfg");
        Files.writeString(pkcs11, "name = " + providerName + "\nlibrary = " + library + "\nslot = " + slot.group(1) + "\n");
        return new SoftHsmToken(conf, pkcs11);
    }
}
