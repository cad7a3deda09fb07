package org.postern.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16, server: the release build's tarball and Debian package, checked for real. The package is
 * installed with dpkg into a scratch root (its postinst runs there chrootless and creates the
 * postern user in that root's account files), its {@code postern} runs on the bundled jlinked
 * runtime, its man pages render with {@code man -l}, its completion completes, and
 * {@code systemd-analyze verify} checks its units. The release build runs once per test JVM
 * ({@link ReleaseBuild}: packaging/build.sh, as {@code -Prelease package} does), unless that profile has just built it.
 */
class ServerPackageIT {
    static final Path RELEASE = ReleaseBuild.RELEASE;
    static final String VERSION = ReleaseBuild.VERSION;

    @TempDir
    static Path scratch;

    static Path root;
    static Path deb;
    static Path tarball;

    @BeforeAll
    static void buildAndInstall() throws Exception {
        ReleaseBuild.ensureBuilt();
        deb = RELEASE.resolve("postern_" + VERSION.replace('-', '~') + "_amd64.deb");
        tarball = RELEASE.resolve("postern-" + VERSION + "-linux-x86_64.tar.gz");
        assertThat(deb).isRegularFile();
        assertThat(tarball).isRegularFile();

        // a scratch root with dpkg's database and account files holding root only
        root = scratch.resolve("root");
        Files.createDirectories(root.resolve("var/lib/dpkg/info"));
        Files.createDirectories(root.resolve("var/lib/dpkg/updates"));
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("var/lib/dpkg/status"), "");
        Files.writeString(root.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        Files.writeString(root.resolve("etc/group"), "root:x:0:\n");
        Files.writeString(root.resolve("etc/shadow"), "root:*:19000:0:99999:7:::\n");
        Files.writeString(root.resolve("etc/gshadow"), "root:*::\n");
        // --force-depends: the scratch root has no adduser or libc6 package; the runtime uses the host's libc
        Result install = run(Map.of(), 120, "dpkg", "--root=" + root, "--force-not-root", "--force-script-chrootless",
                "--force-depends", "--log=/dev/null", "-i", deb.toString());
        assertThat(install.code()).as("dpkg -i: %s", install.output()).isZero();
    }

    @Test
    void tarball_holdsTheReleaseLayout() throws Exception {
        Result r = run(Map.of(), 60, "tar", "tzf", tarball.toString());
        String top = "postern-" + VERSION + "-linux-x86_64/";
        assertThat(r.output()).contains(top + "bin/postern", top + "bin/postern-ready", top + "lib/postern-cli.jar",
                top + "runtime/bin/java", top + "config/gateway.yaml", top + "config/pki.yaml",
                top + "systemd/postern-gateway.service", top + "systemd/postern-pki.service",
                top + "man/man1/postern.1", top + "man/man1/postern-gateway-run.1", top + "completion/postern.bash",
                top + "Containerfile");
    }

    @Test
    void deb_control_namesTheConffiles() throws Exception {
        Result fields = run(Map.of(), 30, "dpkg-deb", "-f", deb.toString(), "Package", "Version", "Architecture");
        assertThat(fields.output()).contains("Package: postern", "Version: " + VERSION.replace('-', '~'), "Architecture: amd64");
        Result conffiles = run(Map.of(), 30, "dpkg-deb", "--info", deb.toString(), "conffiles");
        assertThat(conffiles.output()).contains("/etc/postern/gateway.yaml", "/etc/postern/pki.yaml");
    }

    @Test
    void installed_postinst_createsUserAndDataDir() throws IOException {
        String passwd = Files.readString(root.resolve("etc/passwd"));
        assertThat(passwd).containsPattern("(?m)^postern:x:\\d+:\\d+:Postern gateway:/var/lib/postern:/usr/sbin/nologin$");
        int uid = Integer.parseInt(passwd.lines().filter(l -> l.startsWith("postern:")).findFirst().orElseThrow().split(":")[2]);

        PosixFileAttributes data = Files.readAttributes(root.resolve("var/lib/postern"), PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        assertThat(PosixFilePermissions.toString(data.permissions())).isEqualTo("rwx------");
        assertThat((Integer) Files.getAttribute(root.resolve("var/lib/postern"), "unix:uid")).isEqualTo(uid);
        PosixFileAttributes conf = Files.readAttributes(root.resolve("etc/postern/gateway.yaml"), PosixFileAttributes.class);
        assertThat(PosixFilePermissions.toString(conf.permissions())).isEqualTo("rw-r-----");
        assertThat(Files.readString(root.resolve("var/lib/dpkg/status"))).contains("Package: postern", "Status: install ok installed");
    }

    @Test
    void installed_postern_runsOnTheBundledRuntime() throws Exception {
        Path postern = root.resolve("usr/bin/postern");
        assertThat(Files.isSymbolicLink(postern)).isTrue();
        assertThat(postern.toRealPath()).isEqualTo(root.resolve("usr/lib/postern/bin/postern").toRealPath());

        // no JDK on PATH: the wrapper must use runtime/ beside it
        Result version = run(Map.of("PATH", "/usr/bin:/bin", "JAVA_HOME", "/nonexistent"), 60, postern.toString(), "--version");
        assertThat(version.code()).as(version.output()).isZero();
        assertThat(version.output().strip()).isEqualTo("postern 0.1.0");
        assertThat(root.resolve("usr/lib/postern/runtime/bin/java")).isExecutable();
        assertThat(root.resolve("usr/lib/postern/runtime/lib/modules")).isRegularFile();
    }

    @Test
    void installed_gatewayRun_readsTheInstalledConffile() throws Exception {
        // the installed /etc/postern/gateway.yaml, found without --config (here in the scratch root) and valid:
        // the command goes as far as looking for the CA in its dataDir
        Result r = run(Map.of("POSTERN_JAVA_OPTS", "-Dpostern.etc=" + root.resolve("etc/postern")), 60,
                root.resolve("usr/bin/postern").toString(), "gateway", "run");
        assertThat(r.output()).contains("no CA in /var/lib/postern; create one with: postern pki init --dir /var/lib/postern");
        assertThat(r.code()).isEqualTo(3);
    }

    @Test
    void installed_gateway_startsOnTheBundledRuntime_notifiesReady_andPosternReadySeesIt() throws Exception {
        // the jlinked runtime must hold every JDK module the gateway reaches at run time (jdeps cannot see
        // them all): a CA made and a gateway served by the installed postern, answering EST over TLS 1.3
        Path postern = root.resolve("usr/bin/postern");
        Path data = scratch.resolve("gw-data");
        Path pass = Files.writeString(scratch.resolve("ca.passphrase"), "packaging test passphrase 16\n");
        Result init = run(Map.of(), 120, postern.toString(), "pki", "init", "--dir", data.toString(), "--passphrase-file", pass.toString());
        assertThat(init.code()).as(init.output()).isZero();
        int tunnel = freePort();
        int admin = freePort();
        int ssh = freePort();
        Path config = Files.writeString(scratch.resolve("gw.yaml"), "dataDir: " + data + "\nlisteners:\n  tunnel: 127.0.0.1:" + tunnel
                + "\n  admin: 127.0.0.1:" + admin + "\n  ssh: 127.0.0.1:" + ssh + "\n");
        Path log = scratch.resolve("gateway.log");
        // systemd's side of Type=notify: a Unix datagram socket (bound by python3: the JDK cannot receive on one)
        Path notifySocket = scratch.resolve("notify.sock");
        Process systemd = new ProcessBuilder("python3", "-c", """
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                s.bind(sys.argv[1]); s.settimeout(90)
                print("bound", flush=True)
                print(s.recv(4096).decode(), end="")
                """, notifySocket.toString()).redirectErrorStream(true).start();
        var notified = new java.io.BufferedReader(new java.io.InputStreamReader(systemd.getInputStream(), StandardCharsets.UTF_8));
        assertThat(CompletableFuture.supplyAsync(() -> readLine(notified)).get(20, TimeUnit.SECONDS)).isEqualTo("bound");
        ProcessBuilder gatewayRun = new ProcessBuilder(postern.toString(), "gateway", "run", "--config", config.toString(),
                "--passphrase-file", pass.toString()).redirectErrorStream(true).redirectOutput(log.toFile());
        gatewayRun.environment().put("NOTIFY_SOCKET", notifySocket.toString());
        Process gateway = gatewayRun.start();
        try {
            assertThat(systemd.waitFor(90, TimeUnit.SECONDS)).as("READY=1 within 90 s; gateway log: %s", Files.readString(log)).isTrue();
            assertThat(CompletableFuture.supplyAsync(() -> readLine(notified)).get(5, TimeUnit.SECONDS)).isEqualTo("READY=1");

            Path ready = root.resolve("usr/lib/postern/bin/postern-ready");
            Result r = run(Map.of(), 90, ready.toString(), "127.0.0.1:" + tunnel, "60");
            assertThat(r.code()).as("postern-ready: %s; gateway log: %s", r.output(), Files.readString(log)).isZero();

            Result est = run(Map.of(), 30, "curl", "-sS", "--insecure", "--tlsv1.3", "-o", "/dev/null", "-w", "%{http_code}",
                    "https://127.0.0.1:" + tunnel + "/.well-known/est/cacerts");
            assertThat(est.output()).as("EST cacerts; gateway log: %s", Files.readString(log)).isEqualTo("200");
            assertThat(Files.readString(log)).contains("listening on https://127.0.0.1:" + tunnel)
                    .doesNotContain("NoClassDefFoundError", "ClassNotFoundException", "UnsatisfiedLinkError");
        } finally {
            systemd.destroyForcibly();
            gateway.destroy();
            if (!gateway.waitFor(30, TimeUnit.SECONDS)) {
                gateway.destroyForcibly();
            }
        }
        // the same check against a port nobody listens on: bounded, and it says what it expected
        Result none = run(Map.of(), 30, root.resolve("usr/lib/postern/bin/postern-ready").toString(), "127.0.0.1:" + freePort(), "1");
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.output()).contains("postern-ready: expected a listener on 127.0.0.1:", "within 1s, found none");
    }

    @Test
    void reinstall_keepsTheOperatorsConffileEdits() throws Exception {
        Path conf = root.resolve("etc/postern/gateway.yaml");
        String edited = Files.readString(conf).replace("tunnel: 127.0.0.1:8443", "tunnel: 0.0.0.0:8443");
        assertThat(edited).contains("tunnel: 0.0.0.0:8443");
        Files.writeString(conf, edited);

        Result again = run(Map.of(), 120, "dpkg", "--root=" + root, "--force-not-root", "--force-script-chrootless",
                "--force-depends", "--force-confold", "--log=/dev/null", "-i", deb.toString());

        assertThat(again.code()).as(again.output()).isZero();
        assertThat(Files.readString(conf)).isEqualTo(edited);
        assertThat(Files.readString(root.resolve("etc/passwd")).lines().filter(l -> l.startsWith("postern:"))).hasSize(1);
    }

    @Test
    void release_hasTheAgentsManPagesAndCompletionToo() {
        Path agent = RELEASE.resolve("docs/postern-agent");
        assertThat(agent.resolve("man1/postern-agent.1")).isRegularFile();
        assertThat(agent.resolve("man1/postern-agent-up.1")).isRegularFile();
        assertThat(agent.resolve("postern-agent.bash")).isRegularFile();
    }

    private static String readLine(java.io.BufferedReader in) {
        try {
            return in.readLine();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int freePort() throws IOException {
        return org.postern.pki.testing.FreePorts.next();
    }

    @Test
    void installed_manPages_render() throws Exception {
        Path man1 = root.resolve("usr/share/man/man1");
        try (Stream<Path> pages = Files.list(man1)) {
            assertThat(pages.map(p -> p.getFileName().toString()).toList())
                    .contains("postern.1.gz", "postern-gateway.1.gz", "postern-gateway-run.1.gz", "postern-pki-serve.1.gz",
                            "postern-audit-verify.1.gz");
        }
        Result r = run(Map.of("MANWIDTH", "100"), 60, "man", "-P", "cat", "-l", man1.resolve("postern-gateway-run.1.gz").toString());
        assertThat(r.code()).as(r.output()).isZero();
        String text = r.output().replaceAll(".\b", ""); // overstrike bold of nroff
        assertThat(text).contains("postern-gateway-run", "--config", "/etc/postern/gateway.yaml", "--passphrase-file")
                .doesNotContain("<<", "::", "*--config*"); // AsciiDoc markup left unrendered
    }

    @Test
    void installed_bashCompletion_completesSubcommands() throws Exception {
        Path completion = root.resolve("usr/share/bash-completion/completions/postern");
        String script = "source '" + completion + "'\n"
                + "COMP_WORDS=(postern gat); COMP_CWORD=1; COMP_LINE='postern gat'; COMP_POINT=${#COMP_LINE}\n"
                + "_complete_postern postern gat postern; printf '%s\\n' \"${COMPREPLY[@]}\"\n";
        Result r = run(Map.of(), 30, "bash", "-c", script);
        assertThat(r.code()).as(r.output()).isZero();
        assertThat(r.output().lines().map(String::strip).toList()).containsExactly("gateway");
    }

    @Test
    void installed_units_passSystemdAnalyzeVerify() throws Exception {
        // verify --root resolves everything inside the scratch root: give it what a real system has there,
        // the host's targets (the units' default dependencies) and /bin/kill (ExecReload)
        Path targets = Files.createDirectories(root.resolve("usr/lib/systemd/system"));
        try (Stream<Path> host = Files.list(Path.of("/usr/lib/systemd/system"))) {
            for (Path t : host.filter(p -> p.toString().endsWith(".target")).toList()) {
                Files.copy(t, targets.resolve(t.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.createDirectories(root.resolve("bin"));
        Files.copy(Path.of("/bin/kill"), root.resolve("bin/kill"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        for (String unit : List.of("postern-gateway.service", "postern-pki.service")) {
            Result r = run(Map.of(), 60, "systemd-analyze", "verify", "--man=no", "--root=" + root,
                    "/lib/systemd/system/" + unit);
            assertThat(r.code()).as("systemd-analyze verify %s: %s", unit, r.output()).isZero();
            // an unknown or misspelt setting is only a warning ("Unknown key …, ignoring"): it must not be there either
            assertThat(r.output()).as(unit).doesNotContainIgnoringCase("unknown").doesNotContainIgnoringCase("ignoring");
        }
        String gateway = Files.readString(root.resolve("lib/systemd/system/postern-gateway.service"));
        assertThat(gateway).contains("User=postern", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
                "ProtectHome=yes", "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE",
                "ReadWritePaths=/var/lib/postern", "ExecReload=/bin/kill -HUP $MAINPID", "Type=notify", "NotifyAccess=main");
        // the system call filter, EPERM for the rest, other users' processes hidden: in both (verified above, never started here)
        for (String unit : List.of("postern-gateway.service", "postern-pki.service")) {
            assertThat(Files.readAllLines(root.resolve("lib/systemd/system/" + unit))).as(unit)
                    .contains("SystemCallFilter=@system-service", "SystemCallErrorNumber=EPERM", "ProtectProc=invisible");
        }
    }

    record Result(int code, String output) {
    }

    /** Runs a command with a time bound, standard error merged into the output. */
    static Result run(Map<String, String> env, long seconds, String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(List.of(command))).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
            try (var in = p.getInputStream()) {
                return in.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + ": still running after " + seconds + " s");
        }
        try {
            return new Result(p.exitValue(), new String(out.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8));
        } catch (ExecutionException | TimeoutException e) {
            throw new AssertionError(String.join(" ", command) + ": its output could not be read: " + e, e);
        }
    }
}
