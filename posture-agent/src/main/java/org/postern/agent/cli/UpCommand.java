package org.postern.agent.cli;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.netty.channel.EventLoopGroup;
import org.postern.agent.collect.Collectors;
import org.postern.agent.session.GatewaySession;
import org.postern.agent.session.SessionFile;
import org.postern.agent.state.AgentHome;
import org.postern.agent.tunnel.LocalListeners;
import org.postern.agent.tunnel.TunnelEvents;
import org.postern.agent.vpn.LinuxVpnHost;
import org.postern.agent.vpn.VpnClient;
import org.postern.vpn.link.IpCommandLinkConfig;
import org.postern.vpn.tun.LinuxTun;
import org.postern.vpn.tun.TunDevice;
import org.postern.config.agent.AgentSettings;
import org.postern.net.Transport;
import org.postern.protocol.posture.AgentInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code postern-agent up}: keeps the session with the gateway and the local access paths (SOCKS5,
 * forwards) until stopped (Ctrl-C, SIGTERM).
 */
@Command(name = "up", mixinStandardHelpOptions = true,
        description = {"Connect to the gateway and keep the session up: prove posture, renew the lease before it ends,"
                + " reconnect when the network drops (with several gateways in agent.yaml, fail over to the next one), and serve the local access paths until stopped (Ctrl-C).",
                "Local paths: a SOCKS5 listener (default 127.0.0.1:1080; e.g. curl --socks5-hostname 127.0.0.1:1080 URL),"
                        + " the forwards of agent.yaml, and postern-agent connect HOST PORT.",
                "Prints one line per event; on denial, the reasons and what to do about them.",
                "With vpn.enabled: opens the TUN interface first and, once the lease holds, the VPN (docs/vpn.md \"The laptop\").",
                "Exit 0: stopped. 1: vpn.enabled but the TUN interface cannot be opened (needs CAP_NET_ADMIN). 2: not enrolled, a bad agent.yaml, a local port that cannot be bound, or already running."
                        + " 3: the gateway refused this laptop and the CA's CRL says its certificate is revoked (re-enroll)."})
final class UpCommand implements Callable<Integer> {
    @ParentCommand
    AgentCommand parent;

