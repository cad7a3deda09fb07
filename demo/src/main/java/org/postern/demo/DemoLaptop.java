package org.postern.demo;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

import io.netty.channel.EventLoopGroup;
import org.jspecify.annotations.Nullable;
import org.postern.agent.cli.AgentCommand;
import org.postern.agent.collect.Collectors;
import org.postern.agent.session.GatewaySession;
import org.postern.agent.state.AgentHome;
import org.postern.agent.tunnel.LocalListeners;
import org.postern.agent.tunnel.TunnelEvents;
import org.postern.config.agent.AgentSettings;
import org.postern.net.Transport;
import org.postern.protocol.posture.AgentInfo;

/**
 * One laptop's agent session in the demo's process: the classes {@code postern-agent up} runs
 * (session, SOCKS5 listener, one forward), its event lines kept so the demo can wait for them.
 */
final class DemoLaptop implements AutoCloseable {
    private final AgentHome home;
    private final EventLoopGroup group;
    private final GatewaySession session;
    private final LocalListeners listeners;
    private final int socksPort;
    private final int forwardPort;
    private final List<String> lines = new ArrayList<>();

    private DemoLaptop(AgentHome home, EventLoopGroup group, GatewaySession session, LocalListeners listeners,
                       int socksPort, int forwardPort) {
        this.home = home;
        this.group = group;
        this.session = session;
        this.listeners = listeners;
        this.socksPort = socksPort;
        this.forwardPort = forwardPort;
    }

    /**
     * Starts {@code up} for the enrolled {@code home}: SOCKS5 and a forward to {@code forwardTo}, both
     * on free ports. Its agent.yaml names the gateway's SSH bastion ({@code ssh.bastion}), which the
     * demo runs on a free port rather than the default 2222, so that {@code ssh-config} prints it.
     */
    static DemoLaptop up(AgentHome home, URI gateway, int bastionPort, int forwardTo, Consumer<String> echo) throws IOException {
        int socks = DemoAdminHost.freePort();
        int forward = DemoAdminHost.freePort();
        Path config = Files.writeString(home.dir().resolve("agent.yaml"), """
                socks:
                  listen: 127.0.0.1:%d
                forwards:
                  - listen: 127.0.0.1:%d
                    to: 127.0.0.1:%d
                posture:
                  retryInterval: 60s
                reconnect:
                  minBackoff: 200ms
                  maxBackoff: 1s
                ssh:
                  bastion: %s:%d
                """.formatted(socks, forward, forwardTo, gateway.getHost(), bastionPort));
        AgentSettings settings = AgentSettings.load(config);
        EventLoopGroup group = Transport.choose(settings.transport()).newGroup(2);
        DemoLaptop[] self = new DemoLaptop[1];
        Consumer<String> say = line -> {
            synchronized (self) {
                if (self[0] != null) {
                    self[0].record(line);
                }
            }
            echo.accept(line);
        };
        Path state = home.stateDir();
        GatewaySession session = new GatewaySession(new GatewaySession.Setup(gateway, home, settings,
                () -> Collectors.forThisMachine(Collectors.Backend.NATIVE, state).collect(),
                new AgentInfo(AgentCommand.NAME, AgentCommand.VERSION), Clock.systemUTC(), group, say, System.getenv()));
        LocalListeners listeners;
        try {
            listeners = LocalListeners.bind(settings, group, session, new TunnelEvents() {
                @Override
                public void opened(String via, String destination) {
                    say.accept("tunnel to " + destination + " open (" + via + ")");
                }

                @Override
                public void refused(String via, String destination, Throwable cause) {
                    say.accept("tunnel to " + destination + " refused (" + via + "): " + cause.getMessage());
                }
            });
        } catch (IOException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
        DemoLaptop laptop = new DemoLaptop(home, group, session, listeners, socks, forward);
        synchronized (self) {
            self[0] = laptop;
        }
        for (LocalListeners.Bound b : listeners.bound()) {
            say.accept(b.what() + " listening on " + b.address().getAddress().getHostAddress() + ":" + b.address().getPort());
        }
        session.listeners(listeners.bound());
        session.start();
        return laptop;
    }

    private void record(String line) {
        synchronized (lines) {
            lines.add(line);
        }
    }

    /** The first event line from index {@code from} on that matches, waiting up to {@code within}; null if none came. */
    @Nullable String await(int from, Predicate<String> match, Duration within) throws InterruptedException {
        Instant until = Instant.now().plus(within);
        while (true) {
            synchronized (lines) {
                for (int i = from; i < lines.size(); i++) {
                    if (match.test(lines.get(i))) {
                        return lines.get(i);
                    }
                }
                if (!Instant.now().isBefore(until)) {
                    return null;
                }
                lines.wait(50);
            }
        }
    }

    /** How many event lines so far (a mark for {@link #await}). */
    int mark() {
        synchronized (lines) {
            return lines.size();
        }
    }

    List<String> linesFrom(int from) {
        synchronized (lines) {
            return List.copyOf(lines.subList(Math.min(from, lines.size()), lines.size()));
        }
    }

    AgentHome home() {
        return home;
    }

    int socksPort() {
        return socksPort;
    }

    int forwardPort() {
        return forwardPort;
    }

    InetSocketAddress socks() {
        return new InetSocketAddress("127.0.0.1", socksPort);
    }

    @Override
    public void close() {
        listeners.close();
        session.close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
