package org.postern.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.postern.packaging.ServerPackageIT.run;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.agent.state.AgentHome;
import org.postern.keys.KeyFiles;
import org.postern.keys.SecureFiles;
import org.postern.packaging.ServerPackageIT.Result;
import org.postern.pki.testing.TestPki;

/**
 * Issue 16, laptop: the agent's own tarball and Debian package from the same release build. Both
 * packages are installed together with dpkg into a scratch root (a file both shipped would stop
 * dpkg), the installed {@code postern-agent} runs from {@code PATH} on its bundled runtime with no
 * JDK reachable, {@code ssh-config}'s ProxyCommand is run as printed by a real {@code ssh}, the man
 * pages render, the completion completes and {@code systemd-analyze verify} checks the unit.
 */
class AgentPackageIT {
    static final Path RELEASE = ReleaseBuild.RELEASE;
    static final String VERSION = ReleaseBuild.VERSION;

    @TempDir
    static Path scratch;

    static Path root;
    static Path deb;
    static Path serverDeb;
    static Path tarball;
    /** PATH of a laptop without a JDK: the scratch root's usr/bin and the few tools the launcher uses. */
    static String laptopPath;

    @BeforeAll
    static void buildAndInstallBoth() throws Exception {
        ReleaseBuild.ensureBuilt();
        deb = RELEASE.resolve("postern-agent_" + ReleaseBuild.DEB_VERSION + "_amd64.deb");
        serverDeb = RELEASE.resolve("postern_" + ReleaseBuild.DEB_VERSION + "_amd64.deb");
        tarball = RELEASE.resolve("postern-agent-" + VERSION + "-linux-x86_64.tar.gz");
        assertThat(deb).isRegularFile();
        assertThat(serverDeb).isRegularFile();
        assertThat(tarball).isRegularFile();

        root = scratch.resolve("root");
        Files.createDirectories(root.resolve("var/lib/dpkg/info"));
        Files.createDirectories(root.resolve("var/lib/dpkg/updates"));
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("var/lib/dpkg/status"), "");
        Files.writeString(root.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        Files.writeString(root.resolve("etc/group"), "root:x:0:\n");
        Files.writeString(root.resolve("etc/shadow"), "root:*:19000:0:99999:7:::\n");
        Files.writeString(root.resolve("etc/gshadow"), "root:*::\n");
        // both packages in one dpkg run: a path both ship stops it ("trying to overwrite …")
        Result install = run(Map.of(), 180, "dpkg", "--root=" + root, "--force-not-root", "--force-script-chrootless",
                "--force-depends", "--log=/dev/null", "-i", serverDeb.toString(), deb.toString());
        assertThat(install.code()).as("dpkg -i postern postern-agent: %s", install.output()).isZero();
        assertThat(install.output()).doesNotContain("trying to overwrite");

        Path tools = Files.createDirectories(scratch.resolve("tools"));
        for (String tool : List.of("readlink", "dirname")) {
            Files.copy(Path.of("/usr/bin", tool), tools.resolve(tool), StandardCopyOption.COPY_ATTRIBUTES);
        }
        laptopPath = root.resolve("usr/bin") + ":" + tools;
    }

    @Test
    void tarball_holdsTheAgentsLayout_andOnlyLinuxX8664NativeCode() throws Exception {
        Result r = run(Map.of(), 60, "tar", "tzf", tarball.toString());
        String top = "postern-agent-" + VERSION + "-linux-x86_64/";
        assertThat(r.output()).contains(top + "bin/postern-agent", top + "lib/postern-agent.jar", top + "runtime/bin/java",
                top + "runtime/lib/server/classes.jsa", top + "systemd/postern-agent@.service", top + "systemd/postern-agent-vpn.conf", top + "man/man1/postern-agent.1",
                top + "man/man1/postern-agent-up.1", top + "completion/postern-agent.bash", top + "config/agent.yaml.example",
                top + "lib/netty-tcnative-boringssl-static-2.0.84.Final-linux-x86_64.jar")
                // the laptop never carries the server, nor another system's native libraries
                .doesNotContain("postern-cli.jar", "postern-gateway", "-windows-", "-osx-", "linux-aarch_64");
    }