    @Option(names = "--config", paramLabel = "FILE",
            description = "Agent settings (agent.yaml; see config/examples/agent.yaml). Default: agent.yaml in the agent"
                    + " directory if present, else the defaults.")
    Path config;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        AgentSettings settings = settings();
        AgentHome home = parent.home != null ? parent.home()
                : settings.stateDir() != null ? new AgentHome(settings.stateDir()) : parent.home();
        if (!home.enrolled()) {
            throw new AgentCommand.AgentExit(2, "not enrolled (no certificate in " + home.dir()
                    + "); run: postern-agent enroll --gateway URL --token T --ca-sha256 FP");
        }
        var running = new SessionFile(home.dir()).running();
        if (running.isPresent()) {
            throw new AgentCommand.AgentExit(2, "already running (pid " + running.get().path("pid").asLong()
                    + ", " + new SessionFile(home.dir()).file() + ")");
        }
        AgentHome.Enrollment enrollment = home.enrollment().orElseThrow();
        // agent.yaml's gateways (tried in order, then round robin), else the one enrolled at
        java.util.List<URI> gateways = settings.gateways().isEmpty() ? java.util.List.of(URI.create(enrollment.gateway()))
                : settings.gateways();
        PrintWriter out = spec.commandLine().getOut();
        java.util.function.Consumer<String> say = line -> {
            synchronized (out) {
                out.println(LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + " " + line);
                out.flush();
            }
        };
        VpnClient vpn = settings.vpn().enabled() ? vpn(settings.vpn(), home, say) : null;
        Collectors.Backend backend = Collectors.Backend.valueOf(settings.posture().collector().name());
        Path stateDir = home.stateDir();
        Transport transport;
        try {
            transport = Transport.choose(settings.transport());
        } catch (IllegalStateException unavailable) {
            throw new AgentCommand.AgentExit(2, unavailable.getMessage());
        }
        EventLoopGroup group = transport.newGroup(2);
        GatewaySession session = new GatewaySession(new GatewaySession.Setup(gateways, home, settings,
                () -> Collectors.forThisMachine(backend, stateDir).collect(),
                new AgentInfo(AgentCommand.NAME, AgentCommand.VERSION), Clock.systemUTC(), group, say, System.getenv()));
        LocalListeners listeners;
        try {
            listeners = LocalListeners.bind(settings, group, session, events(say, session));
        } catch (java.io.IOException e) {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
            if (vpn != null) {
                vpn.close();
            }
            throw new AgentCommand.AgentExit(2, e.getMessage());
        }
        if (vpn != null) {
            session.vpn(vpn);
            vpn.start();
        }
        say.accept("transport " + transport);
        for (LocalListeners.Bound b : listeners.bound()) {
            say.accept(b.what() + " listening on " + b.address().getAddress().getHostAddress() + ":" + b.address().getPort());
        }
        session.listeners(listeners.bound());
        CountDownLatch done = new CountDownLatch(1);
        Thread stop = new Thread(() -> {
            say.accept("stopping");
            listeners.close();
            session.close();
            group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
            done.countDown();
        }, "postern-agent-stop");
        Runtime.getRuntime().addShutdownHook(stop);
        // a revoked certificate is final: up stops (exit 3) rather than knock on the gateway's door
        java.util.concurrent.atomic.AtomicInteger exit = new java.util.concurrent.atomic.AtomicInteger();
        session.stoppedForGood().thenAccept(barred -> {
            exit.set(3);
            try {
                if (Runtime.getRuntime().removeShutdownHook(stop)) {
                    stop.start();
                }
            } catch (IllegalStateException shuttingDown) {
                // the hook runs anyway
            }
        });
        session.start();
        // the remote-work charter: said once at start, so the user learns why every tunnel would be refused
        // before the first one is (each refusal says it again, with the remedy); a failure here changes nothing
        Thread.ofVirtual().name("postern-agent-charter").start(() -> {
            try {
                new org.postern.agent.enroll.CharterClient(home, System.getenv()).fetch()
                        .filter(c -> !c.acceptedNow())
                        .ifPresent(c -> say.accept("remote-work charter version " + c.version() + " is not accepted on this laptop:"
                                + " the gateway refuses every tunnel (charter.not_accepted) until it is; run: postern-agent charter"));
            } catch (java.io.IOException | RuntimeException e) {
                // the gateway is unreachable or older: the refusals, if any, will say why
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        done.await();
        return exit.get();
    }

    /**
     * Opens the TUN device before anything else (without CAP_NET_ADMIN: exit 1 with LinuxTun's
     * message) and puts back DNS a crashed earlier run left pointing into the tunnel.
     */
    private static VpnClient vpn(AgentSettings.Vpn settings, AgentHome home, java.util.function.Consumer<String> say) {
        TunDevice tun;
        try {
            tun = LinuxTun.open(settings.interfaceName());
        } catch (java.io.IOException | RuntimeException e) {
            throw new AgentCommand.AgentExit(1, e.getMessage());
        }
        LinuxVpnHost host = LinuxVpnHost.forHost(home.dir());
        try {
            host.cleanupStale().ifPresent(done -> say.accept("VPN: " + done + " (left by an earlier run that did not stop cleanly)"));
        } catch (java.io.IOException e) {
            say.accept("VPN: DNS left by an earlier run not restored: " + e.getMessage());
        }
        return new VpnClient(tun, IpCommandLinkConfig.host(), host, settings, say, Clock.systemUTC());
    }

    private AgentSettings settings() {
        if (config != null) {
            return AgentSettings.load(config);
        }
        Path dir = parent.home().dir().resolve("agent.yaml");
        return Files.exists(dir) ? AgentSettings.load(dir) : AgentSettings.defaults();
    }

    private static TunnelEvents events(java.util.function.Consumer<String> say, GatewaySession session) {
        return new TunnelEvents() {
            @Override
            public void closed(org.postern.agent.tunnel.TunnelClose close) {
                session.tunnelClosed(close);
            }

            @Override
            public void opened(String via, String destination) {
                say.accept("tunnel to " + destination + " open (" + via + ")");
            }

            @Override
            public void refused(String via, String destination, Throwable cause) {
                say.accept("tunnel to " + destination + " refused (" + via + "): " + cause.getMessage());
            }
        };
    }
}
