package org.postern.protocol.posture;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.postern.config.posture.PosturePolicy;
import org.postern.config.posture.VersionNumber;

/**
 * Judges posture claims against a policy: the one evaluator that the gateway runs on verified
 * evidence and the agent runs for {@code postern-agent check}, so the user sees exactly what the
 * gateway will decide. Every rule is evaluated and every failure reported, not only the first.
 *
 * <p>Fail closed: a fact that is missing, cannot be parsed, or belongs to a check the collector
 * reported as failed ({@link CheckError}) is {@code check.failed}, never a pass. The claims are
 * taken as already verified ({@link Evidence#verify}); freshness and signature are not judged here.
 * Stateless and thread-safe.
 */
public final class PostureEvaluator {

    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyy-MM-dd", Locale.ROOT)
            .withZone(ZoneOffset.UTC);
    private static final Duration DAY_LENGTH = Duration.ofDays(1);

    /**
     * @param claims       what the agent collected (verified evidence on the gateway)
     * @param policy       the posture policy
     * @param certNotAfter the device certificate's expiry, or null when the device has none
     *                     (an agent not enrolled yet): then {@code cert} is {@code check.failed}
     * @param now          the evaluation time; the lease runs from it
     */
    public PostureVerdict evaluate(PostureClaims claims, PosturePolicy policy, Instant certNotAfter, Instant now) {
        Objects.requireNonNull(claims, "claims");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(now, "now");
        Run run = new Run(claims, policy, now);
        run.disk();
        run.os();
        run.patch();
        run.agent();
        run.cert(certNotAfter);
        run.unclaimedErrors();

        List<CheckResult> checks = run.results;
        List<ReasonDetail> reasons = checks.stream().flatMap(c -> c.reasons().stream()).toList();
        Instant lease = now.plus(policy.lease());
        if (reasons.isEmpty()) {
            return new PostureVerdict.Compliant(policy.mode(), policy.version(), lease, checks);
        }
        return new PostureVerdict.NonCompliant(policy.mode(), policy.version(), reasons,
                policy.mode() == PosturePolicy.Mode.REPORT_ONLY ? lease : null, checks);
    }

    /** One evaluation: the inputs, the collector errors not yet attributed, and the lines so far. */
    private static final class Run {
        final PostureClaims claims;
        final PosturePolicy policy;
        final Instant now;
        final String family;
        final List<CheckResult> results = new ArrayList<>();
        /** Collector errors by check name; removed as lines claim them, the rest get lines of their own. */
        final Map<String, List<String>> errors = new LinkedHashMap<>();

        Run(PostureClaims claims, PosturePolicy policy, Instant now) {
            this.claims = claims;
            this.policy = policy;
            this.now = now;
            this.family = claims.os() == null || claims.os().family() == null ? null
                    : claims.os().family().toLowerCase(Locale.ROOT);
            for (CheckError e : claims.errors()) {
                errors.computeIfAbsent(e.check(), k -> new ArrayList<>()).add(e.why());
            }
        }

        // ---- disk --------------------------------------------------------------------------

