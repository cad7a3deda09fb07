package org.postern.cli.vpn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.pki.testing.Proc;

/**
 * A whole Postern installation in a {@link VpnLab}: the CA and registry made by {@code postern pki}
 * in this JVM, {@code postern gateway run} as a process in the gateway namespace (its TUN and its
 * UDP listener live there), {@code postern-agent enroll} and {@code up} as processes in the laptop
 * namespace. The laptop's {@code /etc/resolv.conf} is {@code /etc/netns/<laptop>/resolv.conf},
 * which {@code ip netns exec} mounts over it, so the agent's DNS change stays in the lab.
 */
final class VpnInstall implements AutoCloseable {

    static final String PASSPHRASE = "correct horse battery staple";
    static final String ORIGINAL_RESOLV_CONF = "# the laptop's own resolver (VpnModeIT)\nnameserver 192.0.2.53\n";
    static final ObjectMapper JSON = new ObjectMapper();

    final VpnLab lab;
    final Path work;
    final Path data;
    final Path pass;
    final Path gatewayConfig;
    final Path home;
    final Path resolvConf;
    String rootSha256;
    Process gateway;
    Path gatewayLog;
    Process up;
    Path upLog;

    VpnInstall(VpnLab lab) throws IOException {
        this.lab = lab;
        this.work = lab.work;
        this.data = work.resolve("data");
        this.pass = Files.writeString(work.resolve("pass.txt"), PASSPHRASE + "\n");
        this.gatewayConfig = work.resolve("gateway.yaml");
        this.home = work.resolve("agent");
        Path etc = Files.createDirectories(Path.of("/etc/netns", lab.laptop));
        this.resolvConf = Files.writeString(etc.resolve("resolv.conf"), ORIGINAL_RESOLV_CONF);
    }

    /** {@code postern …} in this JVM (the CA and the registry are files the gateway process shares). */
    static Proc.Result postern(Path dir, String... args) {
        return Proc.run(dir, Duration.ofSeconds(120), java("org.postern.cli.PosternCommand", args));
    }

    static String[] java(String main, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path")));
        if (main.startsWith("org.postern.agent")) {
            cmd.add("-Dlogback.configurationFile=postern-agent-logback.xml");
        }
        cmd.add(main);
        cmd.addAll(List.of(args));
        return cmd.toArray(String[]::new);
    }

    /** {@code pki init}, then one device of {@code owner} in {@code groups}; returns its one-time token. */
    String initAndRegister(String device, String owner, String groups) throws IOException {
        String init = postern(work, "pki", "init", "--dir", data.toString(), "--name", "VPN Test Org", "--passphrase-file",
                pass.toString()).ok().stdout();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("root SHA-256 \\(agents pin this with --ca-sha256\\): (\\S+)")
                .matcher(init);
        assertThat(m.find()).as("pki init names the root's SHA-256: " + init).isTrue();
        rootSha256 = m.group(1);
        return register(device, owner, groups);
    }

    String register(String device, String owner, String groups) throws IOException {
        Proc.Result added = postern(work, "pki", "device", "add", device, "--owner", owner, "--groups", groups, "--json",
                "--dir", data.toString(), "--passphrase-file", pass.toString()).ok();
        return JSON.readTree(added.stdout()).get("token").asText();
    }

    /** Writes gateway.yaml ({@code body} after the listeners) and starts {@code postern gateway run} in the gateway namespace. */
    void startGateway(String body) throws IOException {
        Files.writeString(gatewayConfig, """
                gateway:
                  id: gw-vpn
                dataDir: %s
                listeners:
                  tunnel: %s:8443
                  admin: 127.0.0.1:9443
                  ssh: %s:2222
                audit:
                  minFree: 1MiB
                  checkpointInterval: 5s
                """.formatted(data, VpnLab.GATEWAY_ADDRESS, VpnLab.GATEWAY_ADDRESS) + body);
        gatewayLog = work.resolve("gateway.log");
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/env", "POSTERN_CA_PASSPHRASE=" + PASSPHRASE));
        cmd.addAll(List.of(java("org.postern.cli.PosternCommand", "gateway", "run", "--config", gatewayConfig.toString())));
        gateway = lab.start(lab.gateway, gatewayLog, cmd.toArray(String[]::new));
        awaitLog(gateway, gatewayLog, "listening on https://" + VpnLab.GATEWAY_ADDRESS + ":8443", Duration.ofSeconds(90));
    }

