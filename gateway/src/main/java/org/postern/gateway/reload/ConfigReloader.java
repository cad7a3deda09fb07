package org.postern.gateway.reload;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.ConfigException;
import org.postern.config.gateway.GatewaySettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads {@code gateway.yaml}, validates all of it, builds a new {@link LiveSettings.Snapshot}
 * (policies, TLS contexts from the certificate and key files) and swaps it in — or, when anything
 * is wrong, keeps the last good snapshot and names every problem. Keys that cannot change live
 * (the gateway id, {@code dataDir}, listeners, limits, audit) keep their running values and are
 * reported as needing a restart. Every attempt is logged and audited as {@code admin.reload}, with the
 * version of the access policy in force after it ({@code accessPolicy}: {@link LiveSettings#accessPolicyVersion()}).
 * Reloads are serialised; the triggers (SIGHUP, file watcher, admin API) call {@link #reload}.
 */
public final class ConfigReloader {
    private static final Logger log = LoggerFactory.getLogger(ConfigReloader.class);

    /** Builds and validates a snapshot for settings; throws when a file or key cannot be used. */
    @FunctionalInterface
    public interface SnapshotFactory {
        LiveSettings.Snapshot build(GatewaySettings settings) throws IOException, GeneralSecurityException;
    }

    private final Path file;
    private final LiveSettings live;
    private final SnapshotFactory factory;
    private final AuditSink audit;
    private final Clock clock;
    private final Consumer<Boolean> outcomes;

    /**
     * @param outcomes told {@code true} or {@code false} after each reload (metrics)
     */
    public ConfigReloader(Path file, LiveSettings live, SnapshotFactory factory, AuditSink audit, Clock clock,
                          Consumer<Boolean> outcomes) {
        this.file = Objects.requireNonNull(file, "file");
        this.live = Objects.requireNonNull(live, "live");
        this.factory = Objects.requireNonNull(factory, "factory");
        this.audit = Objects.requireNonNull(audit, "audit");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.outcomes = Objects.requireNonNull(outcomes, "outcomes");
    }

    public Path file() {
        return file;
    }

    /**
     * The files whose content the running settings were read from: the configuration file, and the
     * charter's text file ({@code charter.file}) when there is one. Editing any of them is a reason to
     * reload: a charter text changed on disk but not reloaded would leave the gateway showing and
     * requiring the old words.
     */
    public List<Path> files() {
        org.postern.config.gateway.Charter charter = live.current().settings().charter();
        return charter == null || charter.file() == null ? List.of(file) : List.of(file, charter.file());
    }

    /**
     * Reloads now.
     *
     * @param by what asked: {@code signal:SIGHUP}, {@code file-watch}, or {@code admin:NAME}
     */
    public synchronized ReloadResult reload(String by) {
        LiveSettings.Snapshot running = live.current();
        GatewaySettings now = running.settings();
        List<String> problems = new ArrayList<>();
        List<String> needsRestart = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        LiveSettings.Snapshot next = null;
        try {
            GatewaySettings read = GatewaySettings.load(file);
            restartOnly(now, read, needsRestart);
            // what cannot change live keeps its running value
            GatewaySettings merged = new GatewaySettings(now.id(), now.dataDir(), now.listeners(), read.tls(),
                    read.posture(), read.access(), now.limits(), now.audit(), now.ssh(), now.pki(), now.transport(),
                    now.vpn(), now.proxyProtocol(), now.registry(), read.charter());
            next = factory.build(merged);
            if (!now.access().equals(read.access())) {
                changed.add("access");
            }
            if (!now.posture().equals(read.posture())) {
                changed.add("posture");
            }
            if (!java.util.Objects.equals(now.charter(), read.charter())) {
                changed.add("charter");
            }
            if (!now.tls().equals(read.tls())) {
                changed.add("tls");
            } else if (read.tls().certificate() != null) {
                changed.add("tls (files re-read)");
            }
        } catch (ConfigException e) {
            problems.addAll(e.problems());
        } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
            problems.add(file + ": " + e.getMessage());
        } catch (RuntimeException e) {
            problems.add(file + ": cannot apply: " + e);
        }
        boolean ok = problems.isEmpty();
        if (ok) {
            live.swap(next);
        }
        ReloadResult result = new ReloadResult(ok, ok ? changed : List.of(), needsRestart, problems);
        report(by, result);
        outcomes.accept(ok);
        return result;
    }

    private static void restartOnly(GatewaySettings now, GatewaySettings read, List<String> needsRestart) {
        if (!now.id().equals(read.id())) {
            needsRestart.add("gateway.id");
        }
        if (!now.dataDir().equals(read.dataDir())) {
            needsRestart.add("dataDir");
        }
        if (!now.listeners().equals(read.listeners())) {
            needsRestart.add("listeners");
        }
        if (!now.limits().equals(read.limits())) {
            needsRestart.add("limits");
        }
        if (!now.audit().equals(read.audit())) {
            needsRestart.add("audit");
        }
        if (!now.ssh().equals(read.ssh())) {
            needsRestart.add("ssh");
        }
        if (!now.pki().equals(read.pki())) {
            needsRestart.add("pki");
        }
        if (now.transport() != read.transport()) {
            needsRestart.add("transport");
        }
        if (!now.vpn().equals(read.vpn())) {
            needsRestart.add("vpn");
        }
        if (!now.proxyProtocol().equals(read.proxyProtocol())) {
            needsRestart.add("proxyProtocol");
        }
        if (!now.registry().equals(read.registry())) {
            needsRestart.add("registry");
        }
    }

    private void report(String by, ReloadResult r) {
        if (r.ok()) {
            log.info("reloaded {} ({}): changed {}{}", file, by, r.changed().isEmpty() ? "nothing" : r.changed(),
                    r.needsRestart().isEmpty() ? "" : "; needs restart, kept as running: " + r.needsRestart());
        } else {
            log.error("reload of {} ({}) refused, the last good settings stay in force:\n  {}", file, by,
                    String.join("\n  ", r.problems()));
        }
        try {
            audit.record(AuditEvent.of("admin.reload", clock.instant())
                    .with("by", by).with("file", file.toString())
                    .with("result", r.ok() ? "ok" : "failed")
                    .with("changed", r.changed()).with("needsRestart", r.needsRestart())
                    .with("problems", r.problems())
                    .with("accessPolicy", live.accessPolicyVersion()) // in force after it: the new one, or the last good
                    .build());
        } catch (AuditUnavailableException e) {
            log.error("admin.reload ({}) could not be recorded: {}", r.ok() ? "ok" : "failed", e.getMessage());
        }
    }
}