        void disk() {
            Line line = new Line("disk", "Disk encryption");
            DiskFacts d = claims.disk();
            line.found = describe(d);
            if (!policy.requireDiskEncryption()) {
                errors.remove("disk"); // a check the policy does not make cannot fail it
                line.found += " (not required by policy)";
                results.add(line.result());
                return;
            }
            line.collectorErrors(errors.remove("disk"));
            if (d == null) {
                line.unknown("no disk facts were collected");
                results.add(line.result());
                return;
            }
            String volume = d.volume() == null ? "The system volume" : "System volume " + d.volume();
            String conversion = d.conversion();
            boolean known = conversion != null && List.of(DiskFacts.FULLY_ENCRYPTED, DiskFacts.ENCRYPTION_IN_PROGRESS,
                    DiskFacts.DECRYPTION_IN_PROGRESS, DiskFacts.FULLY_DECRYPTED, DiskFacts.ENCRYPTION_PAUSED,
                    DiskFacts.DECRYPTION_PAUSED).contains(conversion);
            boolean notEncrypted = Boolean.FALSE.equals(d.encrypted());
            if (conversion == null && !notEncrypted) {
                line.unknown("its conversion state is unknown");
            } else if (conversion != null && !known) {
                line.unknown("its conversion state \"" + conversion + "\" is not one Postern knows");
            }
            if (DiskFacts.ENCRYPTION_IN_PROGRESS.equals(conversion)) {
                line.fail(Reason.DISK_ENCRYPTION_IN_PROGRESS, volume + " is still being encrypted"
                        + percent(d.conversionPercent()), Advice.waitForEncryption(family));
            } else if (DiskFacts.ENCRYPTION_PAUSED.equals(conversion)) {
                line.fail(Reason.DISK_ENCRYPTION_IN_PROGRESS, volume + " is only partly encrypted: encryption was paused"
                        + percent(d.conversionPercent()), Advice.waitForEncryption(family));
            } else if (DiskFacts.DECRYPTION_IN_PROGRESS.equals(conversion) || DiskFacts.DECRYPTION_PAUSED.equals(conversion)) {
                line.fail(Reason.DISK_NOT_ENCRYPTED, volume + " is being decrypted", Advice.turnOnEncryption(family, d.volume()));
            } else if (notEncrypted || DiskFacts.FULLY_DECRYPTED.equals(conversion)) {
                line.fail(Reason.DISK_NOT_ENCRYPTED, volume + " is not encrypted", Advice.turnOnEncryption(family, d.volume()));
            } else if (d.encrypted() == null) {
                line.unknown("whether it is encrypted is unknown");
            }
            // Protection matters once data is encrypted: suspended BitLocker, "used space only"
            // with protection off, FileVault deferred.
            if (Boolean.TRUE.equals(d.encrypted()) && Boolean.FALSE.equals(d.protectionOn())) {
                line.fail(Reason.DISK_PROTECTION_OFF, "Encryption protection is off on "
                        + (d.volume() == null ? "the system volume" : d.volume()), Advice.resumeProtection(family, d.volume()));
            } else if (d.protectionOn() == null && !notEncrypted) {
                line.unknown("whether its protection is on is unknown");
            }
            results.add(line.result());
        }

        private static String describe(DiskFacts d) {
            if (d == null) {
                return "unknown";
            }
            StringBuilder sb = new StringBuilder(d.volume() == null ? "system volume" : d.volume());
            sb.append(Boolean.TRUE.equals(d.encrypted()) ? " encrypted" : Boolean.FALSE.equals(d.encrypted())
                    ? " not encrypted" : " encryption unknown");
            if (d.method() != null) {
                sb.append(" (").append(d.method()).append(')');
            }
            sb.append(", protection ").append(d.protectionOn() == null ? "unknown" : d.protectionOn() ? "on" : "off");
            sb.append(", ").append(d.conversion() == null ? "conversion unknown" : d.conversion().replace('_', ' '));
            if (d.conversionPercent() != null && !DiskFacts.FULLY_ENCRYPTED.equals(d.conversion())) {
                sb.append(' ').append(d.conversionPercent()).append('%');
            }
            return sb.toString();
        }

        private static String percent(Integer p) {
            return p == null ? "" : " (" + p + "% done)";
        }

        // ---- OS ----------------------------------------------------------------------------

        void os() {
            Line line = new Line("os", "Operating system");
            OsFacts os = claims.os();
            line.found = describe(os);
            line.collectorErrors(errors.remove("os"));
            if (os == null || family == null) {
                line.unknown("its family is unknown");
                results.add(line.result());
                return;
            }
            if (!policy.allowsFamily(family)) {
                line.fail(Reason.OS_UNSUPPORTED, display(family) + " is not allowed by the posture policy"
                        + " (allowed: " + allowedFamilies() + ")", Reason.OS_UNSUPPORTED.remediation());
                results.add(line.result());
                return;
            }
            switch (family) {
                case OsFacts.WINDOWS -> windows(line, os, policy.minOs().windows());
                case OsFacts.MACOS -> macos(line, os, policy.minOs().macos());
                case OsFacts.LINUX -> linux(line, os, policy.minOs().linux());
                default -> throw new IllegalStateException("family " + family); // allowsFamily knows only these
            }
            results.add(line.result());
        }

