package org.postern.demo;

import static org.postern.demo.DemoLab.DEVICE;
import static org.postern.demo.LoopbackHttp.get;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.postern.pki.PkiService;
import org.postern.agent.cli.AgentCommand;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.posture.PosturePolicy;
import org.postern.gateway.session.SessionInfo;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.PostureClaims;
import org.postern.protocol.posture.PostureEvaluator;

/**
 * The steps about access: the admin host, the gateway in front of it, the posture decision, the
 * tunnels (SOCKS5, a forward, ssh) and the live session.
 */
final class AccessSteps {
    private AccessSteps() {
    }

    static void startAdminHost(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        DemoAdminHost host = lab.keep(DemoAdminHost.startWeb());
        lab.host = host;
        ctx.show("HTTP  http://127.0.0.1:" + host.webPort() + "/");
        String noSsh = host.startSshd(ctx.dir().resolve("sshd"));
        lab.noSsh = noSsh;
        ctx.show(noSsh == null ? "sshd  127.0.0.1:" + host.sshPort() + " (a throw-away host key; a client key for this user)"
                : "sshd  not started — the ssh steps are skipped: " + noSsh);
        ctx.check(get(new Socket(), new InetSocketAddress("127.0.0.1", host.webPort()), host.webPort()).equals(DemoAdminHost.PAGE),
                "the HTTP service answers directly on loopback");
    }

    static void startStrictGateway(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        DemoAdminHost host = lab.host;
        lab.tunnelPort = DemoAdminHost.freePort();
        lab.bastionPort = DemoAdminHost.freePort();
        lab.base = URI.create("https://127.0.0.1:" + lab.tunnelPort);
        lab.rules = new AccessRules(List.of(new AccessRules.Rule("admins-to-demo-host", List.of("admins"),
                lab.noSsh == null ? List.of(Destination.parse("127.0.0.1/32:" + host.webPort()), Destination.parse("127.0.0.1/32:" + host.sshPort()))
                        : List.of(Destination.parse("127.0.0.1/32:" + host.webPort())))));
        lab.gateway = DemoGateway.start(ctx.dir(), lab.tunnelPort, lab.bastionPort, DemoGateway.strictPolicy(), lab.rules, ctx.protection());
        ctx.show("tunnel " + lab.base + " (TLS 1.3 mTLS, HTTP/2 CONNECT; EST, OCSP and CRL for enrollment)");
        ctx.show("admin  https://127.0.0.1:" + lab.gateway.adminAddress().getPort() + ", ssh bastion 127.0.0.1:" + lab.gateway.bastion().address().getPort());
        ctx.show("access rule admins-to-demo-host: group admins → " + lab.rules.rules().getFirst().to());
        ctx.check(lab.gateway.address().getPort() == lab.tunnelPort, "gateway listening on " + lab.base);
    }

    static void postureDenied(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        DemoLaptop laptop = lab.keep(DemoLaptop.up(lab.home, lab.base, lab.bastionPort, lab.host.webPort(), line -> { }));
        lab.laptop = laptop;
        String denied = laptop.await(0, l -> l.startsWith("posture denied by the gateway") || l.startsWith("posture accepted")
                || l.startsWith("posture NOT compliant"), Duration.ofSeconds(30));
        String retry = laptop.await(0, l -> l.startsWith("trying again in"), Duration.ofSeconds(5));
        showAgent(ctx, laptop, 0, retry == null ? laptop.mark() : laptop.linesFrom(0).indexOf(retry) + 1);
        ctx.check(denied != null && denied.startsWith("posture denied by the gateway (policy demo-strict)")
                        && laptop.linesFrom(0).stream().anyMatch(l -> l.startsWith("    → ")),
                "denied under enforce, each reason with what to do about it");
        String refusedSocks = LoopbackHttp.tryGet(laptop.socks(), lab.host.webPort());
        ctx.show("through SOCKS5 now: " + refusedSocks);
        ctx.check(!refusedSocks.equals(DemoAdminHost.PAGE), "no tunnel without an accepted posture");
        // decides the next step's policy: enforce if this machine meets the default checks
        lab.local = new PostureEvaluator().evaluate(PostureClaims.of("local-check", DEVICE, ctx.clock().instant(),
                        new AgentInfo(AgentCommand.NAME, AgentCommand.VERSION), lab.facts), PosturePolicy.defaults(),
                lab.cert.getNotAfter().toInstant(), ctx.clock().instant());
    }

    /** The demo policy's mode: enforce when this machine meets the default checks, else report-only. */
    static PosturePolicy.Mode demoMode(DemoLab lab) {
        return lab.local.compliant() ? PosturePolicy.Mode.ENFORCE : PosturePolicy.Mode.REPORT_ONLY;
    }

