package org.postern.gateway.console;

import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import io.netty.handler.codec.http.HttpResponseStatus;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.ConfigException;
import org.postern.config.ConfigReader;
import org.postern.config.Durations;
import org.postern.config.gateway.AccessRules;
import org.postern.gateway.admin.AdminIdentity;
import org.postern.gateway.console.ConsoleRoutes.Reply;
import org.postern.gateway.console.ConsoleViews.Chrome;
import org.postern.gateway.reload.ReloadResult;
import org.postern.pki.PkiService;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.RegistryException;
import org.postern.pki.registry.RevocationReason;

/**
 * The console's actions (security-admin only but for running the selfcheck, CSRF-checked by {@link ConsoleRoutes}). Each goes
 * through the same service the CLI uses ({@code PkiService}, the session directory, the reloader),
 * so the registry, the CRL and the trail see a console action exactly as a CLI one; each is also
 * recorded as {@code admin.action} with the admin's identity, what was asked and how it ended.
 */
final class ConsoleActions {
    private static final String DEVICES = "/console/devices/";

    private final ConsoleServices s;
    private final ConsolePages pages;

    ConsoleActions(ConsoleServices services, ConsolePages pages) {
        this.s = Objects.requireNonNull(services, "services");
        this.pages = pages;
    }

    Reply post(String path, Form f, Chrome chrome, AdminIdentity who, String source, ConsoleRoutes r) {
        String actor = "admin:" + who.name();
        // the request is on the trail before anything changes: a trail that cannot be written stops the action
        // (the registry would change, the record and the CRL's re-signing would not follow)
        String problem = s.trail().unwritable();
        if (problem != null || !r.audit(r.event("admin.action", who, source).with("action", path).with("result", "requested"))) {
            return refused(r, chrome, HttpResponseStatus.SERVICE_UNAVAILABLE, "Not done: the audit trail cannot be written ("
                    + (problem == null ? "the request could not be recorded" : problem) + ").", ConsoleHandler.HOME);
        }
        try {
            if (path.equals("/console/devices")) {
                return register(f, chrome, who, source, actor, r);
            }
            if (path.startsWith(DEVICES)) {
                String[] parts = path.substring(DEVICES.length()).split("/", -1);
                if (parts.length == 2) {
                    return device(parts[0], parts[1], f, chrome, who, source, actor, r);
                }
            }
            if (path.startsWith("/console/sessions/") && path.endsWith("/kill")) {
                String id = path.substring("/console/sessions/".length(), path.length() - "/kill".length());
                boolean killed = s.sessions().kill(id, who.name());
                record(r, who, source, "session.kill", id, killed ? "done" : "unknown", null);
                return done(r, chrome.titled("Sessions", "sessions"), killed, killed ? "Session " + id + " ended."
                        : "No live session " + id + ".", "/console/sessions");
            }
            if (path.startsWith("/console/admins/") && path.endsWith("/revoke")) {
                return revokeAdmin(path.substring("/console/admins/".length(), path.length() - "/revoke".length()), f, chrome,
                        who, source, actor, r);
            }
            if (path.equals("/console/policy/preview")) {
                return preview(f, chrome.titled("Policies", "policy"), who, source, r);
            }
            if (path.equals(ConsolePages.SELFCHECK)) {
                return selfcheck(chrome, who, source, r);
            }
            if (path.equals("/console/reload")) {
                return reload(chrome.titled("Policies", "policy"), who, source, r);
            }
            return pages.notFound(chrome, r);
        } catch (AuditUnavailableException e) {
            // the trail failed during the action, after its request was recorded: the registry may have changed
            return refused(r, chrome, HttpResponseStatus.SERVICE_UNAVAILABLE, "The audit trail failed during the action ("
                    + e.getMessage() + "): it may be done only in part. Check the object's state before trying again.",
                    ConsoleHandler.HOME);
        }
    }

    private Reply register(Form f, Chrome chrome, AdminIdentity who, String source, String actor, ConsoleRoutes r) {
        Chrome c = chrome.titled("Register a device", "devices");
        String id = f.get("id");
        String owner = f.get("owner");
        List<String> groups = groups(f.get("groups"));
        String serial = f.get("serial");
        Duration ttl = null;
        try {
            if (!f.get("ttl").isEmpty()) {
                ttl = Durations.parse(f.get("ttl"));
            }
            PkiService.NewDevice d = s.pki().addDevice(id, owner, groups, serial.isEmpty() ? null : serial, ttl, actor);
            record(r, who, source, "device.add", d.device().id(), "done", null);
            return r.render(HttpResponseStatus.OK, "console/registered.jte", new ConsoleViews.Registered(c, d.device().id(),
                    d.device().owner(), d.token().reveal(), d.expiresAt(), enrollCommand(d)));
        } catch (IllegalArgumentException | RegistryException e) {
            record(r, who, source, "device.add", id, "refused", e.getMessage());
            return refused(r, c, HttpResponseStatus.BAD_REQUEST, "Not registered: " + e.getMessage(), "/console/devices");
        }
    }