    @Test
    void deb_fieldsAndContents() throws Exception {
        Result fields = run(Map.of(), 30, "dpkg-deb", "-f", deb.toString(), "Package", "Version", "Architecture", "Depends");
        assertThat(fields.output()).contains("Package: postern-agent", "Version: " + ReleaseBuild.DEB_VERSION,
                "Architecture: amd64", "Depends: libc6, iproute2");
        Set<String> agent = contents(deb);
        assertThat(agent).contains("./usr/bin/postern-agent", "./usr/lib/postern-agent/bin/postern-agent",
                "./usr/lib/postern-agent/runtime/bin/java", "./lib/systemd/system/postern-agent@.service", "./usr/share/postern-agent/vpn.conf",
                "./usr/share/man/man1/postern-agent-up.1.gz", "./usr/share/bash-completion/completions/postern-agent",
                "./usr/share/doc/postern-agent/copyright");
        assertThat(agent).noneMatch(p -> p.startsWith("./etc/")); // no conffile: the settings are the user's agent.yaml
        // no path shipped by both (directories aside): the two install side by side
        Set<String> server = contents(serverDeb);
        Set<String> both = new HashSet<>(agent);
        both.retainAll(server);
        assertThat(both).allMatch(p -> p.endsWith("/"), "only directories in common");
        assertThat(server).noneMatch(p -> p.contains("postern-agent"));
    }

    @Test
    void installed_bothPackagesAreKnownToDpkg_andEachOwnsItsCommand() throws Exception {
        assertThat(Files.readString(root.resolve("var/lib/dpkg/status")))
                .contains("Package: postern\n", "Package: postern-agent\n").doesNotContain("half-installed", "unpacked");
        Result owner = run(Map.of(), 30, "dpkg", "--root=" + root, "-S", "/usr/bin/postern-agent", "/usr/bin/postern");
        assertThat(owner.code()).as(owner.output()).isZero();
        assertThat(owner.output().lines().toList()).containsExactlyInAnyOrder("postern-agent: /usr/bin/postern-agent", "postern: /usr/bin/postern");
    }

    @Test
    void installed_postern_and_posternAgent_runFromPath_onTheirBundledRuntimes() throws Exception {
        assertThat(run(Map.of(), 10, "env", "-i", "PATH=" + laptopPath, "/bin/sh", "-c", "command -v java").code())
                .as("no java on the test's PATH").isNotZero();
        Result agent = run(Map.of(), 60, "env", "-i", "PATH=" + laptopPath, "JAVA_HOME=/nonexistent", "/bin/sh", "-c", "postern-agent --version");
        assertThat(agent.code()).as(agent.output()).isZero();
        assertThat(agent.output().strip()).isEqualTo("postern-agent 0.1.0");
        Result server = run(Map.of(), 60, "env", "-i", "PATH=" + laptopPath, "JAVA_HOME=/nonexistent", "/bin/sh", "-c", "postern --version");
        assertThat(server.code()).as(server.output()).isZero();
        assertThat(server.output().strip()).isEqualTo("postern 0.1.0");
        assertThat(root.resolve("usr/bin/postern-agent").toRealPath()).isEqualTo(root.resolve("usr/lib/postern-agent/bin/postern-agent").toRealPath());
    }

    @Test
    void installed_check_runsTheCollectorsOnTheBundledRuntime() throws Exception {
        // the jlinked runtime must hold every JDK module the collectors, YAML and JSON reach (what jdeps cannot vouch for)
        Path home = Files.createDirectories(scratch.resolve("check-home"));
        Path policy = ReleaseBuild.MODULE.getParent().resolve("config/examples/posture-policy.yaml");
        Result r = run(Map.of(), 120, "env", "-i", "PATH=" + laptopPath + ":/usr/sbin:/sbin", "POSTERN_AGENT_HOME=" + home, "/bin/sh", "-c",
                "postern-agent check --json --policy '" + policy + "'");
        assertThat(r.code()).as(r.output()).isIn(0, 1);
        assertThat(r.output()).contains("\"compliant\"", "\"policyVersion\"")
                .doesNotContain("NoClassDefFoundError", "ClassNotFoundException", "UnsatisfiedLinkError", "unexpected error");
    }