    static void demoPolicy(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        DemoLaptop laptop = lab.laptop;
        boolean compliant = lab.local.compliant();
        ctx.show(compliant ? "this machine meets the default policy, so the demo policy enforces it"
                : "this machine does not meet the default policy (" + String.join(", ", lab.local.reasons().stream().map(r -> r.code()).distinct().toList())
                + "), so the demo policy runs report-only: the gateway records what it would deny and lets it in");
        int mark = laptop.mark();
        lab.gateway.close();
        lab.gateway = DemoGateway.start(ctx.dir(), lab.tunnelPort, lab.bastionPort, DemoGateway.demoPolicy(demoMode(lab)), lab.rules, ctx.protection());
        String accepted = laptop.await(mark, l -> l.startsWith("posture accepted") || l.startsWith("posture NOT compliant")
                || l.startsWith("posture denied"), Duration.ofSeconds(30));
        showAgent(ctx, laptop, mark, laptop.mark());
        ctx.check(accepted != null && (compliant ? accepted.startsWith("posture accepted; lease until")
                        : accepted.startsWith("posture NOT compliant, allowed (report-only)")),
                compliant ? "compliant: posture accepted with a lease" : "not compliant, allowed in report-only mode (said so)");
    }

    /**
     * The gateway's remote-work charter (version 1) is in force: alice's tunnel is refused with
     * {@code charter.not_accepted} and the remedy until she accepts it with {@code postern-agent charter --accept}.
     */
    static void charter(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        DemoLaptop laptop = lab.laptop;
        int webPort = lab.host.webPort();
        int mark = laptop.mark();
        String refused = null;
        try (Socket s = new Socket(new Proxy(Proxy.Type.SOCKS, laptop.socks()))) {
            s.connect(InetSocketAddress.createUnresolved("127.0.0.1", webPort), 10_000);
        } catch (IOException e) {
            refused = e.getMessage();
        }
        String said = laptop.await(mark, l -> l.contains("charter.not_accepted"), Duration.ofSeconds(10));
        showAgent(ctx, laptop, mark, laptop.mark());
        ctx.check(refused != null && said != null && said.contains("postern-agent charter"),
                "before acceptance the tunnel is refused: charter.not_accepted, and the agent names the command to run");
        ctx.show("$ postern-agent charter --accept");
        String accepted = Commands.agent("--home", lab.home.dir().toString(), "charter", "--accept");
        accepted.lines().filter(l -> !l.isBlank()).forEach(l -> ctx.show("  " + l));
        String page = get(new Socket(new Proxy(Proxy.Type.SOCKS, laptop.socks())), InetSocketAddress.createUnresolved("127.0.0.1", webPort), webPort);
        ctx.check(accepted.contains("Accepted version " + DemoGateway.CHARTER.version()) && page.equals(DemoAdminHost.PAGE),
                "accepted (charter.accepted in the trail, with user, device, version and the text's hash); the tunnel is admitted");
    }

    static void tunnel(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        DemoLaptop laptop = lab.laptop;
        int webPort = lab.host.webPort();
        Socket held = lab.keep(new Socket(new Proxy(Proxy.Type.SOCKS, laptop.socks())));
        lab.held = held;
        String viaSocks = get(held, InetSocketAddress.createUnresolved("127.0.0.1", webPort), webPort);
        ctx.show("SOCKS5 127.0.0.1:" + laptop.socksPort() + " → 127.0.0.1:" + webPort + ": " + viaSocks.strip());
        String viaForward = get(new Socket(), new InetSocketAddress("127.0.0.1", laptop.forwardPort()), webPort);
        ctx.show("forward 127.0.0.1:" + laptop.forwardPort() + " → 127.0.0.1:" + webPort + ": " + viaForward.strip());
        ctx.check(viaSocks.equals(DemoAdminHost.PAGE) && viaForward.equals(DemoAdminHost.PAGE), "the page arrives through both paths");
    }

    /** Why the ssh step is skipped (no sshd), or null. */
    static @Nullable String sshSkipped(DemoContext ctx) {
        return ctx.lab().noSsh == null ? null : "ssh step skipped: " + ctx.lab().noSsh;
    }