    private Reply device(String id, String verb, Form f, Chrome chrome, AdminIdentity who, String source, String actor,
                         ConsoleRoutes r) {
        Chrome c = chrome.titled("Device " + id, "devices");
        String back = DEVICES + pathSegment(id);
        try {
            Device.checkId(id);
            if (verb.equals("token")) {
                PkiService.NewDevice d = s.pki().newToken(id, null, actor);
                record(r, who, source, "device.token", id, "done", null);
                return r.render(HttpResponseStatus.OK, "console/registered.jte", new ConsoleViews.Registered(c, id,
                        d.device().owner(), d.token().reveal(), d.expiresAt(), enrollCommand(d)));
            }
            String message = switch (verb) {
                case "suspend" -> "Suspended " + s.pki().suspend(id, actor).id() + "; its sessions end and the CRL was re-signed.";
                case "resume" -> "Resumed " + s.pki().resume(id, actor).id() + "; the CRL was re-signed.";
                case "revoke" -> {
                    RevocationReason reason = RevocationReason.fromOperator(f.get("reason"));
                    yield "Revoked " + s.pki().revoke(id, reason, actor).id() + " (" + f.get("reason")
                            + "); its sessions end and the CRL was re-signed.";
                }
                case "edit" -> {
                    String owner = f.get("owner");
                    String groups = f.get("groups");
                    Device d = s.pki().updateDevice(id, owner.isEmpty() ? null : owner,
                            groups.isEmpty() && !f.get("clearGroups").equals("on") ? null : groups(groups), actor);
                    yield "Updated " + d.id() + ": owner " + d.owner() + ", groups " + String.join(", ", d.groups()) + ".";
                }
                default -> null;
            };
            if (message == null) {
                return pages.notFound(chrome, r);
            }
            record(r, who, source, "device." + verb, id, "done", null);
            return done(r, c, true, message, back);
        } catch (IllegalArgumentException | IllegalStateException | RegistryException e) {
            record(r, who, source, "device." + verb, id, "refused", e.getMessage());
            return refused(r, c, HttpResponseStatus.CONFLICT, "Not done: " + e.getMessage(), back);
        }
    }

    private Reply revokeAdmin(String serialText, Form f, Chrome chrome, AdminIdentity who, String source, String actor,
                              ConsoleRoutes r) {
        Chrome c = chrome.titled("Admin certificates", "admins");
        try {
            BigInteger serial;
            try {
                serial = new BigInteger(serialText, 16);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("serial: expected a hexadecimal certificate serial, found \"" + serialText + "\"");
            }
            if (serial.toString(16).equals(who.serial())) {
                throw new IllegalArgumentException("you cannot revoke the certificate you are signed in with; "
                        + "ask another security admin, or use postern pki admin revoke");
            }
            RevocationReason reason = RevocationReason.fromOperator(f.get("reason"));
            PkiService.AdminCertificate a = s.pki().revokeAdmin(serial, reason, actor);
            record(r, who, source, "admin.revoke", serial.toString(16), "done", null);
            return done(r, c, true, "Revoked admin certificate " + serial.toString(16) + " of " + a.name()
                    + "; it no longer opens the console or the API.", "/console/admins");
        } catch (IllegalArgumentException | IllegalStateException | RegistryException e) {
            record(r, who, source, "admin.revoke", serialText, "refused", e.getMessage());
            return refused(r, c, HttpResponseStatus.CONFLICT, "Not done: " + e.getMessage(), "/console/admins");
        }
    }

