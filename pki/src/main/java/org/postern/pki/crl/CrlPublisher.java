package org.postern.pki.crl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.CertificateEncodingException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.X509CRLHolder;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.jspecify.annotations.Nullable;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.keys.SecureFiles;
import org.postern.pki.registry.CertificateRecord;
import org.postern.pki.registry.Registry;

/**
 * Signs the CRL (RFC 5280 v2, issued by the issuing CA) from the registry's revoked and held
 * certificates and keeps it in {@code DATA/ca/crl.der}. {@code device revoke} re-signs at once;
 * the server picks up a file re-signed by another process and re-signs one past half its validity.
 */
public final class CrlPublisher {

    private final CertificateAuthority ca;
    private final Registry registry;
    private final Path file;
    private final Duration validity;
    private final Clock clock;
    private Published current;
    private @Nullable FileTime writtenAt;

    /** What {@link #keepFresh} started; closing it stops the looks (nothing to throw). */
    public interface Refresher extends AutoCloseable {
        @Override
        void close();
    }

    /** A signed CRL and what it was built from. */
    public record Published(byte[] der, Instant thisUpdate, Instant nextUpdate, BigInteger number, int entries) {}

    public CrlPublisher(CertificateAuthority ca, Registry registry, Path file, Duration validity, Clock clock) {
        this.ca = ca;
        this.registry = registry;
        this.file = file;
        this.validity = validity;
        this.clock = clock;
    }

    /** Builds, signs and stores a new CRL now. */
    public synchronized Published publish() {
        Instant now = clock.instant();
        List<CertificateRecord> revoked = registry.revokedCertificates(now);
        BigInteger number = registry.nextCrlNumber();
        byte[] der = sign(revoked, number, now);
        try {
            SecureFiles.replace(file, der, false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the CRL to " + file + ": " + e.getMessage(), e);
        }
        Published p = new Published(der, now, now.plus(validity), number, revoked.size());
        current = p;
        try {
            writtenAt = Files.getLastModifiedTime(file);
        } catch (IOException e) {
            writtenAt = null;
        }
        return p;
    }

    /**
     * The CRL to serve. Revocations made by another process (the CLI) re-sign {@code crl.der},
     * so a newer file replaces the one in memory; a CRL past half its validity is re-signed.
     */
    public synchronized Published current() {
        Instant now = clock.instant();
        Published p = current;
        try {
            if (Files.exists(file)) {
                FileTime mtime = Files.getLastModifiedTime(file);
                if (p == null || !mtime.equals(writtenAt)) {
                    byte[] der = Files.readAllBytes(file);
                    X509CRLHolder h = new X509CRLHolder(der);
                    CRLNumber n = CRLNumber.getInstance(h.getExtension(Extension.cRLNumber).getParsedValue());
                    p = new Published(der, h.getThisUpdate().toInstant(), h.getNextUpdate().toInstant(), n.getCRLNumber(), h.getRevokedCertificates().size());
                    current = p;
                    writtenAt = mtime;
                }
            }
        } catch (IOException | RuntimeException e) {
            p = null; // unreadable or foreign file: sign a fresh one below
        }
        if (p != null && now.isBefore(p.thisUpdate().plus(validity.dividedBy(2)))) {
            return p;
        }
        return publish();
    }

    /**
     * Keeps {@code crl.der} fresh while a server runs, whether or not anyone asks for the CRL: signs one now
     * when none is stored (a data directory not made by {@code pki init}, a deleted file) or the stored one
     * is past half its validity, then looks again every {@link #refreshPeriod()}. Without this the file is
     * re-signed only when a client fetches it, and a quiet week leaves a stale CRL on disk (what selfcheck and
     * anyone copying the file read). A failure goes to {@code onFailure} and does not stop the server: the
     * next look tries again. Close the result to stop.
     */
    public Refresher keepFresh(Consumer<RuntimeException> onFailure) {
        Runnable look = () -> {
            try {
                current();
            } catch (RuntimeException e) { // a failed look must not cancel the next ones
                onFailure.accept(e);
            }
        };
        look.run(); // at once: the file is there when this returns (a gateway calls it before it listens)
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("postern-crl").factory());
        long every = refreshPeriod().toMillis();
        timer.scheduleWithFixedDelay(look, every, every, TimeUnit.MILLISECONDS);
        return timer::shutdownNow;
    }

    /** How often {@link #keepFresh} looks: an eighth of the validity, at most an hour (well inside the half it re-signs at). */
    public Duration refreshPeriod() {
        Duration eighth = validity.dividedBy(8);
        return eighth.compareTo(Duration.ofHours(1)) < 0 ? eighth : Duration.ofHours(1);
    }

    byte[] sign(List<CertificateRecord> revoked, BigInteger number, Instant now) {
        try {
            X509v2CRLBuilder b = new X509v2CRLBuilder(new JcaX509CertificateHolder(ca.issuing().certificate()).getSubject(), Date.from(now));
            b.setNextUpdate(Date.from(now.plus(validity)));
            for (CertificateRecord r : revoked) {
                b.addCRLEntry(r.serial(), Date.from(r.revokedAt()), r.revocationReason().crlReason());
            }
            b.addExtension(Extension.cRLNumber, false, new CRLNumber(number));
            b.addExtension(Extension.authorityKeyIdentifier, false,
                    new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(ca.issuing().certificate()));
            X509CRLHolder crl = b.build(ca.issuing().contentSigner());
            return crl.getEncoded();
        } catch (IOException | CertificateEncodingException | java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot sign the CRL: " + e.getMessage(), e);
        }
    }

    /** Reads the stored CRL, for {@code postern pki crl}. */
    public static byte[] read(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw new IOException("no CRL yet at " + file + "; one is signed by the first revocation or by postern pki crl --sign");
        }
        return Files.readAllBytes(file);
    }

}
