package org.postern.gateway.console;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.Executor;

import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditSink;
import org.postern.gateway.reload.ConfigReloader;
import org.postern.gateway.reload.LiveSettings;
import org.postern.gateway.session.SessionDirectory;
import org.postern.pki.PkiService;

/**
 * What the console serves from.
 *
 * @param gateway     this gateway's id
 * @param pki         devices, tokens, certificates, revocation (the same service {@code postern pki} uses)
 * @param sessions    the live sessions
 * @param live        the settings in force (access rules, posture policy)
 * @param reloader    null when the gateway was started without a configuration file
 * @param audit       where the console's actions are recorded
 * @param trail       reads of this gateway's audit trail
 * @param enrollUrl   the gateway URL a laptop enrolls with, for the printed {@code postern-agent enroll} command
 * @param caSha256    the root CA's fingerprint laptops pin
 * @param configDir   what relative paths in a policy draft resolve against
 */
public record ConsoleServices(String gateway, PkiService pki, SessionDirectory sessions, LiveSettings live,
                              @Nullable ConfigReloader reloader, AuditSink audit, ConsoleAudit trail, String enrollUrl,
                              String caSha256, Path configDir, Clock clock, Executor workers, SecureRandom random) {
    public ConsoleServices {
        Objects.requireNonNull(gateway, "gateway");
        Objects.requireNonNull(pki, "pki");
        Objects.requireNonNull(sessions, "sessions");
        Objects.requireNonNull(live, "live");
        Objects.requireNonNull(audit, "audit");
        Objects.requireNonNull(trail, "trail");
        Objects.requireNonNull(enrollUrl, "enrollUrl");
        Objects.requireNonNull(caSha256, "caSha256");
        Objects.requireNonNull(configDir, "configDir");
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(workers, "workers");
        Objects.requireNonNull(random, "random");
    }
}