    /** Checks a draft of the {@code access:} section and shows who could reach what under it; changes nothing. */
    private Reply preview(Form f, Chrome chrome, AdminIdentity who, String source, ConsoleRoutes r) {
        String draft = f.raw("draft");
        List<String> problems = new ArrayList<>();
        AccessRules rules = null;
        if (draft.length() > 64 * 1024) {
            problems.add("draft: expected at most 64 KiB of YAML, found " + draft.length() + " characters");
        } else if (draft.isBlank()) {
            problems.add("draft: expected the access: section of gateway.yaml, found nothing");
        } else {
            try {
                rules = ConfigReader.parse(draft, "draft", s.configDir(), c -> c.section("access", AccessRules::read));
                if (rules == null) {
                    problems.add("draft: expected an access: section with rules, found none");
                }
            } catch (ConfigException e) {
                problems.addAll(e.problems());
            } catch (RuntimeException e) {
                problems.add("draft: " + e.getMessage());
            }
        }
        record(r, who, source, "policy.preview", "access", problems.isEmpty() ? "valid" : "invalid",
                problems.isEmpty() ? null : String.join("; ", problems));
        HttpResponseStatus status = problems.isEmpty() ? HttpResponseStatus.OK : HttpResponseStatus.UNPROCESSABLE_ENTITY;
        return r.render(status, "console/policy.jte", pages.policy(chrome, draft, problems, problems.isEmpty() ? rules : null));
    }

    private Reply reload(Chrome chrome, AdminIdentity who, String source, ConsoleRoutes r) {
        if (s.reloader() == null) {
            return refused(r, chrome, HttpResponseStatus.CONFLICT,
                    "Not reloaded: the gateway was started without a configuration file.", "/console/policy");
        }
        ReloadResult res = s.reloader().reload("admin:" + who.name()); // audited as admin.reload by the reloader
        List<String> details = new ArrayList<>();
        res.changed().forEach(x -> details.add("changed: " + x));
        res.needsRestart().forEach(x -> details.add("needs a restart: " + x));
        details.addAll(res.problems());
        String message = res.ok() ? "Configuration reloaded from " + s.reloader().file() + "."
                : "Configuration refused; the last good settings stay in force.";
        return r.render(res.ok() ? HttpResponseStatus.OK : HttpResponseStatus.UNPROCESSABLE_ENTITY, "console/outcome.jte",
                new ConsoleViews.Outcome(chrome, res.ok(), message, details, "/console/policy"));
    }

    /**
     * Runs the selfcheck again (either role: it reads and changes nothing) and shows its findings. A run
     * already under way (another admin's) is not doubled, nor is one repeated within a minute of the last:
     * the page says so and shows the last result.
     */
    private Reply selfcheck(Chrome chrome, AdminIdentity who, String source, ConsoleRoutes r) {
        ConsoleSelfcheck.Outcome o = pages.selfchecks().run(who.name());
        record(r, who, source, "selfcheck.run", null, o.result(), o.detail(s.clock().instant()));
        String message = switch (o.result()) {
            case ConsoleSelfcheck.Outcome.DONE -> "Ran just now.";
            case ConsoleSelfcheck.Outcome.BUSY ->
                    "A run is under way (asked by another admin); reload this page in a moment for its result.";
            default -> "Not run again: the last run ended less than " + ConsoleSelfcheck.MIN_INTERVAL.toSeconds()
                    + " s ago; its result is below.";
        };
        return pages.selfcheck(chrome, message, r);
    }

    /** How the action ended; its request was recorded before it ran, so a failure here is only logged. */
    private void record(ConsoleRoutes r, AdminIdentity who, String source, String action, @Nullable String target,
                        String result, @Nullable String detail) {
        r.audit(r.event("admin.action", who, source).with("action", action).with("target", target)
                .with("result", result).with("detail", detail));
    }

    private static Reply done(ConsoleRoutes r, Chrome chrome, boolean ok, String message, String back) {
        return r.render(ok ? HttpResponseStatus.OK : HttpResponseStatus.NOT_FOUND, "console/outcome.jte",
                new ConsoleViews.Outcome(chrome, ok, message, List.of(), back));
    }

    private static Reply refused(ConsoleRoutes r, Chrome chrome, HttpResponseStatus status, String message, String back) {
        return r.render(status, "console/outcome.jte", new ConsoleViews.Outcome(chrome, false, message, List.of(), back));
    }

    /** What the laptop runs to enroll, ready to paste. */
    private String enrollCommand(PkiService.NewDevice d) {
        return "postern-agent enroll --gateway " + s.enrollUrl() + " --token " + d.token().reveal() + " --ca-sha256 " + s.caSha256();
    }

    static List<String> groups(String text) {
        return text.isBlank() ? List.of() : Arrays.stream(text.split(",")).map(String::strip).filter(g -> !g.isEmpty()).toList();
    }

    /** {@code text} percent-encoded as one path segment. */
    private static String pathSegment(String text) {
        return java.net.URLEncoder.encode(text, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }
}
