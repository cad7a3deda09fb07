package org.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's test command ({@code ./mvnw -B verify}) and {@code ./postern} find a JDK 25 through the
 * one lookup they share ({@code bin/find-jdk}) on a machine whose default java is another version
 * (issue 11 item 11: {@code release version 25 not supported}), or fail with one line saying what to install.
 * The other version is a stand-in {@code java} script that answers like a JDK 17, so the test needs no
 * second JDK on the machine; the JDK 25 is the one running this test, offered under a directory the
 * lookup is pointed at with {@code POSTERN_JDK_DIRS}.
 */
class JdkLookupIT {
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @TempDir
    Path tmp;
    Path fake17;
    Path jdks;
    Path none;

    record Result(int code, String out) {}

    @BeforeEach
    void setUp() throws IOException {
        fake17 = tmp.resolve("fake-jdk-17");
        Files.createDirectories(fake17.resolve("bin"));
        Path java = fake17.resolve("bin/java");
        Files.writeString(java, """
                #!/bin/sh
                # answers like a JDK 17 (what -XshowSettings:properties -version prints, on stderr)
                echo 'Property settings:' >&2
                echo '    java.home = %s' >&2
                echo '    java.specification.version = 17' >&2
                echo 'openjdk version "17.0.2" 2022-01-18' >&2
                """.formatted(fake17));
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        jdks = Files.createDirectories(tmp.resolve("jvm"));
        Files.createSymbolicLink(jdks.resolve("temurin-25-jdk"), Path.of(System.getProperty("java.home")));
        none = Files.createDirectories(tmp.resolve("no-jdks"));
    }

    @AfterEach
    void unlinkJdk() throws IOException {
        Files.deleteIfExists(jdks.resolve("temurin-25-jdk")); // the link only, before JUnit walks the temp dir
    }

    /** Runs a command in the repository root with JAVA_HOME unset, the stand-in java 17 first on PATH. */
    private Result run(Map<String, String> env, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(List.of(command)).directory(ROOT.toFile()).redirectErrorStream(true);
        pb.environment().remove("JAVA_HOME");
        pb.environment().put("PATH", fake17.resolve("bin") + ":/usr/bin:/bin");
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("%s finished", String.join(" ", command)).isTrue();
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    @Test
    void mvnw_defaultJavaIs17AndNoJavaHome_runsMavenOnJdk25() throws Exception {
        Result r = run(Map.of("POSTERN_JDK_DIRS", jdks.toString()), "./mvnw", "-v");
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("Java version: 25");
    }

    @Test
    void mvnw_javaHomeIsA17_saysSoAndRunsMavenOnJdk25() throws Exception {
        Result r = run(Map.of("POSTERN_JDK_DIRS", jdks.toString(), "JAVA_HOME", fake17.toString()), "./mvnw", "-v");
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out())
                .contains("mvnw: JAVA_HOME " + fake17 + " is not a JDK 25; using " + jdks.resolve("temurin-25-jdk"))
                .contains("Java version: 25");
    }

    @Test
    void mvnw_noJdk25Anywhere_failsWithOneLineNamingWhatToInstallAndWhatWasFound() throws Exception {
        Result r = run(Map.of("POSTERN_JDK_DIRS", none.toString()), "./mvnw", "-v");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).isEqualTo("mvnw: needs JDK 25; install e.g. temurin-25-jdk or openjdk-25-jdk under " + none
                + ", or set JAVA_HOME to a JDK 25 (found: java 17 at " + fake17 + ")\n");
    }

    @Test
    void mvnw_javaHomeMissingAndNoJdk25_failsWithOneLine() throws Exception {
        Result r = run(Map.of("POSTERN_JDK_DIRS", none.toString(), "JAVA_HOME", tmp.resolve("gone").toString()),
                "./mvnw", "-v");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).startsWith("mvnw: needs JDK 25; install e.g. temurin-25-jdk").endsWith("(found: java 17 at " + fake17 + ")\n")
                .hasLineCount(1);
    }

    @Test
    void postern_noJdk25Anywhere_failsWithTheSameLineBeforeBuilding() throws Exception {
        Result r = run(Map.of("POSTERN_JDK_DIRS", none.toString()), "./postern", "--help");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEqualTo("postern: needs JDK 25; install e.g. temurin-25-jdk or openjdk-25-jdk under " + none
                + ", or set JAVA_HOME to a JDK 25 (found: java 17 at " + fake17 + ")\n");
    }
}
