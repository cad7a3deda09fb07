package org.postern.pki.ca;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

import org.postern.keys.KeyFiles;
import org.postern.keys.Pem;
import org.postern.keys.SecureFiles;

/**
 * The CA's files in {@code DATA/ca/}: certificates in PEM, CA keys encrypted (or in a PKCS#11
 * token), the OCSP responder's online key in a 0600 file, and {@code ca.properties} naming how the
 * keys are kept. {@link #init} creates them once and refuses to overwrite; {@link #load} unlocks.
 */
public final class CaStore {
    public static final Duration ROOT_LIFETIME = Duration.ofDays(20 * 365);
    public static final Duration ISSUING_LIFETIME = Duration.ofDays(10 * 365);

    private final Path dir;

    public CaStore(Path dataDir) {
        this.dir = dataDir.resolve("ca");
    }

    public Path dir() {
        return dir;
    }

    public boolean exists() {
        return Files.exists(dir.resolve("ca.properties"));
    }

    public Path rootCertificateFile() {
        return dir.resolve("root.crt");
    }

    public Path chainFile() {
        return dir.resolve("chain.pem");
    }

    public Path crlFile() {
        return dir.resolve("crl.der");
    }

    /**
     * Creates the root and issuing CA (P-256) and the OCSP responder. Fails with a clear message
     * if a CA is already there: a CA is never silently replaced.
     */
    public CertificateAuthority init(String name, KeyProtection protection, Instant now, SecureRandom random, Duration ocspLifetime) throws IOException {
        if (exists()) {
            throw new IOException("a CA already exists in " + dir + "; refusing to overwrite it (remove the directory first if you really mean to start over)");
        }
        SecureFiles.privateDirectory(dir.getParent());
        SecureFiles.privateDirectory(dir);
        Profiles profiles = new Profiles(random);
        CertificateAuthority ca = switch (protection) {
            case KeyProtection.Passphrase p -> initWithFiles(name, p, profiles, now, random, ocspLifetime);
            case KeyProtection.Pkcs11 p -> Pkcs11Keys.init(dir, name, p, profiles, now, random, ocspLifetime);
        };
        Properties props = new Properties();
        props.setProperty("name", name);
        props.setProperty("keys", protection instanceof KeyProtection.Pkcs11 ? "pkcs11" : "file");
        if (protection instanceof KeyProtection.Pkcs11 p) {
            props.setProperty("pkcs11.config", p.config().toAbsolutePath().toString());
        }
        props.setProperty("created", now.toString());
        var out = new java.io.StringWriter();
        props.store(out, "Postern CA — written by postern pki init");
        SecureFiles.replace(dir.resolve("ca.properties"), out.toString().getBytes(StandardCharsets.UTF_8), false);
        return ca;
    }

    private CertificateAuthority initWithFiles(String name, KeyProtection.Passphrase p, Profiles profiles, Instant now,
                                               SecureRandom random, Duration ocspLifetime) throws IOException {
        KeyPair rootKeys = KeyFiles.generateP256(random);
        X509Certificate rootCert = profiles.root(name, rootKeys.getPublic(), rootKeys.getPrivate(), null, now, ROOT_LIFETIME);
        CaSigner root = new CaSigner(rootCert, rootKeys.getPrivate(), null);
        KeyPair issuingKeys = KeyFiles.generateP256(random);
        X509Certificate issuingCert = profiles.issuingCa(name, issuingKeys.getPublic(), root, now, ISSUING_LIFETIME);
        CaSigner issuing = new CaSigner(issuingCert, issuingKeys.getPrivate(), null);

        SecureFiles.createSecret(dir.resolve("root.key"), KeyFiles.encryptedPem(rootKeys.getPrivate(), p.passphrase(), random));
        SecureFiles.createSecret(dir.resolve("issuing.key"), KeyFiles.encryptedPem(issuingKeys.getPrivate(), p.passphrase(), random));
        writeCertificates(dir, rootCert, issuingCert);
        CaSigner ocsp = renewOcspResponder(dir, name, issuing, profiles, now, ocspLifetime, random);
        return new CertificateAuthority(name, rootCert, issuing, ocsp);
    }

    static void writeCertificates(Path dir, X509Certificate rootCert, X509Certificate issuingCert) throws IOException {
        SecureFiles.replace(dir.resolve("root.crt"), Pem.encode(rootCert).getBytes(StandardCharsets.US_ASCII), false);
        SecureFiles.replace(dir.resolve("issuing.crt"), Pem.encode(issuingCert).getBytes(StandardCharsets.US_ASCII), false);
        SecureFiles.replace(dir.resolve("chain.pem"), Pem.encodeAll(List.of(issuingCert, rootCert)).getBytes(StandardCharsets.US_ASCII), false);
    }

