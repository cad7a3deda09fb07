package org.postern.gateway.selfcheck;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Certificates close to their end: within {@link #SOON} (or the item's own margin) a warning, past it {@code whenExpired} (critical
 * for the CA and server certificates the gateway cannot work without; a warning for an admin
 * certificate, which only locks its holder out).
 */
public final class CertificateExpiryCheck implements Check {
    static final String NAME = "certificates";
    /** How close to its end a certificate is worth a warning. */
    public static final Duration SOON = Duration.ofDays(30);

    /**
     * @param label       what the certificate is, as printed: {@code issuing CA (DATA/ca/issuing.crt)}
     * @param whenExpired the severity once it has ended
     * @param renew       how to get a new one
     * @param soon        how close to its end it is worth a warning: {@link #SOON}, or less for a certificate
     *                    renewed on its own (the OCSP responder's, renewed with a third of its life left)
     */
    public record Item(String label, X509Certificate certificate, Severity whenExpired, String renew, Duration soon) {
        public Item {
            Objects.requireNonNull(label, "label");
            Objects.requireNonNull(certificate, "certificate");
            Objects.requireNonNull(whenExpired, "whenExpired");
            Objects.requireNonNull(renew, "renew");
            Objects.requireNonNull(soon, "soon");
        }

        /** Worth a warning within {@link #SOON} of its end. */
        public Item(String label, X509Certificate certificate, Severity whenExpired, String renew) {
            this(label, certificate, whenExpired, renew, SOON);
        }
    }

    private final List<Item> items;
    private final List<Finding> unreadable;
    private final Clock clock;

    /** @param unreadable findings for certificates that could not be read, reported as they are */
    public CertificateExpiryCheck(List<Item> items, List<Finding> unreadable, Clock clock) {
        this.items = List.copyOf(items);
        this.unreadable = List.copyOf(unreadable);
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Finding> run() {
        Instant now = clock.instant();
        List<Finding> out = new ArrayList<>(unreadable);
        int fine = 0;
        for (Item i : items) {
            Instant end = i.certificate().getNotAfter().toInstant();
            if (!now.isBefore(end)) {
                out.add(new Finding(NAME, i.whenExpired(), i.label() + " expired on " + end, i.renew()));
            } else if (Duration.between(now, end).compareTo(i.soon()) <= 0) {
                out.add(new Finding(NAME, Severity.WARNING, i.label() + " expires on " + end + " ("
                        + CrlCheck.days(Duration.between(now, end)) + " left)", i.renew()));
            } else {
                fine++;
            }
        }
        if (fine > 0) {
            Item first = items.stream().filter(i -> i.certificate().getNotAfter().toInstant().isAfter(now.plus(i.soon())))
                    .min(Comparator.comparing(i -> i.certificate().getNotAfter())).orElseThrow();
            out.add(Finding.info(NAME, fine + " certificates not close to their end; the first to end is " + first.label()
                    + " on " + first.certificate().getNotAfter().toInstant()));
        }
        if (out.isEmpty()) {
            out.add(Finding.info(NAME, "no certificate to check"));
        }
        return out;
    }
}
