package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FilePermissionCheckTest {
    @TempDir
    Path tmp;
    Path data;
    Path trail;

    @BeforeEach
    void layout() throws Exception {
        data = Files.createDirectory(tmp.resolve("data"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.createDirectories(data.resolve("ca"));
        secret(data.resolve("ca/issuing.key"));
        secret(data.resolve("audit.key"));
        secret(data.resolve("registry.db"));
        Files.writeString(data.resolve("ca/issuing.crt"), "public"); // not a secret: any mode
        trail = Files.createDirectories(data.resolve("audit/trail"));
        Files.setPosixFilePermissions(trail, PosixFilePermissions.fromString("rwxr-x---")); // whatever the umask
    }

    private static void secret(Path f) throws Exception {
        Files.writeString(f, "secret");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
    }

    private List<Finding> run(Path... extra) throws Exception {
        return new FilePermissionCheck(data, List.of(extra), trail).run();
    }

    @Test
    void ownerOnly_isInfo() throws Exception {
        List<Finding> f = run();
        assertThat(f).singleElement().satisfies(i -> {
            assertThat(i.severity()).isEqualTo(Severity.INFO);
            assertThat(i.message()).isEqualTo("dataDir " + data + " and its 3 private keys and registry files are owner-only");
        });
    }

    @Test
    void groupReadableKey_isCritical_withChmod() throws Exception {
        Files.setPosixFilePermissions(data.resolve("audit.key"), PosixFilePermissions.fromString("rw-r-----"));
        Finding c = Findings.only(run(), Severity.CRITICAL);
        assertThat(c.message()).isEqualTo(data.resolve("audit.key") + " has mode rw-r-----: expected owner-only (rw-------),"
                + " found group or others may read it");
        assertThat(c.fix()).isEqualTo("chmod 600 " + data.resolve("audit.key"));
    }

    @Test
    void worldWritableConfiguredServerKey_outsideData_isCritical() throws Exception {
        Path tlsKey = Files.writeString(tmp.resolve("server.key"), "secret");
        Files.setPosixFilePermissions(tlsKey, PosixFilePermissions.fromString("rw-rw-rw-"));
        Finding c = Findings.only(run(tlsKey), Severity.CRITICAL);
        assertThat(c.message()).startsWith(tlsKey + " has mode rw-rw-rw-").endsWith("may write it");
    }

    @Test
    void dataDirReadableByOthers_isCritical() throws Exception {
        Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));
        Finding c = Findings.only(run(), Severity.CRITICAL);
        assertThat(c.message()).isEqualTo("dataDir " + data + " has mode rwxr-xr-x: group or others may enter it");
        assertThat(c.fix()).isEqualTo("chmod 700 " + data);
    }

    @Test
    void groupWritableTrail_isCritical() throws Exception {
        Files.setPosixFilePermissions(trail, PosixFilePermissions.fromString("rwxrwx---"));
        Finding c = Findings.only(run(), Severity.CRITICAL);
        assertThat(c.message()).startsWith("audit.dir " + trail + " has mode rwxrwx---");
    }

    @Test
    void missingDataDir_isCritical() throws Exception {
        Finding c = Findings.only(new FilePermissionCheck(tmp.resolve("none"), List.of(), trail).run(), Severity.CRITICAL);
        assertThat(c.message()).isEqualTo("dataDir " + tmp.resolve("none") + ": expected the data directory, found nothing");
    }
}
