package org.postern.config.posture;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.postern.config.ConfigException;
import org.postern.config.ConfigReader;
import org.postern.config.Durations;
import org.postern.config.InvalidValueException;

/**
 * What a laptop must show to be let in: the posture policy, read from a standalone file
 * ({@link #load}) or from the {@code posture:} section of {@code gateway.yaml} ({@link #read}).
 * Every key has a default, so an empty file is valid; see {@code config/examples/posture-policy.yaml}.
 *
 * <p>Deny by default: an OS family not named under {@code minOs}, and a Linux distribution not
 * named under {@code minOs.linux.distributions}, are denied. A map written in the file
 * ({@code minOs}, {@code distributions}) replaces the default map; it does not add to it.
 * The constructors validate too, so a policy built in code obeys the same bounds as a file.
 */
public record PosturePolicy(
        String version,
        Mode mode,
        Duration lease,
        boolean requireDiskEncryption,
        MinOs minOs,
        int maxDaysSinceUpdate,
        int maxSecurityPendingDays,
        boolean denyRebootRequired,
        VersionNumber minAgentVersion,
        int minCertValidityDays,
        Duration evidenceSkew,
        boolean unsafeAllowUnknownPendingAge) {

    /** {@code version}: shown in every decision, so an audit names the policy that judged. */
    public static final String DEFAULT_VERSION = "default";
    public static final Mode DEFAULT_MODE = Mode.ENFORCE;
    /** {@code lease}: how long a compliant decision lasts before the agent must prove again. */
    public static final Duration DEFAULT_LEASE = Duration.ofMinutes(10);
    public static final int DEFAULT_MAX_DAYS_SINCE_UPDATE = 30;
    public static final int DEFAULT_MAX_SECURITY_PENDING_DAYS = 14;
    public static final VersionNumber DEFAULT_MIN_AGENT_VERSION = VersionNumber.parse("0.1.0");
    public static final int DEFAULT_MIN_CERT_VALIDITY_DAYS = 7;
    /** {@code evidenceSkew}: how far evidence's {@code iat} may lie behind or ahead of the gateway's clock. */
    public static final Duration DEFAULT_EVIDENCE_SKEW = Duration.ofSeconds(60);

    static final Duration MIN_LEASE = Duration.ofMinutes(1);
    static final Duration MAX_LEASE = Duration.ofHours(24);
    static final Duration MIN_SKEW = Duration.ofSeconds(1);
    static final Duration MAX_SKEW = Duration.ofMinutes(10);
    static final int MAX_DAYS = 365;

    /** {@code enforce} denies a non-compliant device; {@code report-only} records what would be denied and lets it in. */
    public enum Mode {
        ENFORCE, REPORT_ONLY;

        /** As written in files and decisions: {@code enforce}, {@code report-only}. */
        public String spelling() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    public PosturePolicy {
        Objects.requireNonNull(version, "version");
        if (version.isEmpty() || version.length() > 64) {
            throw new IllegalArgumentException("version: expected a string of 1 to 64 characters, found \""
                    + version + "\"");
        }
        Objects.requireNonNull(mode, "mode");
        checkDuration("lease", lease, MIN_LEASE, MAX_LEASE);
        Objects.requireNonNull(minOs, "minOs");
        checkDays("maxDaysSinceUpdate", maxDaysSinceUpdate, 1);
        checkDays("maxSecurityPendingDays", maxSecurityPendingDays, 0);
        Objects.requireNonNull(minAgentVersion, "minAgentVersion");
        checkDays("minCertValidityDays", minCertValidityDays, 0);
        checkDuration("evidenceSkew", evidenceSkew, MIN_SKEW, MAX_SKEW);
    }

    /** Every setting at its default: enforce, encryption required, the default OS minimums. */
    public static PosturePolicy defaults() {
        return new PosturePolicy(DEFAULT_VERSION, DEFAULT_MODE, DEFAULT_LEASE, true, MinOs.defaults(),
                DEFAULT_MAX_DAYS_SINCE_UPDATE, DEFAULT_MAX_SECURITY_PENDING_DAYS, false,
                DEFAULT_MIN_AGENT_VERSION, DEFAULT_MIN_CERT_VALIDITY_DAYS, DEFAULT_EVIDENCE_SKEW, false);
    }

    /**
     * Reads a standalone policy file.
     *
     * @throws ConfigException listing every problem in the file
     */
    public static PosturePolicy load(Path file) {
        return ConfigReader.load(file, PosturePolicy::read);
    }

    /** Binds a policy document or the {@code posture:} section of {@code gateway.yaml}. */
    public static @Nullable PosturePolicy read(ConfigReader r) {
        String version = r.string("version", DEFAULT_VERSION, 1, 64);
        Mode mode = r.choice("mode", Mode.class, DEFAULT_MODE);
        Duration lease = r.duration("lease", DEFAULT_LEASE, MIN_LEASE, MAX_LEASE);
        boolean requireDisk = r.bool("requireDiskEncryption", true);
        // A minOs written in the file names every family allowed; absent, the defaults apply.
        MinOs minOs = r.has("minOs") ? r.section("minOs", MinOs::read) : MinOs.defaults();
        int maxDays = r.integer("maxDaysSinceUpdate", DEFAULT_MAX_DAYS_SINCE_UPDATE, 1, MAX_DAYS);
        int maxPending = r.integer("maxSecurityPendingDays", DEFAULT_MAX_SECURITY_PENDING_DAYS, 0, MAX_DAYS);
        boolean denyReboot = r.bool("denyRebootRequired", false);
        VersionNumber minAgent = version(r, "minAgentVersion", DEFAULT_MIN_AGENT_VERSION,
                "a version of dotted numbers like 0.1.0");
        int minCert = r.integer("minCertValidityDays", DEFAULT_MIN_CERT_VALIDITY_DAYS, 0, MAX_DAYS);
        Duration skew = r.duration("evidenceSkew", DEFAULT_EVIDENCE_SKEW, MIN_SKEW, MAX_SKEW);
        // Dangerous, so named so: apt records no date for a pending update, and without one the
        // evaluator cannot show the bound holds. Off, such updates fail the check (fail closed).
        boolean unsafeUnknownAge = r.bool("unsafeAllowUnknownPendingAge", false);
        if (minOs == null) {
            return null; // reported already; the reader throws at the end
        }
        return new PosturePolicy(version, mode, lease, requireDisk, minOs, maxDays, maxPending, denyReboot,
                minAgent, minCert, skew, unsafeUnknownAge);
    }

    /**
     * This policy as a policy document {@link #read} reads back equal: what the gateway publishes
     * to agents ({@code GET /v1/posture/policy}) and the console shows. Every setting is written,
     * defaults included, so the document stands alone.
     */
    public String toYaml() {
        com.fasterxml.jackson.databind.node.ObjectNode o = YAML.createObjectNode();
        o.put("version", version);
        o.put("mode", mode.spelling());
        o.put("lease", Durations.format(lease));
        o.put("requireDiskEncryption", requireDiskEncryption);
        com.fasterxml.jackson.databind.node.ObjectNode os = o.putObject("minOs");
        if (minOs.windows() != null) {
            os.put("windows", minOs.windows().toString());
        }
        if (minOs.macos() != null) {
            os.put("macos", minOs.macos().toString());
        }
        if (minOs.linux() != null) {
            com.fasterxml.jackson.databind.node.ObjectNode linux = os.putObject("linux");
            linux.put("kernel", minOs.linux().kernel().toString());
            com.fasterxml.jackson.databind.node.ObjectNode d = linux.putObject("distributions");
            minOs.linux().distributions().forEach((id, v) -> d.put(id, v.toString()));
        }
        o.put("maxDaysSinceUpdate", maxDaysSinceUpdate);
        o.put("maxSecurityPendingDays", maxSecurityPendingDays);
        o.put("denyRebootRequired", denyRebootRequired);
        o.put("minAgentVersion", minAgentVersion.toString());
        o.put("minCertValidityDays", minCertValidityDays);
        o.put("evidenceSkew", Durations.format(evidenceSkew));
        if (unsafeAllowUnknownPendingAge) {
            o.put("unsafeAllowUnknownPendingAge", true);
        }
        try {
            return YAML.writeValueAsString(o);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("posture policy " + version + ": cannot write it as YAML", e);
        }
    }

    /** Writes policy documents: no "---" header, strings quoted only where YAML needs it. */
    private static final com.fasterxml.jackson.databind.ObjectMapper YAML = new com.fasterxml.jackson.databind.ObjectMapper(
            com.fasterxml.jackson.dataformat.yaml.YAMLFactory.builder()
                    .disable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                    .enable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.MINIMIZE_QUOTES)
                    .enable(com.fasterxml.jackson.dataformat.yaml.YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
                    .build());

    /** Whether the policy names {@code family} ({@code windows}, {@code macos}, {@code linux}). */
    public boolean allowsFamily(String family) {
        return switch (family == null ? "" : family) {
            case "windows" -> minOs.windows() != null;
            case "macos" -> minOs.macos() != null;
            case "linux" -> minOs.linux() != null;
            default -> false;
        };
    }

    /**
     * Minimum OS per family; a null family is not allowed. {@code windows} is
     * {@code major.minor.CurrentBuild.UBR} ({@code 10.0.19045.4291}); {@code macos} the product
     * version ({@code 14.4}).
     */
    public record MinOs(VersionNumber windows, VersionNumber macos, Linux linux) {

        public static final VersionNumber DEFAULT_WINDOWS = VersionNumber.parse("10.0.19045.4291");
        public static final VersionNumber DEFAULT_MACOS = VersionNumber.parse("14.4");

        public static MinOs defaults() {
            return new MinOs(DEFAULT_WINDOWS, DEFAULT_MACOS, Linux.defaults());
        }

        static MinOs read(ConfigReader r) {
            VersionNumber windows = version(r, "windows", null,
                    "a Windows version like 10.0.19045.4291 (major.minor.build.UBR)");
            VersionNumber macos = version(r, "macos", null, "a macOS version like 14.4");
            Linux linux = r.has("linux") ? r.section("linux", Linux::read) : null;
            if (windows == null && macos == null && linux == null) {
                r.report(null, "expected at least one of windows, macos, linux (a family not named is denied),"
                        + " found none");
            }
            return new MinOs(windows, macos, linux);
        }
    }

    /**
     * Minimum Linux: the kernel ({@code uname -r}, compared on its leading numbers) and, per
     * distribution ({@code ID} of {@code /etc/os-release}), the release ({@code VERSION_ID}).
     * A distribution not in the map is denied.
     */
    public record Linux(VersionNumber kernel, Map<String, VersionNumber> distributions) {

        public static final VersionNumber DEFAULT_KERNEL = VersionNumber.parse("6.1");

        /**
         * The distribution ids a policy may name: the {@code ID} values of {@code /etc/os-release}.
         * A fixed catalogue, so that a typo ({@code rehl}) is an error rather than a rule that never matches.
         */
        public static final List<String> KNOWN_DISTRIBUTIONS = List.of(
                "debian", "ubuntu", "linuxmint", "pop", "fedora", "rhel", "centos", "rocky", "almalinux",
                "ol", "sles", "sled", "opensuse-leap");

        public Linux {
            Objects.requireNonNull(kernel, "linux.kernel");
            Objects.requireNonNull(distributions, "linux.distributions");
            if (distributions.isEmpty()) {
                throw new IllegalArgumentException("linux.distributions: expected at least one distribution,"
                        + " found none (leave out linux to deny every Linux)");
            }
            for (String id : distributions.keySet()) {
                if (!KNOWN_DISTRIBUTIONS.contains(id)) {
                    throw new IllegalArgumentException("linux.distributions." + id
                            + ": expected one of " + String.join(", ", KNOWN_DISTRIBUTIONS));
                }
                Objects.requireNonNull(distributions.get(id), "linux.distributions." + id);
            }
            distributions = Collections.unmodifiableMap(new LinkedHashMap<>(distributions));
        }

        public static Linux defaults() {
            Map<String, VersionNumber> d = new LinkedHashMap<>();
            d.put("debian", VersionNumber.parse("12"));
            d.put("ubuntu", VersionNumber.parse("22.04"));
            d.put("fedora", VersionNumber.parse("39"));
            d.put("rhel", VersionNumber.parse("9.3"));
            return new Linux(DEFAULT_KERNEL, d);
        }

        static Linux read(ConfigReader r) {
            VersionNumber kernel = version(r, "kernel", DEFAULT_KERNEL, "a kernel version like 6.1");
            Map<String, VersionNumber> distributions = r.has("distributions")
                    ? r.section("distributions", Linux::readDistributions)
                    : defaults().distributions();
            if (distributions == null) {
                return defaults(); // a value was wrong and is reported; the reader throws at the end
            }
            if (distributions.isEmpty()) {
                r.report("distributions", "expected at least one distribution like debian: \"12\", found none");
                return defaults();
            }
            return new Linux(kernel, distributions);
        }

        /** The named distributions, or null when a value was wrong (and reported). */
        private static @Nullable Map<String, VersionNumber> readDistributions(ConfigReader r) {
            Map<String, VersionNumber> out = new LinkedHashMap<>();
            boolean ok = true;
            for (String id : KNOWN_DISTRIBUTIONS) {
                VersionNumber v = version(r, id, null, "a release like \"22.04\"");
                if (v != null) {
                    out.put(id, v);
                } else if (r.has(id)) {
                    ok = false;
                }
            }
            return ok ? out : null;
        }
    }

    /** A version setting whose problem says what this setting's versions look like. */
    private static VersionNumber version(ConfigReader r, String key, VersionNumber defaultValue, String expected) {
        return r.value(key, defaultValue, expected, text -> {
            try {
                return VersionNumber.parse(text);
            } catch (InvalidValueException e) {
                throw new InvalidValueException(expected, text);
            }
        });
    }

    private static void checkDuration(String key, Duration value, Duration min, Duration max) {
        Objects.requireNonNull(value, key);
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw new IllegalArgumentException(key + ": expected a duration between " + Durations.format(min)
                    + " and " + Durations.format(max) + ", found " + Durations.format(value));
        }
    }

    private static void checkDays(String key, int value, int min) {
        if (value < min || value > MAX_DAYS) {
            throw new IllegalArgumentException(key + ": expected an integer between " + min + " and " + MAX_DAYS
                    + ", found " + value);
        }
    }
}