    /** {@code postern-agent enroll} in the laptop namespace, over EST to the gateway's outer address. */
    void enroll(String token) throws IOException {
        Path tokenFile = Files.writeString(work.resolve("token-" + System.nanoTime()), token + "\n");
        lab.exec(lab.laptop, Duration.ofSeconds(120), java("org.postern.agent.cli.AgentCommand", "--home", home.toString(),
                "enroll", "--gateway", "https://" + VpnLab.GATEWAY_ADDRESS + ":8443", "--token-file", tokenFile.toString(),
                "--ca-sha256", rootSha256)).ok();
    }

    /** Writes agent.yaml ({@code body} after the gateway's URL) and starts {@code postern-agent up} in the laptop namespace. */
    void startAgent(String body) throws IOException {
        Path config = Files.writeString(work.resolve("agent.yaml"), """
                gateway: https://%s:8443
                socks:
                  enabled: false
                posture:
                  retryInterval: 2s
                  renewMargin: 10s
                reconnect:
                  minBackoff: 200ms
                  maxBackoff: 1s
                """.formatted(VpnLab.GATEWAY_ADDRESS) + body);
        upLog = work.resolve("up-" + System.nanoTime() + ".log");
        up = lab.start(lab.laptop, upLog, java("org.postern.agent.cli.AgentCommand", "--home", home.toString(), "up",
                "--config", config.toString()));
    }

    String upOutput() throws IOException {
        return Files.readString(upLog, StandardCharsets.UTF_8);
    }

    String gatewayOutput() throws IOException {
        return Files.readString(gatewayLog, StandardCharsets.UTF_8);
    }

    void awaitAgent(String text, Duration within) {
        awaitLog(up, upLog, text, within);
    }

    static void awaitLog(Process p, Path log, String text, Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(200)).until(() -> {
            String out = Files.readString(log, StandardCharsets.UTF_8);
            assertThat(p.isAlive()).as("process exited before printing \"%s\":\n%s", text, out).isTrue();
            return out.contains(text);
        });
    }

    /**
     * Every record so far of the gateway's trail ({@code audit/trail}) and of the PKI commands'
     * ({@code audit/pki}: revocations, suspensions), in time order.
     */
    List<JsonNode> trail() throws IOException {
        List<JsonNode> records = new ArrayList<>();
        for (String trail : List.of("audit/trail", "audit/pki")) {
            Path dir = data.resolve(trail);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (var files = Files.list(dir)) {
                for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".jsonl")).sorted().toList()) {
                    for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                        if (!line.isBlank() && line.endsWith("}")) { // a line being written is not read half
                            records.add(JSON.readTree(line));
                        }
                    }
                }
            }
        }
        records.sort(java.util.Comparator.comparing(r -> r.path("time").asText()));
        return records;
    }

    /** Stops the agent: SIGTERM, so it restores routes and DNS, or SIGKILL when {@code kill}. */
    void stopAgent(boolean kill) throws InterruptedException {
        if (up == null) {
            return;
        }
        // ip netns exec runs the JVM as its child: signal the JVM itself
        List<ProcessHandle> targets = new ArrayList<>(up.descendants().toList());
        targets.add(up.toHandle());
        for (ProcessHandle h : targets) {
            if (kill) {
                h.destroyForcibly();
            } else {
                h.destroy();
            }
        }
        up.waitFor(20, TimeUnit.SECONDS);
        up = null;
    }

    @Override
    public void close() throws IOException {
        try {
            stopAgent(false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(resolvConf);
        Files.deleteIfExists(resolvConf.getParent());
    }
}