    /**
     * Unlocks the CA. A wrong passphrase is a {@link KeyFiles.WrongPassphraseException}; a missing
     * CA says how to create one. When the OCSP responder certificate is missing or within a third
     * of its lifetime of expiry, a new one is issued.
     */
    public CertificateAuthority load(KeyProtection protection, Instant now, SecureRandom random, Duration ocspLifetime) throws IOException {
        if (!exists()) {
            throw new IOException("no CA in " + dir.getParent() + " (expected " + dir.resolve("ca.properties") + "); create one with: postern pki init --dir " + dir.getParent());
        }
        Properties props = new Properties();
        try (var in = Files.newBufferedReader(dir.resolve("ca.properties"), StandardCharsets.UTF_8)) {
            props.load(in);
        }
        String name = props.getProperty("name", "Postern");
        String keys = props.getProperty("keys", "file");
        X509Certificate rootCert = Pem.readCertificate(dir.resolve("root.crt"));
        X509Certificate issuingCert = Pem.readCertificate(dir.resolve("issuing.crt"));
        CaSigner issuing = switch (protection) {
            case KeyProtection.Passphrase p when keys.equals("file") ->
                    new CaSigner(issuingCert, KeyFiles.readEncrypted(dir.resolve("issuing.key"), p.passphrase()), null);
            case KeyProtection.Pkcs11 p when keys.equals("pkcs11") -> Pkcs11Keys.issuing(p, issuingCert);
            default -> throw new IOException("the CA in " + dir + " keeps its keys in " + (keys.equals("pkcs11")
                    ? "a PKCS#11 token; pass --pkcs11 CONFIG and the PIN in POSTERN_CA_PASSPHRASE"
                    : "encrypted files; unlock it with POSTERN_CA_PASSPHRASE or --passphrase-file, not --pkcs11"));
        };
        Profiles profiles = new Profiles(random);
        Optional<CaSigner> current = currentOcspResponder(issuing, now);
        CaSigner ocsp = current.isPresent() ? current.get()
                : renewOcspResponder(dir, name, issuing, profiles, now, ocspLifetime, random);
        return new CertificateAuthority(name, rootCert, issuing, ocsp);
    }

    /** Loads only the public certificates: enough to verify, serve cacerts, or pin the root. */
    public List<X509Certificate> certificates() throws IOException {
        if (!exists()) {
            throw new IOException("no CA in " + dir.getParent() + "; create one with: postern pki init --dir " + dir.getParent());
        }
        return List.of(Pem.readCertificate(dir.resolve("issuing.crt")), Pem.readCertificate(dir.resolve("root.crt")));
    }

    private Optional<CaSigner> currentOcspResponder(CaSigner issuing, Instant now) throws IOException {
        Path crt = dir.resolve("ocsp.crt");
        Path key = dir.resolve("ocsp.key");
        if (!Files.exists(crt) || !Files.exists(key)) {
            return Optional.empty();
        }
        X509Certificate cert = Pem.readCertificate(crt);
        Instant start = cert.getNotBefore().toInstant();
        Instant end = cert.getNotAfter().toInstant();
        Duration life = Duration.between(start, end);
        if (now.isAfter(end.minus(life.dividedBy(3))) || !cert.getIssuerX500Principal().equals(issuing.certificate().getSubjectX500Principal())) {
            return Optional.empty();
        }
        return Optional.of(new CaSigner(cert, KeyFiles.readPlain(key), null));
    }

    /**
     * The OCSP responder key is an online key, like a TLS server key: kept in a 0600 file, not
     * under the CA passphrase, and replaced well before its certificate ends.
     */
    static CaSigner renewOcspResponder(Path dir, String name, CaSigner issuing, Profiles profiles, Instant now, Duration lifetime, SecureRandom random) throws IOException {
        KeyPair kp = KeyFiles.generateP256(random);
        X509Certificate cert = profiles.ocspResponder(name, kp.getPublic(), issuing, profiles.newSerial(), now, lifetime);
        SecureFiles.replace(dir.resolve("ocsp.key"), KeyFiles.plainPem(kp.getPrivate()), true);
        SecureFiles.replace(dir.resolve("ocsp.crt"), Pem.encode(cert).getBytes(StandardCharsets.US_ASCII), false);
        return new CaSigner(cert, kp.getPrivate(), null);
    }

}
