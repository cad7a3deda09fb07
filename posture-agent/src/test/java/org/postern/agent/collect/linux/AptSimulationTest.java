package org.postern.agent.collect.linux;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AptSimulationTest {

    @Test
    void parse_debianSecurityOrigin() {
        var p = AptSimulation.parse(Fixtures.text("luks2-laptop", "commands/apt-get-dist-upgrade.txt"));
        assertThat(p.total()).isEqualTo(5);
        assertThat(p.security()).containsExactly("libgcrypt20", "liblzma5", "libzstd1");
    }

    @Test
    void parse_ubuntuJammySecurity() {
        var p = AptSimulation.parse(Fixtures.text("lvm-on-luks", "commands/apt-get-dist-upgrade.txt"));
        assertThat(p.total()).isEqualTo(3);
        assertThat(p.security()).containsExactly("libssl3", "openssl");
    }

    @Test
    void parse_nothingToDo_isZero() {
        var p = AptSimulation.parse(Fixtures.text("plain-ext4", "commands/apt-get-dist-upgrade.txt"));
        assertThat(p.total()).isZero();
        assertThat(p.security()).isEmpty();
    }

    @Test
    void parse_newPackageWithoutInstalledVersion_andOldDebianSecurityArchive() {
        var p = AptSimulation.parse("""
                Inst linux-image-6.1.0-18-amd64 (6.1.76-1 Debian-Security:12/stable-security [amd64])
                Inst openssl [1.1.1n-0+deb10u5] (1.1.1n-0+deb10u6 Debian-Security:10/oldoldstable [amd64])
                Inst vim [2:9.0.1378-2] (2:9.0.1378-2+deb12u1 Debian:12.5/stable [amd64])
                Inst local-tool [1.0] (1.1 localhost [all])
                Conf linux-image-6.1.0-18-amd64 (6.1.76-1 Debian-Security:12/stable-security [amd64])
                """);
        assertThat(p.total()).isEqualTo(4);
        assertThat(p.security()).containsExactly("linux-image-6.1.0-18-amd64", "openssl");
    }

    @Test
    void parse_errorOutput_countsNothing() {
        var p = AptSimulation.parse("E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem.\n");
        assertThat(p.total()).isZero();
    }
}
