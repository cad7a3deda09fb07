package org.postern.cli.pki;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.crypto.spec.PBEParameterSpec;

import org.postern.cli.Exit;
import org.postern.config.Secret;
import org.postern.keys.SecureFiles;

/**
 * An admin certificate, its key and the CA chain as one PKCS#12 file that a browser imports
 * (Firefox, and Chromium through NSS's {@code pk12util}): {@code pki issue-admin --p12 FILE}.
 *
 * <p>Encrypted the modern way, PBES2: PBKDF2 with HMAC-SHA256 and AES-256-CBC for the key and for
 * the certificates, and an HMAC-SHA256 integrity MAC, 10,000 iterations each — what the JDK's own
 * {@code PKCS12} key store writes by default since JDK 12. The provider is named ({@code SUN}), not looked up: with
 * BouncyCastle registered first, {@code KeyStore.getInstance("PKCS12")} could be BouncyCastle's,
 * whose defaults are the legacy 3DES/RC2 ones. The key's algorithm and iteration count are set here
 * too, so a {@code java.security} file that lowers the defaults does not lower this file.
 *
 * <p>The passphrase comes from {@code --p12-passphrase-file} (a file only its owner may read) or
 * {@code $POSTERN_P12_PASSPHRASE}; it is never printed or logged, and must be at least
 * {@value #MIN_PASSPHRASE} characters: the file leaves the CA's machine, and an offline guess at
 * its passphrase is limited only by the iteration count.
 */
final class Pkcs12Export {

    /** The environment variable with the passphrase when no file is given. */
    static final String PASSPHRASE_ENV = "POSTERN_P12_PASSPHRASE";
    /** Fewest characters a passphrase may have. */
    static final int MIN_PASSPHRASE = 12;
    /**
     * PBKDF2 iterations for the key bag: the JDK's default, as for the certificates and the MAC (more
     * here alone would not slow a guesser, who can test guesses against the MAC).
     */
    static final int ITERATIONS = 10_000;
    /** The key bag's PBES2 scheme: PBKDF2-HMAC-SHA256, AES-256-CBC. */
    static final String KEY_ALGORITHM = "PBEWithHmacSHA256AndAES_256";

    private Pkcs12Export() {
    }

    /**
     * The passphrase: the first line of {@code file} when given, else {@code $POSTERN_P12_PASSPHRASE}.
     *
     * @throws Exit {@link Exit#USAGE} when it is missing, empty, shorter than {@value #MIN_PASSPHRASE}
     *              characters, or in a file others may read
     */
    static Secret passphrase(Path file, Map<String, String> environment) {
        Secret secret;
        String from;
        if (file != null) {
            from = "--p12-passphrase-file " + file;
            ownerOnly(file);
            try {
                secret = Secret.fromFile(file);
            } catch (IllegalArgumentException e) {
                throw new Exit(Exit.USAGE, "PKCS#12 passphrase: " + e.getMessage());
            }
        } else {
            from = "$" + PASSPHRASE_ENV;
            try {
                secret = Secret.fromEnv(PASSPHRASE_ENV, environment);
            } catch (IllegalArgumentException e) {
                throw new Exit(Exit.USAGE, "PKCS#12 passphrase: " + e.getMessage()
                        + " (or pass --p12-passphrase-file FILE); --p12 needs a passphrase");
            }
        }
        int length = secret.reveal().codePointCount(0, secret.reveal().length());
        if (length < MIN_PASSPHRASE) {
            // the length is said, never the passphrase
            throw new Exit(Exit.USAGE, "PKCS#12 passphrase from " + from + ": expected at least " + MIN_PASSPHRASE
                    + " characters, found " + length);
        }
        return secret;
    }

    /** Refuses a passphrase file that its group or others may read or write (it would be a copy of the secret). */
    private static void ownerOnly(Path file) {
        if (!SecureFiles.posix()) {
            return;
        }
        Set<PosixFilePermission> perms;
        try {
            perms = Files.getPosixFilePermissions(file);
        } catch (NoSuchFileException e) {
            throw new Exit(Exit.USAGE, "PKCS#12 passphrase: expected a secret file at " + file + ", found none");
        } catch (IOException e) {
            throw new Exit(Exit.USAGE, "PKCS#12 passphrase: expected a readable secret file at " + file + ", found " + e);
        }
        Set<PosixFilePermission> others = EnumSet.copyOf(perms);
        others.retainAll(EnumSet.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_EXECUTE));
        if (!others.isEmpty()) {
            throw new Exit(Exit.USAGE, "--p12-passphrase-file " + file + ": expected a file only its owner can read"
                    + " (mode 600: chmod 600 " + file + "), found mode " + PosixFilePermissions.toString(perms));
        }
    }

    /**
     * Refuses a {@code --p12} target before anything is issued: an existing file (never
     * overwritten), or a directory that is not there.
     */
    static void checkTarget(Path p12) {
        if (Files.exists(p12, LinkOption.NOFOLLOW_LINKS)) {
            throw new Exit(Exit.REFUSED, p12 + " already exists; refusing to overwrite it (move it away, or name"
                    + " another --p12 FILE)");
        }
        Path dir = p12.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new Exit(Exit.USAGE, "--p12 " + p12 + ": expected a file in an existing directory, found no directory "
                    + dir);
        }
    }

    /**
     * Writes {@code key}, {@code certificate} and {@code caChain} (issuing CA, then root) to
     * {@code p12}, new, mode 0600, under {@code friendlyName} (what a browser's certificate list
     * shows).
     */
    static void write(Path p12, String friendlyName, PrivateKey key, X509Certificate certificate,
                      List<X509Certificate> caChain, Secret passphrase, SecureRandom random) throws IOException {
        List<Certificate> chain = new ArrayList<>();
        chain.add(certificate);
        chain.addAll(caChain);
        char[] pass = passphrase.revealChars();
        byte[] encoded;
        try {
            KeyStore store = KeyStore.getInstance("PKCS12", "SUN");
            store.load(null, null);
            byte[] salt = new byte[20];
            random.nextBytes(salt);
            store.setEntry(friendlyName, new KeyStore.PrivateKeyEntry(key, chain.toArray(Certificate[]::new)),
                    new KeyStore.PasswordProtection(pass, KEY_ALGORITHM, new PBEParameterSpec(salt, ITERATIONS)));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            store.store(out, pass);
            encoded = out.toByteArray();
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the PKCS#12 file " + p12 + ": " + e.getMessage(), e);
        } finally {
            Arrays.fill(pass, '\0');
        }
        try {
            SecureFiles.createSecret(p12, encoded);
        } catch (FileAlreadyExistsException e) {
            throw new Exit(Exit.REFUSED, p12 + " already exists; refusing to overwrite it (move it away, or name"
                    + " another --p12 FILE)");
        }
    }
}
