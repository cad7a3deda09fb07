package org.postern.gateway.vpn;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.GatewaySettings;
import org.postern.config.gateway.Network;
import org.postern.vpn.link.Command;
import org.postern.vpn.link.IpCommandLinkConfig;
import org.postern.vpn.link.LinkAddress;
import org.postern.vpn.link.LinkConfig;
import org.postern.vpn.pool.AddressPool;
import org.postern.vpn.tun.LinuxTun;
import org.postern.vpn.tun.NetNamespace;
import org.postern.vpn.tun.TunDevice;

/**
 * Opens the gateway's egress into the admin network: IP forwarding checked (an operator setting:
 * the gateway refuses to start rather than change the host's routing behind its back), the TUN
 * interface with the pool's first address and prefix (so the kernel routes the pool to it), MTU
 * {@value #MTU}, up, and with {@code vpn.nat} an nftables table {@value #NFT_TABLE} that
 * masquerades the pools leaving by any other interface. {@link #close} removes the table; the
 * interface disappears with its descriptor.
 */
final class EgressSetup {

    /**
     * The egress TUN's MTU. Each session's engine applies its own tunnel MTU (1400 over HTTP/2,
     * up to 1403 over HTTP/3) and answers the admin host with ICMP packet too big itself; an
     * Ethernet-sized TUN keeps the kernel from refusing or fragmenting anything a session could carry.
     */
    static final int MTU = 1500;
    static final String NFT_TABLE = "postern";
    private static final long COMMAND_SECONDS = 10;

    private final @Nullable String namespace;

    /** @param namespace the network namespace ({@code ip netns}) the egress lives in, or null for the gateway's own */
    EgressSetup(@Nullable String namespace) {
        this.namespace = namespace;
    }

    /** Opens and configures the TUN, and the NAT when asked. */
    TunDevice open(GatewaySettings.Vpn vpn, AddressPool pool) throws IOException {
        requireForwarding(vpn.pool6() != null);
        TunDevice tun = namespace == null ? LinuxTun.open(vpn.interfaceName()) : inNamespace(vpn.interfaceName());
        try {
            LinkConfig link = namespace == null ? IpCommandLinkConfig.host() : IpCommandLinkConfig.inNamespace(namespace);
            link.addAddress(tun.name(), new LinkAddress(pool.gatewayAddress(), vpn.pool().prefixLength()));
            if (vpn.pool6() != null && pool.gatewayAddress6().isPresent()) {
                link.addAddress(tun.name(), new LinkAddress(pool.gatewayAddress6().get(), vpn.pool6().prefixLength()));
            }
            link.up(tun.name(), MTU);
            if (vpn.nat()) {
                nft(ruleset(tun.name(), vpn.pool(), vpn.pool6()));
            }
            return tun;
        } catch (IOException | RuntimeException e) {
            tun.close();
            throw e;
        }
    }

    /** Removes the NAT table (when {@code vpn.nat} put it there). */
    void removeNat() throws IOException {
        nft("delete table inet " + NFT_TABLE + "\n");
    }

    private TunDevice inNamespace(String name) throws IOException {
        try {
            return NetNamespace.call(namespace, () -> LinuxTun.open(name));
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** IPv4 (and IPv6) forwarding must be on: the admin hosts are reached by routing the devices' packets. */
    private void requireForwarding(boolean ipv6) throws IOException {
        check("net.ipv4.ip_forward", Path.of("/proc/sys/net/ipv4/ip_forward"));
        if (ipv6) {
            check("net.ipv6.conf.all.forwarding", Path.of("/proc/sys/net/ipv6/conf/all/forwarding"));
        }
    }

    private void check(String sysctl, Path file) throws IOException {
        String value;
        if (namespace == null) {
            value = Files.readString(file).strip();
        } else {
            try {
                value = NetNamespace.call(namespace, () -> Files.readString(file).strip());
            } catch (Exception e) {
                throw new IOException("reading " + sysctl + " in namespace " + namespace + ": " + e.getMessage(), e);
            }
        }
        if (!value.equals("1")) {
            throw new IOException("VPN mode (vpn.enabled) needs IP forwarding: expected " + sysctl + " = 1, found "
                    + value + "; set it with sysctl -w " + sysctl + "=1 (and in /etc/sysctl.d/ to keep it), see docs/vpn.md");
        }
    }

    /** One atomic nft transaction: an old table (a crash) is replaced, never doubled. */
    static String ruleset(String tun, Network pool, @Nullable Network pool6) {
        StringBuilder s = new StringBuilder();
        s.append("table inet ").append(NFT_TABLE).append(" {}\n");
        s.append("delete table inet ").append(NFT_TABLE).append('\n');
        s.append("table inet ").append(NFT_TABLE).append(" {\n");
        s.append("  chain postrouting {\n");
        s.append("    type nat hook postrouting priority srcnat; policy accept;\n");
        s.append("    ip saddr ").append(pool).append(" oifname != \"").append(tun).append("\" masquerade\n");
        if (pool6 != null) {
            s.append("    ip6 saddr ").append(pool6).append(" oifname != \"").append(tun).append("\" masquerade\n");
        }
        s.append("  }\n}\n");
        return s.toString();
    }

    private void nft(String script) throws IOException {
        List<String> command = new ArrayList<>();
        if (namespace != null) {
            command.addAll(List.of("ip", "netns", "exec", namespace));
        }
        command.addAll(List.of("nft", "-f", "-"));
        try {
            Command.run(command, script, Duration.ofSeconds(COMMAND_SECONDS));
        } catch (IOException e) {
            throw new IOException("vpn.nat is true but nft (nftables) did not set the VPN's NAT table: " + e.getMessage()
                    + "; install nftables, or set vpn.nat: false and route the pool back to this gateway", e);
        }
    }
}
