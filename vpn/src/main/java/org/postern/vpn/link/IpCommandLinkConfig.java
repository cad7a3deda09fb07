package org.postern.vpn.link;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.Network;

/**
 * {@link LinkConfig} on Linux through iproute2's {@code ip}, run without a shell and with a
 * bounded wait. A route advertisement can hold hundreds of networks, so routes go to one
 * {@code ip -batch -} run fed on standard input, not one process per route. With a namespace
 * name, every command runs as {@code ip -n NAME ...} (tests keep their interfaces off the host).
 */
public final class IpCommandLinkConfig implements LinkConfig {

    /** Interface names that are safe on an {@code ip -batch} line: no spaces, no newlines. */
    private static final Pattern DEVICE = Pattern.compile("[A-Za-z0-9._-]{1,15}");

    /** Namespace names as {@code ip netns add} makes them (files under /run/netns). */
    private static final Pattern NAMESPACE = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private final @Nullable String namespace;
    private final Duration timeout;

    private IpCommandLinkConfig(@Nullable String namespace, Duration timeout) {
        this.namespace = namespace;
        this.timeout = timeout;
    }

    /** Configures interfaces in this process's network namespace. */
    public static IpCommandLinkConfig host() {
        return new IpCommandLinkConfig(null, Duration.ofSeconds(10));
    }

    /** Configures interfaces in the named namespace ({@code ip netns add NAME}). */
    public static IpCommandLinkConfig inNamespace(String namespace) {
        if (!NAMESPACE.matcher(namespace).matches()) {
            throw new IllegalArgumentException("network namespace: expected letters, digits, '.', '_' or '-', found \""
                    + namespace + "\"");
        }
        return new IpCommandLinkConfig(namespace, Duration.ofSeconds(10));
    }

    @Override
    public void up(String device, int mtu) throws IOException {
        if (mtu < 68) {
            throw new IllegalArgumentException("MTU of " + device + ": expected at least 68 bytes (the IPv4 minimum), found "
                    + mtu);
        }
        // no IPv6 link-local address: without one the kernel sends no router solicitations, MLD reports
        // or duplicate address detection into the tunnel, chatter the gateway would only drop (an
        // assigned IPv6 address works without it: the link is point to point, nothing to discover)
        ip(List.of("link", "set", "dev", checked(device), "addrgenmode", "none"), null);
        ip(List.of("link", "set", "dev", checked(device), "mtu", Integer.toString(mtu), "up"), null);
    }

    @Override
    public void addAddress(String device, LinkAddress address) throws IOException {
        List<String> args = new ArrayList<>(List.of("address", "add", address.toString(), "dev", checked(device)));
        if (address.isIpv6()) {
            args.add("nodad"); // the tunnel has no other host on it: no point waiting a second for DAD
        }
        ip(args, null);
    }

    @Override
    public void addRoutes(String device, List<Network> routes) throws IOException {
        batch("replace", device, routes);
    }

    @Override
    public void removeRoutes(String device, List<Network> routes) throws IOException {
        batch("delete", device, routes);
    }

    private void batch(String verb, String device, List<Network> routes) throws IOException {
        if (routes.isEmpty()) {
            return;
        }
        StringBuilder lines = new StringBuilder();
        for (Network route : routes) {
            lines.append("route ").append(verb).append(' ').append(Addresses.text(route.address()))
                    .append('/').append(route.prefixLength()).append(" dev ").append(checked(device)).append('\n');
        }
        ip(List.of("-batch", "-"), lines.toString());
    }

    private void ip(List<String> args, @Nullable String input) throws IOException {
        List<String> argv = new ArrayList<>();
        argv.add("ip");
        if (namespace != null) {
            argv.add("-n");
            argv.add(namespace);
        }
        argv.addAll(args);
        Command.run(argv, input, timeout);
    }

    private static String checked(String device) {
        if (!DEVICE.matcher(device).matches()) {
            throw new IllegalArgumentException("interface name: expected 1 to 15 letters, digits, '.', '_' or '-', found \""
                    + device + "\"");
        }
        return device;
    }
}
