package org.postern.protocol.posture;

import java.util.Locale;
import java.util.Optional;

/**
 * Why a device is not compliant, as stable codes: decisions, the audit trail and the agent's
 * report carry {@link #code()}, which never changes meaning. The evaluator builds the message
 * and the remediation from the facts and the OS family ({@link ReasonDetail}); {@link #summary()}
 * and {@link #remediation()} are the generic texts, used where no facts are at hand (evidence
 * rejected before its facts can be trusted).
 */
public enum Reason {
    DISK_NOT_ENCRYPTED("disk.not_encrypted", "The system volume is not encrypted.",
            "Turn on full-disk encryption for the system volume (BitLocker, FileVault or LUKS), or ask IT."),
    DISK_PROTECTION_OFF("disk.protection_off", "Disk encryption is set up but its protection is off.",
            "Resume disk encryption protection, or ask IT."),
    DISK_ENCRYPTION_IN_PROGRESS("disk.encryption_in_progress", "The system volume is still being encrypted.",
            "Keep the laptop on power and awake until encryption finishes, then run postern-agent check again."),
    OS_UNSUPPORTED("os.unsupported", "This operating system is not allowed by the posture policy.",
            "Use a laptop with an operating system IT supports, or ask IT which systems are allowed."),
    OS_TOO_OLD("os.too_old", "The operating system is older than the policy allows.",
            "Install the latest system updates and restart, then run postern-agent check again."),
    PATCH_STALE("patch.stale", "Updates have not been installed recently enough.",
            "Install the latest updates, then run postern-agent check again."),
    PATCH_SECURITY_PENDING("patch.security_pending", "A security update has been waiting too long.",
            "Install the pending security updates, then run postern-agent check again."),
    PATCH_REBOOT_REQUIRED("patch.reboot_required", "An installed update waits for a restart.",
            "Restart the laptop to finish installing updates."),
    AGENT_TOO_OLD("agent.too_old", "postern-agent is older than the policy allows.",
            "Install the postern-agent version IT provides."),
    CERT_EXPIRING("cert.expiring", "The device certificate expires too soon.",
            "Connect to the gateway so postern-agent renews its certificate by itself; if it has expired,"
                    + " ask IT for an enrollment token and run postern-agent enroll again."),
    CHECK_FAILED("check.failed", "A posture check could not run.",
            "Run postern-agent check again; if the same check keeps failing, send its output to IT."),
    EVIDENCE_STALE("evidence.stale", "The posture evidence is too old or dated in the future.",
            "Make sure the laptop sets its date and time automatically, then connect again."),
    EVIDENCE_BAD_SIGNATURE("evidence.bad_signature", "The posture evidence is not signed by this device's key.",
            "Ask IT to enroll this laptop again: its key does not match its certificate."),
    EVIDENCE_NONCE_UNKNOWN("evidence.nonce_unknown", "The posture evidence does not answer a current challenge.",
            "Connect again; postern-agent asks for a fresh challenge each time."),
    EVIDENCE_BAD_PROFILE("evidence.bad_profile", "The posture evidence uses a format this gateway does not speak.",
            "Install the postern-agent version IT provides."),
    EVIDENCE_MALFORMED("evidence.malformed", "The posture evidence could not be read.",
            "Install the postern-agent version IT provides; if it keeps failing, send its log to IT.");

    private final String code;
    private final String summary;
    private final String remediation;

    Reason(String code, String summary, String remediation) {
        this.code = code;
        this.summary = summary;
        this.remediation = remediation;
    }

    /** The stable code, e.g. {@code disk.not_encrypted}. */
    public String code() {
        return code;
    }

    /** A generic one-sentence message, without facts. */
    public String summary() {
        return summary;
    }

    /** A generic remediation a non-expert can follow, without OS-specific steps. */
    public String remediation() {
        return remediation;
    }

    /** This reason with its generic message and remediation. */
    public ReasonDetail detail() {
        return new ReasonDetail(code, summary, remediation);
    }

    /** The reason with {@code code}, if there is one. */
    public static Optional<Reason> fromCode(String code) {
        if (code == null) {
            return Optional.empty();
        }
        for (Reason r : values()) {
            if (r.code.equals(code.toLowerCase(Locale.ROOT))) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return code;
    }
}
