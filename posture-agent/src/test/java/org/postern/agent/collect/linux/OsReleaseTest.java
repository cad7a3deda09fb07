package org.postern.agent.collect.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

class OsReleaseTest {

    @Test
    void parse_debian12() {
        Map<String, String> r = OsRelease.parse(Fixtures.text("luks2-laptop", "etc/os-release"));
        assertThat(r).containsEntry("ID", "debian").containsEntry("VERSION_ID", "12")
                .containsEntry("PRETTY_NAME", "Debian GNU/Linux 12 (bookworm)").containsEntry("VERSION_CODENAME", "bookworm");
    }

    @Test
    void parse_ubuntu2204_quotedValues() {
        Map<String, String> r = OsRelease.parse(Fixtures.text("lvm-on-luks", "etc/os-release"));
        assertThat(r).containsEntry("ID", "ubuntu").containsEntry("VERSION_ID", "22.04")
                .containsEntry("PRETTY_NAME", "Ubuntu 22.04.4 LTS").containsEntry("ID_LIKE", "debian");
    }

    @Test
    void parse_fedora39_unquotedVersion() {
        Map<String, String> r = OsRelease.parse(Fixtures.text("luks-on-lvm", "etc/os-release"));
        assertThat(r).containsEntry("ID", "fedora").containsEntry("VERSION_ID", "39")
                .containsEntry("VERSION_CODENAME", "").containsEntry("PRETTY_NAME", "Fedora Linux 39 (Workstation Edition)");
    }

    @Test
    void parse_commentsSingleQuotesAndEscapes() {
        Map<String, String> r = OsRelease.parse("""
                # a comment
                NAME='Single Quoted'
                PRETTY_NAME="A \\"quoted\\" \\$name"
                  ID=arch  
                BROKEN LINE
                =novalue
                """);
        assertThat(r).containsEntry("NAME", "Single Quoted").containsEntry("PRETTY_NAME", "A \"quoted\" $name")
                .containsEntry("ID", "arch").hasSize(3);
    }
}