    @Test
    void installed_sshConfig_proxyCommand_worksAsPrinted_throughUpsSocksListener() throws Exception {
        // `up` stands in as what connect reads of it: session.json naming a live pid and its SOCKS5 listener;
        // the listener is this test's, answering as the gateway's tunnel would with an SSH server's greeting
        Path home = Files.createDirectories(scratch.resolve("ssh-home"));
        try (ServerSocket socks = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socks.setSoTimeout(60_000);
            Files.writeString(home.resolve("session.json"), "{\"pid\": " + ProcessHandle.current().pid()
                    + ", \"state\": \"connected\", \"listeners\": [{\"what\": \"SOCKS5\", \"address\": \"127.0.0.1:"
                    + socks.getLocalPort() + "\"}]}");
            // its own thread: run() reads outputs on the common pool, which one blocked accept would starve
            CompletableFuture<String> asked = new CompletableFuture<>();
            Thread.ofPlatform().daemon(true).name("socks-listener").start(() -> {
                try {
                    asked.complete(serveOneSocksConnect(socks));
                } catch (RuntimeException | Error e) {
                    asked.completeExceptionally(e);
                }
            });

            Result printed = run(Map.of(), 60, "env", "-i", "PATH=" + laptopPath, "POSTERN_AGENT_HOME=" + home, "/bin/sh", "-c",
                    "postern-agent ssh-config");
            assertThat(printed.code()).as(printed.output()).isZero();
            String proxyCommand = root.resolve("usr/bin/postern-agent") + " connect %h %p";
            assertThat(printed.output()).contains("Host *.admin.internal\n    ProxyCommand " + proxyCommand + "\n");
            Path config = Files.writeString(scratch.resolve("ssh_config"), printed.output().lines()
                    .filter(l -> !l.startsWith("postern-agent:")).collect(Collectors.joining("\n", "", "\n")));

            // a real OpenSSH reads the printed block and runs its ProxyCommand with its own environment
            Result ssh = run(Map.of(), 60, "env", "-i", "PATH=" + laptopPath + ":/usr/bin", "POSTERN_AGENT_HOME=" + home,
                    "ssh", "-v", "-F", config.toString(), "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=/dev/null",
                    "-o", "StrictHostKeyChecking=no", "-o", "ConnectTimeout=30", "db1.admin.internal");
            assertThat(asked.get(60, TimeUnit.SECONDS)).isEqualTo("db1.admin.internal:22");
            assertThat(ssh.output()).contains("Executing proxy command: exec " + proxyCommand.replace("%h %p", "db1.admin.internal 22"),
                    "remote software version PosternPackageTest");
        }
    }