        private void windows(Line line, OsFacts os, VersionNumber min) {
            // CurrentBuild.UBR after major.minor: version 10.0.22631 with build 22631.3447 is 10.0.22631.3447.
            VersionNumber version = VersionNumber.leading(os.version());
            VersionNumber build = VersionNumber.leading(os.build());
            if (version == null || version.parts().size() < 2) {
                line.unknown("the Windows version \"" + os.version() + "\" is not major.minor.build");
                return;
            }
            if (build == null) {
                line.unknown("the Windows build (CurrentBuild.UBR) \"" + os.build() + "\" is not numeric");
                return;
            }
            List<Integer> parts = new ArrayList<>(version.parts().subList(0, 2));
            parts.addAll(build.parts());
            String text = parts.stream().map(String::valueOf).reduce((a, b) -> a + "." + b).orElseThrow();
            VersionNumber actual = new VersionNumber(text, parts);
            if (actual.isOlderThan(min)) {
                line.fail(Reason.OS_TOO_OLD, "Windows " + actual + " is older than the required " + min,
                        Advice.installUpdates(family, null));
            }
        }

        private void macos(Line line, OsFacts os, VersionNumber min) {
            VersionNumber version = VersionNumber.leading(os.version());
            if (version == null) {
                line.unknown("the macOS version \"" + os.version() + "\" is not a version number");
                return;
            }
            if (version.isOlderThan(min)) {
                line.fail(Reason.OS_TOO_OLD, "macOS " + os.version() + " is older than the required " + min,
                        Advice.installUpdates(family, null));
            }
        }

        private void linux(Line line, OsFacts os, PosturePolicy.Linux min) {
            String distribution = os.name() == null ? null : os.name().toLowerCase(Locale.ROOT);
            if (distribution == null) {
                line.unknown("the distribution (ID of /etc/os-release) is unknown");
            } else if (!min.distributions().containsKey(distribution)) {
                line.fail(Reason.OS_UNSUPPORTED, "Linux distribution " + os.name() + " is not allowed by the posture"
                        + " policy (allowed: " + String.join(", ", min.distributions().keySet()) + ")",
                        Reason.OS_UNSUPPORTED.remediation());
            } else {
                VersionNumber required = min.distributions().get(distribution);
                VersionNumber release = VersionNumber.leading(os.version());
                if (release == null) {
                    line.unknown("the " + distribution + " release \"" + os.version() + "\" is not a version number");
                } else if (release.isOlderThan(required)) {
                    line.fail(Reason.OS_TOO_OLD, distribution + " " + os.version() + " is older than the required "
                            + required, Advice.upgradeRelease(distribution, required.text()));
                }
            }
            VersionNumber kernel = VersionNumber.leading(os.kernel());
            if (kernel == null) {
                line.unknown("the kernel release \"" + os.kernel() + "\" is not a version number");
            } else if (kernel.isOlderThan(min.kernel())) {
                line.fail(Reason.OS_TOO_OLD, "Linux kernel " + os.kernel() + " is older than the required "
                        + min.kernel(), Advice.installUpdates(family, distribution));
            }
        }

        private String allowedFamilies() {
            List<String> out = new ArrayList<>();
            for (String f : List.of(OsFacts.WINDOWS, OsFacts.MACOS, OsFacts.LINUX)) {
                if (policy.allowsFamily(f)) {
                    out.add(display(f));
                }
            }
            return String.join(", ", out);
        }

        private static String describe(OsFacts os) {
            if (os == null) {
                return "unknown";
            }
            List<String> parts = new ArrayList<>();
            parts.add(os.name() != null ? os.name() : os.family() != null ? display(os.family()) : "unknown OS");
            if (os.version() != null) {
                parts.add(os.version());
            }
            if (os.build() != null) {
                parts.add("build " + os.build());
            }
            if (os.kernel() != null) {
                parts.add("kernel " + os.kernel());
            }
            return String.join(" ", parts);
        }

