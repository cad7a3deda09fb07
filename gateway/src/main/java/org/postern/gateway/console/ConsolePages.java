package org.postern.gateway.console;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditUnavailableException;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.Protocol;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.admin.AdminIdentity;
import org.postern.gateway.console.ConsoleRoutes.Reply;
import org.postern.gateway.console.ConsoleViews.AdminRow;
import org.postern.gateway.console.ConsoleViews.BarChart;
import org.postern.gateway.console.ConsoleViews.CertRow;
import org.postern.gateway.console.ConsoleViews.Chrome;
import org.postern.gateway.console.ConsoleViews.Count;
import org.postern.gateway.console.ConsoleViews.DayRow;
import org.postern.gateway.console.ConsoleViews.DeviceRow;
import org.postern.gateway.console.ConsoleViews.Filter;
import org.postern.gateway.console.ConsoleViews.ReachRow;
import org.postern.gateway.console.ConsoleViews.RuleRow;
import org.postern.gateway.console.ConsoleViews.SessionRow;
import org.postern.gateway.session.SessionInfo;
import org.postern.pki.PkiService;
import org.postern.pki.registry.CertificateRecord;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;

/**
 * The console's read pages: each builds its view from the registry, the live sessions, the
 * settings in force and the trail, then renders it. Every page works without JavaScript.
 */