    @Test
    void installed_launcher_findsUpAfterItsOptions_andExpandsNoFileName() throws Exception {
        // the installed launcher beside a stand-in runtime/bin/java that prints the arguments it was given
        Path inst = Files.createDirectories(scratch.resolve("launcher/bin"));
        Files.copy(root.resolve("usr/lib/postern-agent/bin/postern-agent"), inst.resolve("postern-agent"), StandardCopyOption.COPY_ATTRIBUTES);
        Path java = Files.createDirectories(inst.resolveSibling("runtime/bin")).resolve("java");
        Files.writeString(java, "#!/bin/sh\nfor a in \"$@\"; do echo \"arg:$a\"; done\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        // a working directory holding a file: an unquoted -Dx=* would have become -Dx=ANYFILE
        Path cwd = Files.createDirectories(scratch.resolve("launcher-cwd"));
        Files.writeString(cwd.resolve("-Dx=ANYFILE"), "");
        Result up = run(Map.of(), 30, "env", "-i", "PATH=" + laptopPath, "POSTERN_JAVA_OPTS=-Dx=* -Dy=?", "CACHE_DIRECTORY=" + cwd,
                "/bin/sh", "-c", "cd '" + cwd + "' && '" + inst.resolve("postern-agent") + "' --home /h up");
        assertThat(up.code()).as(up.output()).isZero();
        List<String> args = up.output().lines().filter(l -> l.startsWith("arg:")).map(l -> l.substring(4)).toList();
        assertThat(args).as("up behind --home DIR gets up's JVM").contains("-XX:+DisableAttachMechanism", "-XX:TrimNativeHeapInterval=5000",
                        "-Dx=*", "-Dy=?")
                .doesNotContain("-Dx=ANYFILE", "-XX:TieredStopAtLevel=1")
                // no archive of its own, even where a cache directory is named: only the runtime's, root's
                .noneMatch(a -> a.contains("SharedArchive"));
        assertThat(args.subList(args.size() - 3, args.size())).containsExactly("--home", "/h", "up");

        Result shortCommand = run(Map.of(), 30, "env", "-i", "PATH=" + laptopPath, "/bin/sh", "-c",
                "'" + inst.resolve("postern-agent") + "' --home=/up status up");
        assertThat(shortCommand.output()).contains("arg:-XX:TieredStopAtLevel=1").doesNotContain("DisableAttachMechanism");
    }

    @Test
    void installed_up_asAnUnprivilegedUser_withTheVpnDropIn_opensItsTunDevice_andWithTheBaseUnitRefuses() throws Exception {
        // what the unit with the administrator's vpn.conf gives up (User=%i, the capability sets as systemd merges the
        // two files, NoNewPrivileges), given with setpriv to the installed postern-agent running as uid 65534: that
        // one capability is enough for the VPN mode's TUN device, and with the base unit alone up refuses
        assertThat(Path.of("/usr/bin/setpriv")).as("setpriv (Debian util-linux) runs the agent as the unit would").exists();
        assertThat(run(Map.of(), 10, "id", "-u").output().strip()).as("this test needs root (setpriv --reuid), as CI runs it").isEqualTo("0");
        List<String> base = Files.readAllLines(root.resolve("lib/systemd/system/postern-agent@.service"));
        List<String> dropIn = Files.readAllLines(root.resolve("usr/share/postern-agent/vpn.conf"));
        Set<String> vpnBounding = capabilities("CapabilityBoundingSet", base, dropIn);
        Set<String> vpnAmbient = capabilities("AmbientCapabilities", base, dropIn);
        assertThat(vpnBounding).containsExactly("CAP_NET_ADMIN");
        assertThat(vpnAmbient).containsExactly("CAP_NET_ADMIN");
        Path dir = scratch.resolve("vpn-home");
        TestPki pki = TestPki.create();
        TestPki.Enrolled e = pki.enroll("laptop-pkg", "alice");
        AgentHome home = new AgentHome(dir);
        SecureFiles.privateDirectory(dir);
        SecureFiles.createSecret(home.keyFile(), KeyFiles.plainPem(e.keys().getPrivate()));
        // a gateway address nobody listens on: up opens its TUN device first, then fails to connect, and says so
        home.saveEnrollment(new AgentHome.Enrollment("https://127.0.0.1:9", pki.ca.rootSha256(), "laptop-pkg",
                Instant.now(), home.fileKey()), e.certificate(), pki.ca.chain());
        Files.writeString(dir.resolve("agent.yaml"), "socks: {enabled: false}\nssh: {enabled: false}\nvpn: {enabled: true, interface: pt-pkgtest}\n");
        // a directory of that user's, named as an older unit's CacheDirectory= did: up must map nothing from it
        Path cache = Files.createDirectories(scratch.resolve("vpn-cache"));
        Result chown = run(Map.of(), 30, "chown", "-R", "65534:65534", dir.toString(), cache.toString());
        assertThat(chown.code()).as(chown.output()).isZero();
        Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));

