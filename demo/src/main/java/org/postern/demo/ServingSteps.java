package org.postern.demo;

import static org.postern.demo.DemoLab.SECOND;

import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.postern.agent.enroll.Enroller;
import org.postern.agent.state.AgentHome;
import org.postern.pki.PkiService;

/** Without {@code --exit}: a second laptop to try things with, and the commands to try. */
final class ServingSteps {
    private ServingSteps() {
    }

    static void secondLaptop(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        AgentHome home2 = new AgentHome(ctx.dir().resolve("agent-2"));
        PkiService.NewDevice second = lab.service.addDevice(SECOND, "alice", List.of("admins"), null, null, "demo");
        new Enroller(home2, ctx.clock(), ctx.random()).enroll(lab.base, SECOND, second.token(), lab.ca.rootSha256());
        Commands.agent("--home", home2.dir().toString(), "charter", "--accept"); // as alice did for her first laptop
        DemoLaptop laptop2 = lab.keep(DemoLaptop.up(home2, lab.base, lab.bastionPort, lab.host.webPort(), line -> { }));
        lab.home2 = home2;
        lab.laptop2 = laptop2;
        String allowed = laptop2.await(0, l -> l.startsWith("posture accepted") || l.startsWith("posture NOT compliant, allowed"),
                Duration.ofSeconds(30));
        AccessSteps.showAgent(ctx, laptop2, 0, laptop2.mark());
        String page = LoopbackHttp.get(new Socket(new Proxy(Proxy.Type.SOCKS, laptop2.socks())),
                InetSocketAddress.createUnresolved("127.0.0.1", lab.host.webPort()), lab.host.webPort());
        ctx.check(allowed != null && page.equals(DemoAdminHost.PAGE), SECOND + " is in; its SOCKS5 reaches the admin host");
    }

    /** After the steps: what to try against the running gateway, in another terminal. */
    static void printTryCommands(DemoContext ctx) throws Exception {
        DemoLab lab = ctx.lab();
        DemoOutput out = ctx.out();
        Path dir = ctx.dir();
        DemoAdminHost host = lab.host;
        AgentHome home2 = lab.home2;
        Path gatewayYaml = DemoGateway.yaml(dir, lab.tunnelPort, lab.gateway);
        // an auditor's certificate in DATA/admin, for postern gateway sessions
        Commands.postern("pki", "issue-admin", "--dir", dir.toString(), "--name", "demo-auditor", "--role", "auditor",
                "--passphrase-file", ctx.passFile().toString());
        out.println();
        out.println("All " + out.step() + " steps behaved as shown.");
        out.println();
        out.println("The gateway keeps running on " + lab.base + " — try, in another terminal:");
        out.println("  curl --socks5-hostname 127.0.0.1:" + lab.laptop2.socksPort() + " http://127.0.0.1:" + host.webPort() + "/");
        out.println("  curl http://127.0.0.1:" + lab.laptop2.forwardPort() + "/          # the agent's forward");
        out.println("  curl --proxytunnel --proxy " + lab.base + " --proxy-cacert " + home2.caFile() + " --proxy-cert " + home2.certificateFile()
                + " --proxy-key " + home2.keyFile() + " http://127.0.0.1:" + host.webPort() + "/");
        out.println("  ./postern gateway sessions --config " + gatewayYaml);
        if (lab.noSsh == null) {
            Path cfg = Files.writeString(dir.resolve("ssh_config-2"), "Host 127.0.0.1\n"
                    + "    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n"
                    + "    IdentityFile " + host.clientKey() + "\n    IdentitiesOnly yes\n\n"
                    + Commands.agent("--home", home2.dir().toString(), "ssh-config", "--host", "127.0.0.1", "--command", lab.wrapper.toString()));
            out.println("  ssh -F " + cfg + " -p " + host.sshPort() + " " + System.getProperty("user.name") + "@127.0.0.1");
        }
        out.println("  ./postern audit verify " + dir.resolve("audit/trail"));
        // a security admin's PKCS#12 for a browser (docs/console.md)
        Path p12Pass = dir.resolve("console-admin.pass");
        byte[] raw = new byte[15];
        ctx.random().nextBytes(raw);
        Files.writeString(p12Pass, java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(raw) + "\n");
        Files.setPosixFilePermissions(p12Pass, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path p12 = dir.resolve("console-admin.p12");
        // its PEM files go to DIR/console, not DATA/admin: `gateway sessions` above picks the one admin certificate there
        Commands.postern("pki", "issue-admin", "--dir", dir.toString(), "--name", "demo-console", "--role", "security-admin",
                "--passphrase-file", ctx.passFile().toString(), "--out", dir.resolve("console").toString(),
                "--p12", p12.toString(), "--p12-passphrase-file", p12Pass.toString());
        out.println("The console: https://127.0.0.1:" + lab.gateway.adminAddress().getPort() + "/ — import " + p12
                + " (passphrase in " + p12Pass + ") into the browser and trust " + dir.resolve("ca/root.crt"));
        out.println("Stop with Ctrl-C.");
        out.flush();
    }
}