        private static String display(String family) {
            return switch (family) {
                case OsFacts.WINDOWS -> "Windows";
                case OsFacts.MACOS -> "macOS";
                case OsFacts.LINUX -> "Linux";
                default -> "OS family \"" + family + "\"";
            };
        }

        // ---- patch -------------------------------------------------------------------------

        void patch() {
            PatchFacts p = claims.patch();
            String distribution = claims.os() == null ? null : claims.os().name();
            List<String> all = errors.remove("patch");
            lastUpdate(p, all, distribution);
            securityPending(p, all, distribution);
            rebootRequired(p, all);
        }

        private void lastUpdate(PatchFacts p, List<String> all, String distribution) {
            Line line = new Line("patch.lastUpdate", "Recent updates");
            line.collectorErrors(all);
            line.collectorErrors(errors.remove("patch.lastUpdate"));
            Instant last = p == null ? null : p.lastUpdate();
            line.found = last == null ? "last update unknown" : "last update " + DAY.format(last) + " (" + ago(last) + ")";
            Duration max = Duration.ofDays(policy.maxDaysSinceUpdate());
            if (last == null) {
                line.unknown("it is unknown");
            } else if (last.isAfter(now.plus(policy.evidenceSkew()))) {
                line.unknown("it is in the future (" + last + ")");
            } else if (Duration.between(last, now).compareTo(max) > 0) {
                line.fail(Reason.PATCH_STALE, "The last successful update was on " + DAY.format(last) + ", more than "
                        + policy.maxDaysSinceUpdate() + " days ago", Advice.installUpdates(family, distribution));
            }
            results.add(line.result());
        }

        private void securityPending(PatchFacts p, List<String> all, String distribution) {
            Line line = new Line("patch.securityPending", "Security updates");
            line.collectorErrors(all);
            line.collectorErrors(errors.remove("patch.securityPending"));
            Integer count = p == null ? null : p.securityPending();
            Instant since = p == null ? null : p.oldestPendingSince();
            Duration max = Duration.ofDays(policy.maxSecurityPendingDays());
            if (count == null) {
                line.found = "pending security updates unknown";
                line.unknown("their number is unknown");
            } else if (count <= 0) {
                line.found = "none pending";
            } else if (since == null && policy.unsafeAllowUnknownPendingAge()) {
                line.found = count + " pending since an unknown date (allowed by unsafeAllowUnknownPendingAge)";
            } else if (since == null) {
                // Without a date, Postern cannot show the updates are within the bound: treat them
                // as pending too long (fail closed). Installing them clears it at once.
                line.found = count + " pending since an unknown date";
                line.fail(Reason.PATCH_SECURITY_PENDING, updates(count) + " pending since an unknown date, so they"
                        + " cannot be shown to be within the " + policy.maxSecurityPendingDays() + " days allowed",
                        Advice.installUpdates(family, distribution));
            } else {
                line.found = count + " pending since " + DAY.format(since) + " (" + ago(since) + ")";
                if (Duration.between(since, now).compareTo(max) > 0) {
                    line.fail(Reason.PATCH_SECURITY_PENDING, updates(count) + " pending since " + DAY.format(since)
                            + ", longer than the " + policy.maxSecurityPendingDays() + " days allowed",
                            Advice.installUpdates(family, distribution));
                }
            }
            results.add(line.result());
        }

        private void rebootRequired(PatchFacts p, List<String> all) {
            Line line = new Line("patch.rebootRequired", "Restart after updates");
            Boolean reboot = p == null ? null : p.rebootRequired();
            line.found = reboot == null ? "restart pending unknown" : reboot ? "restart required" : "no restart pending";
            List<String> own = errors.remove("patch.rebootRequired");
            if (!policy.denyRebootRequired()) {
                // Informational only: lastUpdate cannot tell how long the restart has waited,
                // and denying right after every update would teach people to put updates off.
                line.found += " (not enforced by policy)";
                results.add(line.result());
                return;
            }
            line.collectorErrors(all);
            line.collectorErrors(own);
            if (reboot == null) {
                line.unknown("it is unknown");
            } else if (reboot) {
                line.fail(Reason.PATCH_REBOOT_REQUIRED, "An installed update waits for a restart", Advice.restart(family));
            }
            results.add(line.result());
        }