        List<String> asTheUnit = asUnit(vpnBounding, vpnAmbient, dir, cache);
        Process up = new ProcessBuilder(asTheUnit).redirectErrorStream(true).start();
        up.getOutputStream().close();
        var lines = new LinkedBlockingQueue<String>();
        StringBuilder seen = new StringBuilder();
        Thread.ofPlatform().daemon(true).name("up-output").start(() -> {
            try (var in = new BufferedReader(new InputStreamReader(up.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = in.readLine()) != null; ) {
                    lines.add(l);
                }
            } catch (IOException ignored) {
                // the process ended
            }
            lines.add("<end>");
        });
        try {
            // the first attempt to reach the gateway comes after the TUN device is open
            String line;
            do {
                line = lines.poll(60, TimeUnit.SECONDS);
                seen.append(line).append('\n');
            } while (line != null && !line.equals("<end>") && !line.contains("127.0.0.1:9"));
            assertThat(line).as("up as uid 65534 with CAP_NET_ADMIN only should be trying the gateway; it printed:%n%s", seen)
                    .isNotNull().contains("127.0.0.1:9");
            Result link = run(Map.of(), 30, "ip", "-o", "link", "show", "dev", "pt-pkgtest");
            assertThat(link.code()).as("the TUN device up opened: %s; up printed:%n%s", link.output(), seen).isZero();
            assertThat(link.output()).contains("pt-pkgtest");
            // the JVM up runs in (setpriv, env and sh exec into it): no attach, no archive but the runtime's
            String cmdline = Files.readString(Path.of("/proc", Long.toString(up.pid()), "cmdline")).replace('\0', ' ');
            assertThat(cmdline).contains("runtime/bin/java", "-XX:+DisableAttachMechanism", " up").doesNotContain("SharedArchive");
        } finally {
            up.destroy();
            if (!up.waitFor(30, TimeUnit.SECONDS)) {
                up.destroyForcibly();
            }
        }
        // stopped by SIGTERM as systemctl stop does, up wrote no class-data archive where the user can write
        try (Stream<Path> left = Files.list(cache)) {
            assertThat(left.toList()).as("up printed:%n%s", seen).isEmpty();
        }