final class ConsolePages {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ConsolePages.class);
    static final int PAGE_SIZE = 50;
    static final int DASHBOARD_DAYS = 14;
    static final int DEFAULT_UNSEEN_DAYS = 14;
    static final int EXPIRING_DAYS = 30;
    static final List<String> REVOCATION_REASONS = List.of("lost", "keyCompromise", "retired", "superseded");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ConsoleServices s;
    private final ConsoleSelfcheck selfcheck;

    ConsolePages(ConsoleServices services) {
        this.s = Objects.requireNonNull(services, "services");
        this.selfcheck = new ConsoleSelfcheck(services);
    }

    @Nullable Reply get(String path, Form q, Chrome chrome, AdminIdentity who, String source, FullHttpRequest req,
                        ChannelHandlerContext ctx, ConsoleRoutes r) {
        try {
            return switch (path) {
                case ConsoleHandler.HOME -> dashboard(q, chrome.titled("Dashboard", "dashboard"), r);
                case "/console/devices" -> devices(q, chrome.titled("Devices", "devices"), r);
                case "/console/sessions" -> r.render(HttpResponseStatus.OK, "console/sessions.jte",
                        new ConsoleViews.Sessions(chrome.titled("Live sessions", "sessions"), sessions(null)));
                case "/console/admins" -> admins(chrome.titled("Admin certificates", "admins"), who, r);
                case "/console/policy" -> r.render(HttpResponseStatus.OK, "console/policy.jte",
                        policy(chrome.titled("Policies", "policy"), null, List.of(), null));
                case "/console/audit" -> search(q, chrome.titled("Audit search", "audit"), r);
                case "/console/access" -> access(q, chrome.titled("Access report", "access"), r);
                case "/console/denials" -> denials(q, chrome.titled("Denials", "denials"), r);
                case SELFCHECK -> selfcheck(chrome, null, r);
                case "/console/verify" -> verify(chrome.titled("Trail verification", "verify"), who, source, r);
                case "/console/export" -> export(q, chrome, who, source, req, ctx, r);
                default -> {
                    if (path.startsWith("/console/devices/") && path.indexOf('/', "/console/devices/".length()) < 0) {
                        yield device(path.substring("/console/devices/".length()), chrome, r);
                    }
                    yield notFound(chrome, r);
                }
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final String SELFCHECK = "/console/selfcheck";

    /** The selfcheck's runs, for the action that starts one. */
    ConsoleSelfcheck selfchecks() {
        return selfcheck;
    }

    /**
     * The last selfcheck's findings, worst first (as {@code postern selfcheck} prints them), or that
     * none ran since the gateway started. Viewing never runs it: a run is the POST of the same path.
     */
    Reply selfcheck(Chrome chrome, @Nullable String note, ConsoleRoutes r) {
        Chrome c = chrome.titled("Selfcheck", "selfcheck");
        ConsoleSelfcheck.Run last = selfcheck.last();
        if (last == null) {
            return r.render(HttpResponseStatus.OK, "console/selfcheck.jte", new ConsoleViews.SelfcheckPage(c, null, "", "", "",
                    "", List.of(), note));
        }
        List<ConsoleViews.SelfcheckRow> rows = last.findings().stream()
                .sorted(java.util.Comparator.comparing(org.postern.gateway.selfcheck.Finding::severity).reversed())
                .map(f -> new ConsoleViews.SelfcheckRow(f.severity().spelling(), f.check(),
                        TrailConsoleAudit.text(f.message()), TrailConsoleAudit.text(f.fix())))
                .toList();
        String took = String.format(Locale.ROOT, "%.1f s", last.took().toMillis() / 1000.0);
        return r.render(HttpResponseStatus.OK, "console/selfcheck.jte", new ConsoleViews.SelfcheckPage(c, last.ranAt(), took,
                last.by(), last.worst().spelling(), last.counts(), rows, note));
    }

    private ConsoleViews.SelfcheckState selfcheckState() {
        ConsoleSelfcheck.Run last = selfcheck.last();
        return last == null ? new ConsoleViews.SelfcheckState(null, null, "")
                : new ConsoleViews.SelfcheckState(last.worst().spelling(), last.ranAt(), last.counts());
    }

    Reply notFound(Chrome chrome, ConsoleRoutes r) {
        return r.render(HttpResponseStatus.NOT_FOUND, "console/outcome.jte", new ConsoleViews.Outcome(
                chrome.titled("Not found", ""), false, "No such page.", List.of(), ConsoleHandler.HOME));
    }

    private Reply dashboard(Form q, Chrome chrome, ConsoleRoutes r) throws IOException {
        Instant now = s.clock().instant();
        Instant from = now.truncatedTo(ChronoUnit.DAYS).minus(Duration.ofDays(DASHBOARD_DAYS - 1));
        List<DayRow> days = s.trail().days(from, now);
        Map<String, Double> started = new LinkedHashMap<>();
        Map<String, Double> hours = new LinkedHashMap<>();
        Map<String, Double> rate = new LinkedHashMap<>();
        for (DayRow d : days) {
            String label = d.day().substring(5); // MM-DD
            started.put(label, (double) d.sessions());
            hours.put(label, d.hours());
            rate.put(label, d.decisions() == 0 ? 0 : 100.0 * d.compliant() / d.decisions());
        }
        List<Count> reasons = s.trail().denialReasons(from, now);
        Map<String, Double> byReason = new LinkedHashMap<>();
        reasons.stream().limit(10).forEach(c -> byReason.put(c.key(), (double) c.count()));
        int unseenDays = boundedInt(q.get("unseen"), DEFAULT_UNSEEN_DAYS, 1, 3650);
        Instant unseenBefore = now.minus(Duration.ofDays(unseenDays));
        List<DeviceRow> unseen = new ArrayList<>();
        List<CertRow> expiring = new ArrayList<>();
        Instant soon = now.plus(Duration.ofDays(EXPIRING_DAYS));
        for (Device d : s.pki().registry().devices()) {
            if (d.status() == DeviceStatus.ACTIVE && (d.lastSeen() == null || d.lastSeen().isBefore(unseenBefore))) {
                unseen.add(row(d));
            }
            if (d.status() == DeviceStatus.ACTIVE) {
                for (CertificateRecord c : s.pki().registry().certificatesOf(d.id())) {
                    if (!c.revoked() && c.notAfter().isAfter(now) && c.notAfter().isBefore(soon)) {
                        expiring.add(cert(c, now));
                    }
                }
            }
        }
        expiring.sort(java.util.Comparator.comparing(CertRow::notAfter));
        return r.render(HttpResponseStatus.OK, "console/dashboard.jte", new ConsoleViews.Dashboard(chrome, sessions(null), days,
                BarChart.of("Sessions started per day", "sessions", started, v -> String.format(Locale.ROOT, "%.0f", v)),
                BarChart.of("Hours of remote work per day", "hours", hours, v -> String.format(Locale.ROOT, "%.1f", v)),
                BarChart.of("Compliance rate per day", "% compliant", rate, v -> String.format(Locale.ROOT, "%.1f %%", v)),
                BarChart.of("Denials by reason (" + DASHBOARD_DAYS + " days)", "denials", byReason,
                        v -> String.format(Locale.ROOT, "%.0f", v)),
                reasons, unseenDays, unseen, EXPIRING_DAYS, expiring, s.trail().state(), selfcheckState()));
    }

    private Reply devices(Form q, Chrome chrome, ConsoleRoutes r) {
        String query = q.get("q");
        String needle = query.toLowerCase(Locale.ROOT);
        List<Device> all = s.pki().registry().devices();
        List<DeviceRow> rows = new ArrayList<>();
        for (Device d : all) {
            if (needle.isEmpty() || d.id().toLowerCase(Locale.ROOT).contains(needle)
                    || d.owner().toLowerCase(Locale.ROOT).contains(needle)
                    || d.groups().stream().anyMatch(g -> g.toLowerCase(Locale.ROOT).contains(needle))
                    || d.status().wireName().equals(needle)) {
                rows.add(row(d));
            }
        }
        return r.render(HttpResponseStatus.OK, "console/devices.jte", new ConsoleViews.Devices(chrome, query, rows, all.size()));
    }

    Reply device(String id, Chrome chrome, ConsoleRoutes r) throws IOException {
        String decoded = id; // the path was decoded once already
        @Nullable Device d;
        try {
            d = s.pki().registry().device(Device.checkId(decoded)).orElse(null);
        } catch (IllegalArgumentException e) {
            d = null;
        }
        if (d == null) {
            return r.render(HttpResponseStatus.NOT_FOUND, "console/outcome.jte", new ConsoleViews.Outcome(
                    chrome.titled("Not found", "devices"), false, "No device " + decoded + ".", List.of(), "/console/devices"));
        }
        Instant now = s.clock().instant();
        List<CertRow> certs = s.pki().registry().certificatesOf(d.id()).stream().map(c -> cert(c, now)).toList();
        return r.render(HttpResponseStatus.OK, "console/device.jte", new ConsoleViews.DeviceDetail(
                chrome.titled("Device " + d.id(), "devices"), row(d), d.hardwareSerial(), d.createdAt(), certs,
                s.trail().lastPosture(d.id()), sessions(d.id()), REVOCATION_REASONS, charter(d)));
    }

    /** The remote-work charter the device's owner accepted last, as the device page shows it; null when none. */
    private @Nullable String charter(Device d) {
        return s.pki().registry().charterAcceptance(d.id())
                .map(a -> "version " + a.version() + " at " + ConsoleViews.time(a.acceptedAt()) + " by " + a.owner()
                        + (a.owner().equals(d.owner()) ? "" : " (a previous owner: does not count)")
                        + ", text sha256 " + a.sha256().substring(0, 16) + "…")
                .orElse(null);
    }

    private Reply admins(Chrome chrome, AdminIdentity who, ConsoleRoutes r) {
        Instant now = s.clock().instant();
        List<AdminRow> rows = new ArrayList<>();
        for (PkiService.AdminCertificate a : s.pki().adminCertificates()) {
            CertificateRecord c = a.record();
            rows.add(new AdminRow(a.name(), a.role(), c.serial().toString(16), c.notAfter(), a.status(now),
                    c.revocationReason() == null ? null : c.revocationReason().toString(),
                    c.serial().toString(16).equals(who.serial())));
        }
        return r.render(HttpResponseStatus.OK, "console/admins.jte", new ConsoleViews.Admins(chrome, rows, REVOCATION_REASONS));
    }

    private Reply search(Form q, Chrome chrome, ConsoleRoutes r) throws IOException {
        Filter f = filter(q);
        String after = q.get("after");
        try {
            ConsoleAudit.Page<ConsoleViews.RecordRow> p = s.trail().search(f, after.isEmpty() ? null : after, PAGE_SIZE);
            return r.render(HttpResponseStatus.OK, "console/audit.jte", new ConsoleViews.Search(chrome, f, null, p.rows(),
                    after.isEmpty(), p.next(), p.counted(), s.trail().formats()));
        } catch (IllegalArgumentException e) {
            return r.render(HttpResponseStatus.BAD_REQUEST, "console/audit.jte", new ConsoleViews.Search(chrome, f, e.getMessage(),
                    List.of(), true, null, "0", s.trail().formats()));
        }
    }

    private Reply access(Form q, Chrome chrome, ConsoleRoutes r) throws IOException {
        Filter f = filter(q);
        String after = q.get("after");
        try {
            ConsoleAudit.Page<ConsoleViews.AccessRow> p = s.trail().access(f, after.isEmpty() ? null : after, PAGE_SIZE);
            return r.render(HttpResponseStatus.OK, "console/access.jte", new ConsoleViews.Access(chrome, f, null, p.rows(),
                    after.isEmpty(), p.next()));
        } catch (IllegalArgumentException e) {
            return r.render(HttpResponseStatus.BAD_REQUEST, "console/access.jte",
                    new ConsoleViews.Access(chrome, f, e.getMessage(), List.of(), true, null));
        }
    }

    private Reply denials(Form q, Chrome chrome, ConsoleRoutes r) throws IOException {
        Filter f = filter(q);
        try {
            List<List<Count>> d = s.trail().denials(f);
            Map<String, Double> byReason = new LinkedHashMap<>();
            d.get(0).stream().limit(12).forEach(c -> byReason.put(c.key(), (double) c.count()));
            return r.render(HttpResponseStatus.OK, "console/denials.jte", new ConsoleViews.Denials(chrome, f, null, d.get(0), d.get(1),
                    BarChart.of("Denials by reason", "denials", byReason, v -> String.format(Locale.ROOT, "%.0f", v))));
        } catch (IllegalArgumentException e) {
            return r.render(HttpResponseStatus.BAD_REQUEST, "console/denials.jte", new ConsoleViews.Denials(chrome, f, e.getMessage(),
                    List.of(), List.of(), BarChart.of("Denials by reason", "denials", Map.of(), v -> "")));
        }
    }

    private Reply verify(Chrome chrome, AdminIdentity who, String source, ConsoleRoutes r) throws IOException {
        ConsoleAudit.VerifyResult v = s.trail().verify();
        if (!r.audit(r.event("admin.audit.verify", who, source).with("result", v.ok() ? "ok" : "broken")
                .with("firstBreak", v.firstBreak()))) {
            throw new AuditUnavailableException("Not shown: this verification could not be recorded in the audit trail.", null);
        }
        return r.render(HttpResponseStatus.OK, "console/verify.jte", new ConsoleViews.Verify(chrome, v.dir(), v.ok(), v.records(),
                v.segments(), v.checkpoints(), v.firstBreak(), v.findings(), s.clock().instant()));
    }

    /**
     * Streams every matching record as a download, chunk by chunk with the connection's
     * backpressure (each chunk waits for the previous write), so a long export holds one chunk.
     */
    private @Nullable Reply export(Form q, Chrome chrome, AdminIdentity who, String source, FullHttpRequest req,
                                   ChannelHandlerContext ctx, ConsoleRoutes r) throws IOException {
        Filter f = filter(q);
        String format = q.get("format").isEmpty() ? "jsonl" : q.get("format");
        if (!s.trail().formats().contains(format)) {
            return r.render(HttpResponseStatus.BAD_REQUEST, "console/outcome.jte", new ConsoleViews.Outcome(
                    chrome.titled("Export", "audit"), false, "format: expected one of " + s.trail().formats() + ", found \""
                    + format + "\"", List.of(), "/console/audit?" + f.query()));
        }
        try {
            s.trail().check(f); // a bad filter is a page, not a broken download
        } catch (IllegalArgumentException e) {
            return r.render(HttpResponseStatus.BAD_REQUEST, "console/outcome.jte", new ConsoleViews.Outcome(
                    chrome.titled("Export", "audit"), false, e.getMessage(), List.of(), "/console/audit?" + f.query()));
        }
        if (!r.audit(r.event("admin.audit.export", who, source).with("format", format).with("filter", f.query()))) {
            throw new AuditUnavailableException("Not exported: the export could not be recorded in the audit trail.", null);
        }
        String type = switch (format) {
            case "csv" -> "text/csv; charset=utf-8";
            case "jsonl" -> "application/x-ndjson";
            case "ocsf" -> "application/x-ndjson";
            default -> "text/plain; charset=utf-8";
        };
        String name = "postern-audit-" + s.gateway() + "." + (format.equals("ocsf") ? "ocsf.jsonl" : format);
        ctx.channel().attr(ConsoleHandler.STREAMING).set(true);
        ctx.writeAndFlush(ConsoleHandler.streamHead(type, name)).awaitUninterruptibly(ChunkOutput.WRITE_WAIT.toMillis());
        try (OutputStream out = new ChunkOutput(ctx)) {
            s.trail().export(f, format, out);
        } catch (ChunkOutput.Gone e) {
            log.debug("console export to {} cut short: {}", source, e.getMessage());
            ctx.close(); // a download cut short must not look complete
            return null;
        }
        ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        return null;
    }

    /** Sends what is written as HTTP chunks of up to 64 KiB, each after the previous one left. */
    private static final class ChunkOutput extends OutputStream {
        /** A browser that takes no chunk for this long is given up on. */
        static final Duration WRITE_WAIT = Duration.ofSeconds(30);

        /** The browser went away, or stopped reading. */
        static final class Gone extends IOException {
            Gone(String message) {
                super(message);
            }
        }

        private final ChannelHandlerContext ctx;
        private final byte[] buf = new byte[64 * 1024];
        private int n;

        ChunkOutput(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void write(int b) throws IOException {
            if (n == buf.length) {
                flushChunk();
            }
            buf[n++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                if (n == buf.length) {
                    flushChunk();
                }
                int k = Math.min(len, buf.length - n);
                System.arraycopy(b, off, buf, n, k);
                n += k;
                off += k;
                len -= k;
            }
        }

        @Override
        public void close() throws IOException {
            flushChunk();
        }

        private void flushChunk() throws IOException {
            if (n == 0) {
                return;
            }
            if (!ctx.channel().isActive()) {
                throw new Gone("the browser went away during the export");
            }
            var f = ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(buf, 0, n)));
            n = 0;
            if (!f.awaitUninterruptibly(WRITE_WAIT.toMillis())) {
                throw new Gone("the browser took no data for " + WRITE_WAIT.toSeconds() + " s");
            }
            if (!f.isSuccess()) {
                throw new Gone("export cut short: " + f.cause());
            }
        }
    }

    /** The policy page; with a draft, its problems or who could reach what under it. */
    ConsoleViews.Policy policy(Chrome chrome, @Nullable String draft, List<String> problems, @Nullable AccessRules draftRules) {
        AccessRules current = s.live().current().settings().access();
        List<Device> devices = s.pki().registry().devices();
        List<ReachRow> reach = reach(current, null, devices);
        return new ConsoleViews.Policy(chrome, s.live().accessPolicyVersion(), rules(current), reach,
                postureText(s.live().current().settings().posture()), draft == null ? accessYaml(current) : draft, problems,
                draftRules == null ? null : rules(draftRules), draftRules == null ? null : reach(draftRules, current, devices),
                s.reloader() != null);
    }

    static List<RuleRow> rules(AccessRules rules) {
        return rules.rules().stream().map(r -> new RuleRow(r.name(), r.groups(),
                r.to().stream().map(Destination::toString).toList(),
                r.protocols().stream().map(Protocol::spelling).sorted().toList())).toList();
    }

    /** Per active or pending device: the rules that apply to its groups and what they open; against {@code before}, what changes. */
    static List<ReachRow> reach(AccessRules rules, @Nullable AccessRules before, List<Device> devices) {
        List<ReachRow> rows = new ArrayList<>();
        for (Device d : devices) {
            if (d.status() == DeviceStatus.REVOKED) {
                continue;
            }
            Set<String> groups = Set.copyOf(d.groups());
            Set<String> now = opens(rules, groups);
            List<String> applying = rules.rules().stream().filter(r -> r.appliesTo(groups)).map(AccessRules.Rule::name).toList();
            List<String> gained = List.of();
            List<String> lost = List.of();
            if (before != null) {
                Set<String> was = opens(before, groups);
                gained = now.stream().filter(x -> !was.contains(x)).toList();
                lost = was.stream().filter(x -> !now.contains(x)).toList();
            }
            rows.add(new ReachRow(d.id(), d.owner(), d.groups(), applying, List.copyOf(now), gained, lost));
        }
        return rows;
    }

    private static Set<String> opens(AccessRules rules, Set<String> groups) {
        Set<String> out = new TreeSet<>();
        for (AccessRules.Rule r : rules.rules()) {
            if (r.appliesTo(groups)) {
                String protocols = r.protocols().stream().map(Protocol::spelling).sorted().reduce((a, b) -> a + "," + b).orElse("");
                for (Destination d : r.to()) {
                    out.add(d + " (" + protocols + ")");
                }
            }
        }
        return out;
    }

    /** The access rules as the {@code access:} section of gateway.yaml: the draft starts from it. */
    static String accessYaml(AccessRules rules) {
        StringBuilder b = new StringBuilder("access:\n  rules:\n");
        if (rules.rules().isEmpty()) {
            return "access:\n  rules: []\n";
        }
        for (AccessRules.Rule r : rules.rules()) {
            b.append("    - name: ").append(quote(r.name())).append('\n');
            b.append("      groups: ").append(list(r.groups())).append('\n');
            b.append("      protocols: ").append(list(r.protocols().stream().map(Protocol::spelling).sorted().toList())).append('\n');
            b.append("      to: ").append(list(r.to().stream().map(Destination::toString).toList())).append('\n');
        }
        return b.toString();
    }

    private static String list(List<String> items) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < items.size(); i++) {
            b.append(i == 0 ? "" : ", ").append(quote(items.get(i)));
        }
        return b.append(']').toString();
    }

    private static String quote(String s) {
        try {
            return JSON.writeValueAsString(s); // a JSON string is a YAML double-quoted scalar
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The posture policy as its {@code posture:} section in gateway.yaml spells it (not Java's record text). */
    /** The posture policy as gateway.yaml's {@code posture:} section writes it (and agents are given it). */
    static String postureText(PosturePolicy p) {
        return p.toYaml();
    }

    List<SessionRow> sessions(@Nullable String device) {
        List<SessionRow> rows = new ArrayList<>();
        for (SessionInfo i : s.sessions().sessions()) {
            if (device == null || device.equals(i.device())) {
                rows.add(new SessionRow(i.id(), i.device(), i.user() == null ? "" : i.user(), i.source(), i.via(), i.since(),
                        i.flows(), i.bytesUp(), i.bytesDown(), i.address()));
            }
        }
        return rows;
    }

    static DeviceRow row(Device d) {
        return new DeviceRow(d.id(), d.owner(), d.groups(), d.status().wireName(), d.enrolledAt(), d.lastSeen(), d.lastPosture());
    }

    static CertRow cert(CertificateRecord c, Instant now) {
        String status = c.revoked() ? "revoked" : c.notAfter().isAfter(now) ? "good" : "expired";
        return new CertRow(c.serial().toString(16), c.kind().name(), c.deviceId(), c.subject(), c.notAfter(), status,
                c.revocationReason() == null ? null : c.revocationReason().toString());
    }

    static Filter filter(Form q) {
        return new Filter(q.get("since"), q.get("until"), q.get("user"), q.get("device"), q.get("host"), q.get("type"),
                q.get("reason"), q.get("outcome"));
    }

    static int boundedInt(String text, int dflt, int min, int max) {
        try {
            int v = Integer.parseInt(text);
            return v < min || v > max ? dflt : v;
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

}
