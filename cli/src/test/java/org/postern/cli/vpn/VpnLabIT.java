package org.postern.cli.vpn;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.postern.pki.testing.Proc;

/** The lab the VPN tests stand on: its admin services answer inside it, and closing it leaves nothing behind. */
class VpnLabIT {

    @Test
    void adminServicesAnswer_andCloseRemovesEveryNamespace() throws Exception {
        Path work = Files.createTempDirectory("vpn-lab");
        String names;
        try (VpnLab lab = VpnLab.create(work)) {
            lab.startAdmin();
            names = lab.laptop + " " + lab.gateway + " " + lab.admin;
            assertThat(lab.exec(lab.gateway, "/usr/bin/dig", "+short", "@" + VpnLab.ADMIN_HOST, "db1.admin.internal").ok().stdout())
                    .as("dnsmasq in the admin namespace, asked from the gateway's").contains(VpnLab.ADMIN_HOST);
            assertThat(lab.exec(lab.gateway, "/usr/bin/curl", "-sS", "--max-time", "5", "http://" + VpnLab.ADMIN_HOST + ":8080/")
                    .ok().stdout()).contains("hello from the admin network");
        }
        String left = Proc.run(work, Duration.ofSeconds(10), "/usr/sbin/ip", "netns", "list").ok().stdout();
        for (String ns : names.split(" ")) {
            assertThat(left).as("namespace %s removed", ns).doesNotContain(ns);
        }
    }
}
