package org.postern.vpn.link;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;

/** Child JVM for {@code DnsConfigTest}: applies DNS to a given resolv.conf, says READY, then waits to be killed. */
public final class ApplyDnsChild {

    private ApplyDnsChild() {
    }

    public static void main(String[] args) throws Exception {
        DnsConfig dns = new DnsConfig(Path.of(args[0]), Path.of(args[1]), Path.of(args[0], "no-resolved"), "resolvectl");
        dns.apply("pt0", List.of(InetAddress.ofLiteral("10.88.0.53")), List.of("admin.internal"));
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(60_000);
    }
}