        // the base unit alone (no capability at all): exit 1 naming the one it needs, nothing dialled
        List<String> without = asUnit(capabilities("CapabilityBoundingSet", base), capabilities("AmbientCapabilities", base), dir, cache);
        assertThat(without).contains("--bounding-set=-all", "--ambient-caps=-all");
        Result refused = run(Map.of(), 60, without.toArray(String[]::new));
        assertThat(refused.code()).as(refused.output()).isEqualTo(1);
        assertThat(refused.output()).contains("creating TUN device pt-pkgtest needs CAP_NET_ADMIN").doesNotContain("127.0.0.1:9");
    }

    /** setpriv running the installed postern-agent up as uid 65534 with these capability sets (CAP_X → +x), as the unit would. */
    private static List<String> asUnit(Set<String> bounding, Set<String> ambient, Path dir, Path cache) {
        return List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs",
                "--bounding-set=" + setprivCaps(bounding), "--inh-caps=" + setprivCaps(ambient), "--ambient-caps=" + setprivCaps(ambient),
                // the system directories for the tools up runs (ip), as on a laptop
                "/usr/bin/env", "-i", "PATH=" + laptopPath + ":/usr/sbin:/usr/bin", "POSTERN_AGENT_HOME=" + dir, "CACHE_DIRECTORY=" + cache,
                "postern-agent", "up");
    }

    private static String setprivCaps(Set<String> caps) {
        return "-all" + caps.stream().map(c -> ",+" + c.substring("CAP_".length()).toLowerCase(Locale.ROOT)).collect(Collectors.joining());
    }

    /**
     * A capability setting as systemd reads the unit and then its drop-ins in order: each line adds its names,
     * an empty assignment empties the set (systemd.exec(5), CapabilityBoundingSet= and AmbientCapabilities=).
     * Unset, the bounding set would be every capability: that is a failure here, not a default.
     */
    @SafeVarargs
    static Set<String> capabilities(String key, List<String>... files) {
        Set<String> caps = new LinkedHashSet<>();
        boolean set = false;
        for (List<String> file : files) {
            for (String line : file) {
                if (line.startsWith(key + "=")) {
                    set = true;
                    String value = line.substring(key.length() + 1).strip();
                    if (value.isEmpty()) {
                        caps.clear();
                    } else {
                        caps.addAll(Arrays.asList(value.split("\\s+")));
                    }
                }
            }
        }
        if (!set && key.equals("CapabilityBoundingSet")) {
            throw new AssertionError("expected " + key + "= in the unit (unset it is every capability), found none");
        }
        return caps;
    }

    /** One SOCKS5 CONNECT (RFC 1928, no authentication): answers success, greets as an SSH server, returns HOST:PORT asked for. */
    private static String serveOneSocksConnect(ServerSocket server) {
        try (Socket s = server.accept()) {
            s.setSoTimeout(30_000);
            DataInputStream in = new DataInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            byte[] hello = new byte[2];
            in.readFully(hello);
            in.readFully(new byte[hello[1]]);
            out.write(new byte[] {5, 0});
            byte[] request = new byte[4];
            in.readFully(request);
            String host = switch (request[3]) {
                case 3 -> {
                    byte[] name = new byte[in.readUnsignedByte()];
                    in.readFully(name);
                    yield new String(name, StandardCharsets.US_ASCII);
                }
                case 1 -> {
                    byte[] a = new byte[4];
                    in.readFully(a);
                    yield InetAddress.getByAddress(a).getHostAddress();
                }
                default -> throw new AssertionError("expected a SOCKS5 name or IPv4 address, found address type " + request[3]);
            };
            int port = in.readUnsignedShort();
            out.write(new byte[] {5, 0, 0, 1, 0, 0, 0, 0, 0, 0});
            out.write("SSH-2.0-PosternPackageTest\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // read ssh's greeting, then end: ssh reports the server's version it saw before the key exchange failed
            readLine(in);
            return host + ":" + port;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void readLine(InputStream in) throws IOException {
        for (int i = 0, c; i < 256 && (c = in.read()) >= 0 && c != '\n'; i++) {
            // bounded: an SSH greeting is at most 255 bytes
        }
    }

    @Test
    void installed_manPages_render() throws Exception {
        Path man1 = root.resolve("usr/share/man/man1");
        try (Stream<Path> pages = Files.list(man1)) {
            assertThat(pages.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("postern-agent")).toList())
                    .contains("postern-agent.1.gz", "postern-agent-up.1.gz", "postern-agent-connect.1.gz", "postern-agent-ssh-config.1.gz",
                            "postern-agent-enroll.1.gz");
        }
        Result r = run(Map.of("MANWIDTH", "100"), 60, "man", "-P", "cat", "-l", man1.resolve("postern-agent-up.1.gz").toString());
        assertThat(r.code()).as(r.output()).isZero();
        String text = r.output().replaceAll(".\b", "");
        assertThat(text).contains("postern-agent-up", "--config").doesNotContain("<<", "::");
    }

    @Test
    void installed_bashCompletion_completesSubcommands() throws Exception {
        Path completion = root.resolve("usr/share/bash-completion/completions/postern-agent");
        String script = "source '" + completion + "'\n"
                + "COMP_WORDS=(postern-agent ss); COMP_CWORD=1; COMP_LINE='postern-agent ss'; COMP_POINT=${#COMP_LINE}\n"
                + "_complete_postern-agent postern-agent ss postern-agent; printf '%s\\n' \"${COMPREPLY[@]}\"\n";
        Result r = run(Map.of(), 30, "bash", "-c", script);
        assertThat(r.code()).as(r.output()).isZero();
        // called outside a real completion, the script's compopt complains on standard error: not a completion
        assertThat(r.output().lines().map(String::strip).filter(l -> !l.contains("compopt: not currently executing")).toList())
                .containsExactly("ssh-config");
    }

    @Test
    void installed_unit_holdsNoCapability_andPassesSystemdAnalyzeVerify_aloneAndWithTheVpnDropIn() throws Exception {
        // verify --root resolves inside the scratch root: give it the host's targets (the unit's default dependencies)
        Path targets = Files.createDirectories(root.resolve("usr/lib/systemd/system"));
        try (Stream<Path> host = Files.list(Path.of("/usr/lib/systemd/system"))) {
            for (Path t : host.filter(p -> p.toString().endsWith(".target")).toList()) {
                Files.copy(t, targets.resolve(t.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        // a template is verified through an instance: postern-agent@alice runs up as user alice
        Result r = run(Map.of(), 60, "systemd-analyze", "verify", "--man=no", "--root=" + root,
                "/lib/systemd/system/postern-agent@alice.service");
        assertThat(r.code()).as("systemd-analyze verify postern-agent@alice.service: %s", r.output()).isZero();
        assertThat(r.output()).doesNotContainIgnoringCase("unknown").doesNotContainIgnoringCase("ignoring");

        List<String> unit = Files.readAllLines(root.resolve("lib/systemd/system/postern-agent@.service"));
        assertThat(unit).contains("User=%i", "ExecStart=/usr/bin/postern-agent up", "Restart=on-failure",
                // 1: vpn.enabled without the drop-in's capability waits for an administrator, not a restart loop
                "RestartPreventExitStatus=1 2 3", "CapabilityBoundingSet=", "NoNewPrivileges=yes",
                "ProtectSystem=strict", "ProtectHome=read-only", "ReadWritePaths=-/home/%i/.postern-agent", "PrivateTmp=yes",
                "DevicePolicy=closed", "SystemCallFilter=@system-service", "SystemCallErrorNumber=EPERM", "ProtectProc=invisible");
        // the base unit holds no capability: whatever the user's code does in up, it gains nothing
        assertThat(capabilities("CapabilityBoundingSet", unit)).isEmpty();
        assertThat(capabilities("AmbientCapabilities", unit)).isEmpty();
        assertThat(unit).noneMatch(l -> l.startsWith("AmbientCapabilities=") || l.startsWith("DeviceAllow=")
                || l.startsWith("CacheDirectory=") || l.startsWith("RemoveIPC="));

        // the administrator's drop-in, installed as docs/packaging.md says: verified with the unit
        Path dropIn = root.resolve("etc/systemd/system/postern-agent@alice.service.d/vpn.conf");
        Files.createDirectories(dropIn.getParent());
        Files.copy(root.resolve("usr/share/postern-agent/vpn.conf"), dropIn, StandardCopyOption.REPLACE_EXISTING);
        try {
            Files.writeString(dropIn, Files.readString(dropIn) + "NotAKey=1\n");
            Result seesIt = run(Map.of(), 60, "systemd-analyze", "verify", "--man=no", "--root=" + root,
                    "/lib/systemd/system/postern-agent@alice.service");
            assertThat(seesIt.output()).as("verify reads the drop-in (a bad key there is reported)").contains("NotAKey");
            Files.copy(root.resolve("usr/share/postern-agent/vpn.conf"), dropIn, StandardCopyOption.REPLACE_EXISTING);
            Result withVpn = run(Map.of(), 60, "systemd-analyze", "verify", "--man=no", "--root=" + root,
                    "/lib/systemd/system/postern-agent@alice.service");
            assertThat(withVpn.code()).as("systemd-analyze verify with vpn.conf: %s", withVpn.output()).isZero();
            assertThat(withVpn.output()).doesNotContainIgnoringCase("unknown").doesNotContainIgnoringCase("ignoring");
        } finally {
            Files.delete(dropIn);
        }
        List<String> vpn = Files.readAllLines(root.resolve("usr/share/postern-agent/vpn.conf"));
        assertThat(vpn).contains("[Service]", "DeviceAllow=/dev/net/tun rw");
        assertThat(capabilities("CapabilityBoundingSet", unit, vpn)).containsExactly("CAP_NET_ADMIN");
        assertThat(capabilities("AmbientCapabilities", unit, vpn)).containsExactly("CAP_NET_ADMIN");
    }

    private static Set<String> contents(Path deb) throws Exception {
        // dpkg-deb -c prints permissions and sizes too; the tar listing gives the paths alone
        Result list = run(Map.of(), 60, "bash", "-c", "set -o pipefail; dpkg-deb --fsys-tarfile '" + deb + "' | tar -t");
        assertThat(list.code()).as(list.output()).isZero();
        return new HashSet<>(list.output().lines().toList());
    }
}