        private static String updates(int count) {
            return count == 1 ? "1 security update has been" : count + " security updates have been";
        }

        // ---- agent and certificate ---------------------------------------------------------

        void agent() {
            Line line = new Line("agent", "Agent version");
            line.collectorErrors(errors.remove("agent"));
            AgentInfo a = claims.agent();
            line.found = a == null ? "unknown" : (a.name() == null ? "agent" : a.name()) + " " + a.version();
            VersionNumber version = a == null ? null : VersionNumber.leading(a.version());
            if (version == null) {
                line.unknown("\"" + (a == null ? null : a.version()) + "\" is not a version number");
            } else if (version.isOlderThan(policy.minAgentVersion())) {
                line.fail(Reason.AGENT_TOO_OLD, line.found + " is older than the required " + policy.minAgentVersion(),
                        "Install the postern-agent version IT provides (" + policy.minAgentVersion() + " or later).");
            }
            results.add(line.result());
        }

        void cert(Instant notAfter) {
            Line line = new Line("cert", "Device certificate");
            line.collectorErrors(errors.remove("cert"));
            if (notAfter == null) {
                line.found = "none (not enrolled)";
                line.unknown("this laptop has no device certificate");
            } else {
                Duration left = Duration.between(now, notAfter);
                line.found = (left.isNegative() ? "expired " : "expires ") + DAY.format(notAfter)
                        + (left.isNegative() ? "" : " (" + left.toDays() + " days left)");
                if (left.isNegative() || left.isZero()) {
                    line.fail(Reason.CERT_EXPIRING, "The device certificate expired on " + DAY.format(notAfter),
                            Reason.CERT_EXPIRING.remediation());
                } else if (left.compareTo(Duration.ofDays(policy.minCertValidityDays())) < 0) {
                    line.fail(Reason.CERT_EXPIRING, "The device certificate expires on " + DAY.format(notAfter)
                            + ", in less than the " + policy.minCertValidityDays() + " days required",
                            Reason.CERT_EXPIRING.remediation());
                }
            }
            results.add(line.result());
        }

        /** Collector errors for checks this evaluator does not know: each fails its own line. */
        void unclaimedErrors() {
            errors.forEach((check, whys) -> {
                Line line = new Line(check, "Check " + check);
                line.found = "error";
                line.collectorErrors(whys);
                results.add(line.result());
            });
            errors.clear();
        }

        private String ago(Instant t) {
            Duration d = Duration.between(t, now);
            if (d.isNegative()) {
                return "in the future";
            }
            long days = d.dividedBy(DAY_LENGTH);
            return days == 0 ? "today" : days == 1 ? "1 day ago" : days + " days ago";
        }
    }

    /** A report line being built: its failures, and at most one check.failed gathering every why. */
    private static final class Line {
        final String check;
        final String title;
        String found = "";
        final List<ReasonDetail> reasons = new ArrayList<>();
        final List<String> whys = new ArrayList<>();

        Line(String check, String title) {
            this.check = check;
            this.title = title;
        }

        void fail(Reason reason, String message, String remediation) {
            reasons.add(new ReasonDetail(reason.code(), message, remediation));
        }

        void unknown(String why) {
            whys.add(why);
        }

        void collectorErrors(List<String> errors) {
            if (errors != null) {
                whys.addAll(errors);
            }
        }

        CheckResult result() {
            List<ReasonDetail> all = new ArrayList<>(reasons);
            if (!whys.isEmpty()) {
                all.add(0, new ReasonDetail(Reason.CHECK_FAILED.code(), title + " could not be checked: "
                        + String.join("; ", whys), Advice.checkFailed(check)));
            }
            return new CheckResult(check, title, all.isEmpty(), found, all);
        }
    }
}
