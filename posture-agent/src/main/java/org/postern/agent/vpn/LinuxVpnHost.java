package org.postern.agent.vpn;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.postern.config.gateway.Network;
import org.postern.vpn.link.Command;
import org.postern.vpn.link.DnsConfig;

/**
 * {@link VpnHost} on Linux: DNS through {@link DnsConfig} (systemd-resolved per link, else
 * resolv.conf with a backup in the agent's state directory), routes and links through {@code ip}.
 */
public final class LinuxVpnHost implements VpnHost {
    /** {@code ip route get} output: {@code 192.0.2.7 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0}. */
    private static final Pattern VIA = Pattern.compile("\\bvia\\s+(\\S+)");
    private static final Pattern DEV = Pattern.compile("\\bdev\\s+(\\S+)");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,15}");
    private static final long TIMEOUT_SECONDS = 10;

    private final DnsConfig dns;

    public LinuxVpnHost(DnsConfig dns) {
        this.dns = dns;
    }

    /** This host, its DNS backups in {@code stateDir}. */
    public static LinuxVpnHost forHost(Path stateDir) {
        return new LinuxVpnHost(DnsConfig.forHost(stateDir));
    }

    @Override
    public String applyDns(String device, List<InetAddress> servers, List<String> searchDomains) throws IOException {
        return switch (dns.apply(device, servers, searchDomains)) {
            case RESOLVED_PER_LINK -> "systemd-resolved, for " + device + " only";
            case RESOLV_CONF -> "/etc/resolv.conf (original kept)";
        };
    }

    @Override
    public void restoreDns() throws IOException {
        dns.restore();
    }

    /** Puts back DNS that a crashed earlier run left pointing into the tunnel; says what, if anything. */
    public Optional<String> cleanupStale() throws IOException {
        return dns.cleanupStale();
    }

    @Override
    public Optional<Network> pinRoute(InetAddress gateway) throws IOException {
        String route = ip(List.of("route", "get", gateway.getHostAddress()));
        Matcher via = VIA.matcher(route);
        Matcher dev = DEV.matcher(route);
        if (!via.find() || !dev.find() || dev.group(1).equals("lo")) {
            return Optional.empty(); // directly connected or local: the interface route stays more specific
        }
        InetAddress next = Network.parseAddress(via.group(1));
        if (next == null || !NAME.matcher(dev.group(1)).matches()) {
            throw new IOException("ip route get " + gateway.getHostAddress() + ": expected \"via ADDRESS dev NAME\", found " + route.strip());
        }
        Network host = Network.of(gateway);
        ip(List.of("route", "replace", host.toString(), "via", next.getHostAddress(), "dev", dev.group(1)));
        return Optional.of(host);
    }

    @Override
    public void unpinRoute(Network route) throws IOException {
        ip(List.of("route", "delete", route.toString()));
    }

    @Override
    public void down(String device) throws IOException {
        ip(List.of("address", "flush", "dev", device));
        ip(List.of("link", "set", "dev", device, "down"));
    }

    private static String ip(List<String> args) throws IOException {
        List<String> argv = new ArrayList<>();
        argv.add("ip");
        argv.addAll(args);
        return Command.run(argv, null, Duration.ofSeconds(TIMEOUT_SECONDS));
    }
}
