package org.postern.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.packaging.ReleaseBuild.RELEASE;
import static org.postern.packaging.ReleaseBuild.VERSION;
import static org.postern.packaging.ServerPackageIT.run;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.packaging.ServerPackageIT.Result;
import org.postern.pki.testing.TestPki;

/**
 * The tarball's {@code Containerfile}, built for real with buildah (no container engine runs here:
 * buildah builds and runs with chroot isolation and the vfs storage driver, in storage of this test's
 * own) and the image it makes inspected and run.
 *
 * <p>The recipe starts {@code FROM docker.io/library/debian:bookworm-slim}. No image registry is
 * reachable from CI, so that name is given to a Debian bookworm root made by {@code debootstrap
 * --variant=minbase} (what {@code .ci/run} makes, at {@code postern.container.base}) and imported into
 * the test's storage; the build then runs with {@code --pull=never}, every instruction of the recipe
 * as written.
 */
class ContainerImageIT {
    static final Path BASE = Path.of(System.getProperty("postern.container.base", "/var/cache/postern/debian-bookworm-minbase"));
    static final String IMAGE = "localhost/postern-gateway:it";

    @TempDir
    static Path scratch;

    static Path storage;
    static String container;

    @BeforeAll
    static void buildTheImage() throws Exception {
        assertThat(BASE.resolve("etc/debian_version"))
                .as("a Debian bookworm root for the image's FROM, made by .ci/run with: debootstrap --variant=minbase bookworm "
                        + BASE + " http://deb.debian.org/debian")
                .isRegularFile();
        assertThat(run(Map.of(), 30, "buildah", "--version").code()).as("buildah (Debian package buildah) on PATH").isZero();
        ReleaseBuild.ensureBuilt();
        Path tarball = RELEASE.resolve("postern-" + VERSION + "-linux-x86_64.tar.gz");
        assertThat(tarball).isRegularFile();

        storage = ReleaseBuild.MODULE.resolve("target/container-storage");
        TestPki.deleteTree(storage);
        // the base image under the name the recipe asks for
        String base = ok(60, "from", "scratch").strip();
        String mount = ok(60, "mount", base).strip();
        Result copy = run(Map.of(), 300, "cp", "-a", BASE + "/.", mount + "/");
        assertThat(copy.code()).as("copying the Debian root: %s", copy.output()).isZero();
        ok(60, "umount", base);
        ok(300, "commit", "--quiet", base, "docker.io/library/debian:bookworm-slim");
        ok(60, "rm", base);

        // the recipe, as the docs say: from the unpacked tarball's top directory
        Result untar = run(Map.of(), 120, "tar", "xzf", tarball.toString(), "-C", scratch.toString());
        assertThat(untar.code()).as("tar xzf: %s", untar.output()).isZero();
        Path top = scratch.resolve("postern-" + VERSION + "-linux-x86_64");
        assertThat(top.resolve("Containerfile")).isRegularFile();
        ok(900, "build", "--isolation", "chroot", "--pull=never", "--layers=false", "-t", IMAGE, "-f",
                top.resolve("Containerfile").toString(), top.toString());
        container = ok(60, "from", "--pull=never", IMAGE).strip();
    }

    @AfterAll
    static void removeTheStorage() throws Exception {
        if (storage != null && Files.isDirectory(storage)) {
            run(Map.of(), 120, buildah("rm", "--all"));
            run(Map.of(), 120, buildah("rmi", "--all", "--force"));
            TestPki.deleteTree(storage);
        }
    }

    @Test
    void image_runsAsPostern_withTheEntrypointPortsAndVolumeOfTheRecipe() throws Exception {
        assertThat(inspect("{{.OCIv1.Config.User}}")).isEqualTo("postern:postern");
        // buildah 1.28's templates have no json function: Go's own printing of a slice and of maps
        assertThat(inspect("{{.OCIv1.Config.Entrypoint}}"))
                .isEqualTo("[/usr/bin/postern gateway run --passphrase-file /run/secrets/ca-passphrase]");
        assertThat(inspect("{{range $p, $v := .OCIv1.Config.ExposedPorts}}{{$p}} {{end}}").split(" "))
                .containsExactlyInAnyOrder("2222/tcp", "8443/tcp", "8443/udp");
        assertThat(inspect("{{range $p, $v := .OCIv1.Config.Volumes}}{{$p}} {{end}}")).isEqualTo("/var/lib/postern");
    }

    @Test
    void postern_runsInTheImage_asUid10001_onItsOwnRuntime_withoutAJdk() throws Exception {
        assertThat(inContainer("id -u; id -g").lines()).containsExactly("10001", "10001");
        assertThat(inContainer("/usr/bin/postern --version").strip()).isEqualTo("postern " + VERSION.replaceFirst("-SNAPSHOT$", ""));
        // the runtime is the jlinked one under /usr/lib/postern; the image has no other Java
        assertThat(inContainer("command -v java || echo none").strip()).isEqualTo("none");
        assertThat(inContainer("ls /usr/lib/postern/runtime/bin/java")).contains("/usr/lib/postern/runtime/bin/java");
        assertThat(inContainer("/usr/bin/postern gateway run --help")).contains("--passphrase-file");
    }

    @Test
    void dataDirectory_isPosternsAlone_andTheSettingsAreWhereTheGatewayLooks() throws Exception {
        assertThat(inContainer("stat -c '%u:%g %a' /var/lib/postern").strip()).isEqualTo("10001:10001 700");
        assertThat(inContainer("test -r /etc/postern/gateway.yaml && echo readable").strip()).isEqualTo("readable");
        // postern (not root) cannot write outside its data directory
        assertThat(inContainer("touch /usr/lib/postern/x 2>/dev/null && echo wrote || echo refused").strip()).isEqualTo("refused");
        assertThat(inContainer("touch /var/lib/postern/x && echo wrote").strip()).isEqualTo("wrote");
    }

    private static String inContainer(String script) throws Exception {
        return ok(120, "run", "--isolation", "chroot", container, "--", "/bin/sh", "-c", script);
    }

    private static String inspect(String format) throws Exception {
        return ok(60, "inspect", "--type", "image", "--format", format, IMAGE).strip();
    }

    /** A buildah command on the test's own storage; fails with its output unless it exits 0. */
    private static String ok(long seconds, String... args) throws Exception {
        Result r = run(Map.of(), seconds, buildah(args));
        assertThat(r.code()).as("buildah %s: %s", String.join(" ", args), r.output()).isZero();
        return r.output();
    }

    private static String[] buildah(String... args) {
        List<String> cmd = new ArrayList<>(List.of("buildah", "--root", storage.resolve("root").toString(),
                "--runroot", storage.resolve("run").toString(), "--storage-driver", "vfs"));
        cmd.addAll(List.of(args));
        return cmd.toArray(String[]::new);
    }
}
