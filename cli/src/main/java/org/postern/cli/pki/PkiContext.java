package org.postern.cli.pki;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Properties;
import java.util.function.UnaryOperator;

import org.jspecify.annotations.Nullable;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.SharedAuditTrail;
import org.postern.cli.Exit;
import org.postern.config.PkiSettings;
import org.postern.config.Secret;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CaStore;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.keys.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.registry.Registries;
import org.postern.pki.registry.Registry;

/**
 * What a {@code postern pki} command works on: the data directory's CA, registry and audit log,
 * opened once; the CA is unlocked only when the command signs something.
 */
public final class PkiContext implements AutoCloseable {
    /** The PKI commands' own hash-chained trail, beside the gateway's {@code audit/trail} (what selfcheck verifies). */
    public static final String AUDIT_DIR = PkiSettings.AUDIT_DIR;
    /** The audit signing key of this data directory, shared with the gateway (and audit.pub beside it). */
    public static final String AUDIT_KEY = "audit.key";

    final Path dir;
    final PkiSettings settings;
    final CaStore store;
    final Registry registry;
    final SharedAuditTrail audit;
    final PkiService service;
    final Clock clock = Clock.systemUTC();
    final SecureRandom random = new SecureRandom();
    private final PkiOptions options;
    private CertificateAuthority ca;
    private CrlPublisher crl;

    private PkiContext(PkiOptions options, UnaryOperator<PkiSettings> adjust) throws IOException {
        this.options = options;
        this.dir = dataDir(options);
        this.settings = adjust.apply(options.config != null ? PkiSettings.load(options.config) : PkiSettings.defaults());
        this.store = new CaStore(dir);
        if (!store.exists()) {
            throw new Exit(Exit.CA, "no CA in " + dir + " (expected " + store.dir().resolve("ca.properties")
                    + "); create one with: postern pki init --dir " + dir);
        }
        // registry.url in pki.yaml: the SQLite file in DATA, or the PostgreSQL the gateways share
        this.registry = Registries.open(settings.registry(), dir, clock);
        this.audit = auditTrail(dir, random);
        this.service = new PkiService(this::ca, registry, audit, settings, clock, random, this::crl);
    }

    public static PkiContext open(PkiOptions options) throws IOException {
        return new PkiContext(options, UnaryOperator.identity());
    }

    /** Opens with settings adjusted by command-line flags (serve's --listen). */
    public static PkiContext open(PkiOptions options, UnaryOperator<PkiSettings> adjust) throws IOException {
        return new PkiContext(options, adjust);
    }

    public PkiService service() {
        return service;
    }

    public PkiSettings settings() {
        return settings;
    }

    public Path dir() {
        return dir;
    }

    static Path dataDir(PkiOptions options) {
        if (options.dir == null) {
            throw new Exit(Exit.USAGE, "expected the data directory as --dir DATA or in $POSTERN_DATA, found neither");
        }
        return options.dir;
    }

    /** Unlocks the CA on first use. A wrong passphrase is exit 3 with a one-line message, no stack trace. */
    public synchronized CertificateAuthority ca() {
        if (ca == null) {
            try {
                ca = store.load(protection(options, storedPkcs11Config()), clock.instant(), random,
                        settings.certificates().ocspResponderLifetime());
            } catch (KeyFiles.WrongPassphraseException e) {
                throw new Exit(Exit.CA, e.getMessage());
            } catch (IOException e) {
                throw new Exit(Exit.CA, "cannot unlock the CA: " + e.getMessage());
            }
        }
        return ca;
    }

    public synchronized CrlPublisher crl() {
        if (crl == null) {
            crl = new CrlPublisher(ca(), registry, store.crlFile(), settings.revocation().crlValidity(), clock);
        }
        return crl;
    }

    /** How this CA keeps its keys, with the secret given to this command (for keys kept like the CA's). */
    public KeyProtection protection() {
        return protection(options, storedPkcs11Config());
    }

    private @Nullable Path storedPkcs11Config() {
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(store.dir().resolve("ca.properties"), StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (IOException e) {
            return null;
        }
        return "pkcs11".equals(p.getProperty("keys")) ? Path.of(p.getProperty("pkcs11.config")) : null;
    }

    /** The passphrase or PIN: from --passphrase-file, else $POSTERN_CA_PASSPHRASE; never from an argument. */
    static KeyProtection protection(PkiOptions options, @Nullable Path storedPkcs11) {
        Secret secret;
        try {
            secret = options.passphraseFile != null
                    ? Secret.fromFile(options.passphraseFile)
                    : Secret.fromEnv("POSTERN_CA_PASSPHRASE", System.getenv());
        } catch (IllegalArgumentException e) {
            throw new Exit(Exit.USAGE, "CA passphrase: " + e.getMessage() + " (or pass --passphrase-file FILE)");
        }
        Path pkcs11 = options.pkcs11 != null ? options.pkcs11 : storedPkcs11;
        if (pkcs11 != null) {
            return new KeyProtection.Pkcs11(pkcs11, secret);
        }
        try {
            return new KeyProtection.Passphrase(secret);
        } catch (IllegalArgumentException e) {
            throw new Exit(Exit.USAGE, e.getMessage());
        }
    }

    /**
     * The PKI trail {@code DATA/audit/pki}, signed with {@code DATA/audit.key} (created on first
     * use, its public key exported as {@code DATA/audit.pub}); processes take turns through its lock.
     */
    public static SharedAuditTrail auditTrail(Path dir, SecureRandom random) throws IOException {
        AuditKeys keys = AuditKeys.loadOrCreate(dir.resolve(AUDIT_KEY), random);
        if (!Files.exists(dir.resolve("audit.pub"))) {
            keys.exportPublicKey(dir.resolve("audit.pub"));
        }
        return new SharedAuditTrail(dir.resolve(AUDIT_DIR), "pki@" + hostName(), keys);
    }

    static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    @Override
    public void close() {
        audit.close();
        registry.close();
    }
}
