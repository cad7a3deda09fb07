package org.postern.agent.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import org.postern.agent.session.SessionFile;
import org.postern.agent.state.AgentHome;
import org.postern.config.HostPort;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code postern-agent connect HOST PORT}: one tunnel on standard input and output, for OpenSSH's
 * {@code ProxyCommand}. It rides the running {@code up}'s connection through its local SOCKS5
 * listener (found in {@code session.json}), so it needs no key and no handshake of its own.
 */
@Command(name = "connect", mixinStandardHelpOptions = true,
        description = {"Open a tunnel to HOST PORT through the running postern-agent up and pipe it to standard input"
                + " and output, e.g. in ~/.ssh/config: ProxyCommand postern-agent connect %%h %%p (see ssh-config).",
                "Exit 0: the tunnel ended. 1: the gateway refused it (postern-agent up prints why). 2: up is not running,"
                        + " or its SOCKS5 listener is off."})
final class ConnectCommand implements Callable<Integer> {
    static final int CONNECT_TIMEOUT_MS = 30_000;

    @ParentCommand
    AgentCommand parent;

    @Parameters(index = "0", paramLabel = "HOST", description = "Destination host name or address, as the access policy names it.")
    String host;

    @Parameters(index = "1", paramLabel = "PORT", description = "Destination port.")
    int port;

    InputStream in = System.in;
    OutputStream out = System.out;

    @Override
    public Integer call() throws Exception {
        HostPort destination;
        try {
            destination = new HostPort(host, port);
        } catch (IllegalArgumentException e) {
            throw new AgentCommand.AgentExit(2, "destination: " + e.getMessage());
        }
        AgentHome home = parent.home();
        SessionFile file = new SessionFile(home.dir());
        JsonNode session = file.running().orElseThrow(() -> new AgentCommand.AgentExit(2,
                "postern-agent up is not running (no live session in " + file.file() + "); start it with: postern-agent up"));
        HostPort socks = socksAddress(session).orElseThrow(() -> new AgentCommand.AgentExit(2,
                "postern-agent up runs without its SOCKS5 listener (socks.enabled: false in agent.yaml); connect needs it"));
        Socket s = new Socket(new Proxy(Proxy.Type.SOCKS, new InetSocketAddress(socks.host(), socks.port())));
        try {
            s.connect(InetSocketAddress.createUnresolved(destination.host(), destination.port()), CONNECT_TIMEOUT_MS);
        } catch (IOException e) {
            s.close();
            throw new AgentCommand.AgentExit(1, "no tunnel to " + destination + ": " + e.getMessage()
                    + " (postern-agent up at " + socks + " says why)");
        }
        s.setTcpNoDelay(true);
        pipe(s);
        return 0;
    }

    static java.util.Optional<HostPort> socksAddress(JsonNode session) {
        for (JsonNode l : session.path("listeners")) {
            if ("SOCKS5".equals(l.path("what").asText())) {
                return java.util.Optional.of(HostPort.parse(l.path("address").asText()));
            }
        }
        return java.util.Optional.empty();
    }

    /** stdin → tunnel (its end half-closes the tunnel), tunnel → stdout until the far side ends. */
    private void pipe(Socket s) throws IOException, InterruptedException {
        Thread up = Thread.ofPlatform().daemon(true).name("connect-stdin").start(() -> {
            try {
                // no try-with-resources on the stream: closing it would close the socket both ways
                OutputStream toGateway = s.getOutputStream();
                in.transferTo(toGateway);
                toGateway.flush();
                s.shutdownOutput();
            } catch (IOException e) {
                // the tunnel went away first; the reading side ends too
            }
        });
        try (InputStream fromGateway = s.getInputStream()) {
            byte[] buf = new byte[16 * 1024];
            for (int n; (n = fromGateway.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            if (!s.isClosed()) {
                throw e;
            }
        } finally {
            out.flush();
        }
        // the far side ended: stdin may still be open (ssh keeps it), so do not wait for it
        up.join(100);
        s.close();
    }
}