    static void ssh(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        DemoAdminHost host = lab.host;
        Path dir = ctx.dir();
        lab.wrapper = Commands.agentWrapper(dir);
        String sshConfig = Commands.agent("--home", lab.home.dir().toString(), "ssh-config", "--host", "127.0.0.1", "--command", lab.wrapper.toString());
        sshConfig.lines().filter(l -> !l.isBlank()).forEach(ctx::show);
        int bastion = lab.gateway.bastion().address().getPort();
        ctx.check(sshConfig.contains("\nHost postern\n  HostName 127.0.0.1\n  Port " + bastion + "\n"),
                "the bastion block names the gateway's SSH bastion, 127.0.0.1:" + bastion + " (ssh.bastion of agent.yaml)");
        // the demo's own options first (ssh takes the first value it finds for each), then the
        // printed blocks as a user would paste them
        Path sshConfigFile = Files.writeString(dir.resolve("ssh_config"), "Host 127.0.0.1\n"
                + "    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n    BatchMode yes\n    LogLevel ERROR\n"
                + "    IdentityFile " + host.clientKey() + "\n    IdentitiesOnly yes\n\n" + sshConfig);
        String user = System.getProperty("user.name");
        Commands.Run ssh = Commands.run(dir, Duration.ofSeconds(60), DemoAdminHost.SSH.toString(), "-F", sshConfigFile.toString(),
                "-p", String.valueOf(host.sshPort()), user + "@127.0.0.1", "echo hello from $(hostname) as $(id -un) over ssh");
        ctx.show("$ ssh -F ssh_config -p " + host.sshPort() + " " + user + "@127.0.0.1 'echo hello from $(hostname) as $(id -un) over ssh'");
        ssh.out().lines().forEach(l -> ctx.show("  " + l));
        ctx.check(ssh.code() == 0 && ssh.out().startsWith("hello from ") && ssh.out().contains(" as " + user + " over ssh"),
                "ssh ran the command through the tunnel (exit " + ssh.code() + ")");
    }

    static void sessions(DemoContext ctx) {
        List<SessionInfo> sessions = ctx.lab().gateway.sessions().sessions();
        sessions.forEach(s -> ctx.show(s.id() + "  " + s.device() + "  " + s.user() + "  " + s.source() + "  via " + s.via()
                + "  since " + s.since() + "  flows " + s.flows() + "  bytes " + s.bytesUp() + "/" + s.bytesDown()
                + (s.leaseUntil() == null ? "" : "  lease until " + s.leaseUntil())));
        ctx.check(sessions.stream().anyMatch(s -> s.device().equals(DEVICE) && s.flows() >= 1),
                DEVICE + " has a session with an open tunnel (the SOCKS5 connection kept alive)");
    }

    /**
     * The console as an auditor sees it: the access report of the laptop, over HTTPS with an
     * auditor certificate (the page a browser would show; docs/console.md).
     */
    static void console(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        PkiService.Issued auditor = lab.service.issueAdmin("demo-auditor-console", "auditor", "demo");
        List<java.security.cert.X509Certificate> chain = new java.util.ArrayList<>(List.of(auditor.certificate()));
        chain.addAll(lab.ca.chain());
        javax.net.ssl.SSLContext tls = org.postern.tls.TlsContexts.client().identity(auditor.keys().getPrivate(), chain)
                .trust(List.of(lab.ca.root())).jdk();
        java.net.InetSocketAddress admin = lab.gateway.adminAddress();
        java.net.URI uri = java.net.URI.create("https://127.0.0.1:" + admin.getPort() + "/console/access?device=" + DEVICE);
        java.net.http.HttpResponse<String> r;
        try (java.net.http.HttpClient c = java.net.http.HttpClient.newBuilder().sslContext(tls)
                .connectTimeout(Duration.ofSeconds(10)).build()) {
            r = c.send(java.net.http.HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).GET().build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
        }
        String body = r.body();
        int rows = body.split("<td class=\"mono\">127\\.0\\.0\\.1:" + lab.host.webPort() + "</td>", -1).length - 1;
        ctx.show("GET " + uri + " as demo-auditor-console (auditor): " + r.statusCode() + ", "
                + rows + " flow(s) of " + DEVICE + " to the admin host");
        ctx.show("Content-Security-Policy: " + r.headers().firstValue("Content-Security-Policy").orElse("(none)"));
        ctx.check(r.statusCode() == 200 && rows >= 1 && body.contains(DEVICE)
                        && r.headers().firstValue("Content-Security-Policy").orElse("").contains("default-src 'none'"),
                "the console's access report shows who reached the admin host, from which device, with which posture");
    }

    /** The agent's event lines from index {@code from} up to {@code to}, as shown lines. */
    static void showAgent(DemoContext ctx, DemoLaptop laptop, int from, int to) {
        List<String> lines = laptop.linesFrom(from);
        lines.subList(0, Math.max(0, Math.min(to - from, lines.size()))).forEach(l -> ctx.show("agent: " + l));
    }
}
