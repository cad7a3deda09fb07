package org.postern.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;

/**
 * The release build the package tests check, made once per test JVM: {@code ServerPackageIT},
 * {@code AgentPackageIT} and {@code ContainerImageIT} look at the artifacts of one run of packaging/build.sh (as {@code -Prelease
 * package} runs it), or at those that profile has just built.
 */
final class ReleaseBuild {
    static final Path MODULE = Path.of("").toAbsolutePath();
    static final Path RELEASE = MODULE.resolve("target/release");
    static final String VERSION = System.getProperty("postern.version", "0.1.0-SNAPSHOT");
    static final String DEB_VERSION = VERSION.replace('-', '~');

    private static boolean built;

    private ReleaseBuild() {
    }

    /** Runs build.sh unless this JVM ran it already or {@code -Prelease} built the artifacts; fails with its output. */
    static synchronized void ensureBuilt() throws Exception {
        if (built || Boolean.getBoolean("postern.release.prebuilt")) {
            return;
        }
        ServerPackageIT.Result r = ServerPackageIT.run(Map.of(), 600, "bash", MODULE.resolve("build.sh").toString(), VERSION);
        assertThat(r.code()).as("packaging/build.sh %s: %s", VERSION, r.output()).isZero();
        built = true;
    }
}
