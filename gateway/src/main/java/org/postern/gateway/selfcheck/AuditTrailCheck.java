package org.postern.gateway.selfcheck;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;
import org.postern.audit.trail.AuditKeys;
import org.postern.audit.trail.AuditVerifier;

/**
 * The audit trails verify (hash chain, signed checkpoints) with {@code DATA/audit.pub}, and whether
 * they leave the host: no SIEM forwarding is a warning (the only copy is on the machine an intruder
 * would edit), a SIEM more than {@link #MAX_LAG} records behind a warning. A broken trail is critical.
 * A trail that does not exist yet (the gateway never ran) is an info.
 */
public final class AuditTrailCheck implements Check {
    static final String NAME = "audit-trail";
    /** Records the SIEM may be behind before it is worth a warning: a few minutes of a busy gateway. */
    static final long MAX_LAG = 1000;
    private static final String CURSOR_PREFIX = "postern-siem-cursor/1 seq=";

    /**
     * @param dir    a trail directory
     * @param siemed whether {@code audit.siem} forwards this trail (only the gateway's own trail is forwarded)
     */
    public record Trail(Path dir, boolean siemed) {
        public Trail {
            Objects.requireNonNull(dir, "dir");
        }
    }

    private final List<Trail> trails;
    private final Path publicKey;
    private final @Nullable Path siemCursor;
    private final @Nullable String siemAddress;
    private final long maxLag;

    /**
     * @param trails      the trails to verify: the gateway's {@code audit.dir}, the PKI commands' {@code DATA/audit/pki}
     * @param publicKey   {@code DATA/audit.pub}
     * @param siemAddress {@code audit.siem.address}, null when forwarding is not configured
     * @param siemCursor  {@code audit.siem.cursor}, null when forwarding is not configured
     */
    public AuditTrailCheck(List<Trail> trails, Path publicKey, @Nullable String siemAddress, @Nullable Path siemCursor) {
        this(trails, publicKey, siemAddress, siemCursor, MAX_LAG);
    }

    /** With {@code maxLag} records of SIEM lag before a warning instead of {@link #MAX_LAG}. */
    AuditTrailCheck(List<Trail> trails, Path publicKey, @Nullable String siemAddress, @Nullable Path siemCursor, long maxLag) {
        this.maxLag = maxLag;
        this.trails = List.copyOf(trails);
        this.publicKey = Objects.requireNonNull(publicKey, "publicKey");
        this.siemAddress = siemAddress;
        this.siemCursor = siemCursor;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Finding> run() throws IOException {
        List<Finding> out = new ArrayList<>();
        PublicKey key = null;
        for (Trail trail : trails) {
            Path dir = trail.dir();
            if (!hasSegments(dir)) {
                // no directory: nothing ever wrote there; a directory without segments: every one deleted, or a writer
                // that stopped before its first record; postern audit verify fails both as "empty"
                out.add(!Files.exists(dir) ? Finding.info(NAME, "no audit trail yet in " + dir + " (nothing has written one)")
                        : new Finding(NAME, Severity.WARNING, "the audit trail directory " + dir + " holds no segment",
                                "if a gateway wrote there before, its segments were deleted: investigate before opening"));
                if (trail.siemed()) {
                    siem(out, -1);
                }
                continue;
            }
            if (key == null) {
                try {
                    key = AuditKeys.readPublicKey(publicKey);
                } catch (IOException e) {
                    out.add(new Finding(NAME, Severity.WARNING, "cannot verify the audit trails: the audit public key "
                            + e.getMessage(), "export it again: postern audit pubkey " + publicKey.resolveSibling("audit.key")
                            + " > " + publicKey));
                    return out;
                }
            }
            AuditVerifier.Result r = AuditVerifier.verify(dir, key, new AuditVerifier.Options(false, true, null));
            if (!r.ok()) {
                out.add(new Finding(NAME, Severity.CRITICAL, "the audit trail " + dir + " is broken: " + r.problem(),
                        "do not open the gateway; keep the trail as it is for the investigation and see postern audit verify "
                                + dir + " (docs/audit.md)"));
                if (trail.siemed()) {
                    siem(out, -1);
                }
                continue;
            }
            out.add(Finding.info(NAME, "the audit trail " + dir + " verifies: " + count(r.records(), "record") + " in "
                    + count(r.segments(), "segment") + ", " + count(r.checkpoints(), "checkpoint")));
            for (AuditVerifier.Finding f : r.findings()) {
                if (f.kind() == AuditVerifier.Kind.TORN_TAIL) {
                    out.add(new Finding(NAME, Severity.WARNING, "the audit trail " + dir + " has a torn last line (a crash"
                            + " while writing): " + f, "nothing to repair; postern audit verify reports it until the trail rotates"));
                } else {
                    out.add(Finding.info(NAME, "the audit trail " + dir + ": " + f));
                }
            }
            if (trail.siemed()) {
                siem(out, r.records()); // seq counts from 1 without gaps, so the last seq is the record count
            }
        }
        return out;
    }

    /** SIEM forwarding of the gateway's trail; {@code lastSeq} -1 when the trail's end is not known. */
    private void siem(List<Finding> out, long lastSeq) throws IOException {
        if (siemAddress == null || siemCursor == null) {
            out.add(new Finding(NAME, Severity.WARNING, "audit.siem is not configured: the audit trail exists only on"
                    + " this host", "forward it to the SIEM: audit.siem.address and audit.siem.ca (docs/audit.md)"));
            return;
        }
        if (!Files.exists(siemCursor)) {
            out.add(new Finding(NAME, lastSeq > 0 ? Severity.WARNING : Severity.INFO, "audit.siem forwards to " + siemAddress
                    + " but no record was confirmed yet (no cursor at " + siemCursor + ")",
                    lastSeq > 0 ? "check that the collector is reachable and trusts the gateway's TLS" : "nothing to do"));
            return;
        }
        String text = Files.readString(siemCursor, StandardCharsets.US_ASCII).strip();
        long delivered;
        try {
            delivered = text.startsWith(CURSOR_PREFIX) ? Long.parseLong(text.substring(CURSOR_PREFIX.length())) : -1;
        } catch (NumberFormatException e) {
            delivered = -1;
        }
        if (delivered < 0) {
            out.add(new Finding(NAME, Severity.WARNING, "audit.siem.cursor " + siemCursor + ": expected \"" + CURSOR_PREFIX
                    + "N\", found \"" + text + "\"", "remove the file: the gateway sends the trail again from its start"));
            return;
        }
        if (lastSeq < 0) {
            out.add(Finding.info(NAME, "audit.siem forwards to " + siemAddress + ", confirmed up to seq " + delivered));
            return;
        }
        long lag = Math.max(0, lastSeq - delivered);
        out.add(lag > maxLag
                ? new Finding(NAME, Severity.WARNING, "audit.siem at " + siemAddress + " is " + lag + " records behind"
                        + " (confirmed seq " + delivered + " of " + lastSeq + ")",
                        "check that the collector is reachable; the trail is the spool, nothing is lost meanwhile")
                : Finding.info(NAME, "audit.siem forwards to " + siemAddress + ", " + lag + " records behind"));
    }

    private static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    private static boolean hasSegments(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().startsWith("segment-"));
        }
    }
}
