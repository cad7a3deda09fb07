package org.postern.protocol.posture;

import java.time.Instant;

/**
 * Patch level. {@code lastUpdate}: the last successful update install; {@code securityPending}:
 * how many security updates are available but not installed; {@code oldestPendingSince}: since
 * when the oldest of them has been available (null when unknown or none pending);
 * {@code rebootRequired}: an installed update waits for a reboot.
 */
public record PatchFacts(Instant lastUpdate, Integer securityPending, Instant oldestPendingSince, Boolean rebootRequired) {
}
