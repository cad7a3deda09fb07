package org.postern.demo;

import static org.postern.demo.DemoLab.DEVICE;
import static org.postern.demo.DemoLab.SECOND;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;

import org.postern.agent.collect.Collectors;
import org.postern.config.Secret;
import org.postern.pki.ca.KeyProtection;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code postern demo}: the whole product on loopback with a fresh CA, one printed step at a time,
 * each checked: a step that does not behave as shown ends the demo with exit 5. The gateway, the
 * agent's session and its local listeners run in this process; the admin host is a JDK HTTP
 * server and, when installed, a real sshd. The steps are listed in order in {@link #steps}
 * (docs/demo.md says how the parts fit).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Run Postern on loopback with a fresh CA and show each step, every one checked:",
                "start a gateway (free ports) with an access rule to a demo admin host (an HTTP service, and sshd when",
                "installed), enroll this machine over EST, show the gateway's posture decision under a strict policy",
                "(denied, with reasons and remediations) and under the demo policy, run the agent (SOCKS5 and a forward)",
                "and fetch the admin host's page through the tunnel (HTTP/2 CONNECT over one mTLS connection), ssh through",
                "the agent's ProxyCommand, list the live session, revoke the device and show the tunnel close within 2 s,",
                "a new handshake refused, OCSP and the CRL saying revoked, and the signed audit trail verified.",
                "Without --exit the gateway keeps running (with a second, enrolled laptop) until Ctrl-C, and the demo",
                "prints commands to try: curl through the proxy or the agent's SOCKS5, postern gateway sessions, ssh.",
                "Exit 0: every step behaved as shown. 5: a step did not."})
public final class DemoCommand implements Callable<Integer> {
    static final int DEMO_FAILED = 5;

    @Option(names = "--exit", description = "Exit when the steps are done instead of serving until Ctrl-C.")
    boolean exit;

    @Option(names = "--keep", description = "Keep the temporary data directory afterwards.")
    boolean keep;

    @Spec
    CommandSpec spec;

    /** The steps in the order they run, each printed as {@code [n] title} and checked. */
    static List<DemoStep> steps(boolean exit) {
        List<DemoStep> steps = new ArrayList<>(List.of(
                // the device CA, and the laptop registered with a one-time token
                DemoStep.of("Create the device CA (root + issuing CA, ECDSA P-256, keys encrypted with a generated passphrase)",
                        PkiSteps::createCa),
                DemoStep.of("Register " + DEVICE + " for alice (groups: admins) and print its one-time enrollment token",
                        PkiSteps::registerDevice),
                // the admin host, and the gateway in front of it under a policy no machine meets
                DemoStep.of("Start the demo admin host on loopback: an HTTP service, and sshd when installed",
                        AccessSteps::startAdminHost),
                DemoStep.of("Start the gateway with a strict posture policy (enforce; an OS release no machine has yet)",
                        AccessSteps::startStrictGateway),
                // enrollment at the gateway, and what a device is judged by
                DemoStep.of("This machine enrolls over EST at the gateway: a fresh P-256 key, the token, the pinned root fingerprint",
                        PkiSteps::enroll),
                DemoStep.of("OCSP (POST /pki/ocsp at the gateway) asks about the new certificate",
                        PkiSteps::ocspGood),
                DemoStep.of("Posture evidence is signed with the device key (ES256 JWS): tampered or replayed evidence is refused",
                        PkiSteps::signedEvidence),
                // the agent: denied under the strict policy, let in under the demo policy
                DemoStep.of("The agent connects (postern-agent up: SOCKS5 and a forward): the gateway judges its posture under the strict policy",
                        AccessSteps::postureDenied),
                DemoStep.of(ctx -> "The gateway restarts with the demo policy (the default checks, " + AccessSteps.demoMode(ctx.lab()).spelling()
                                + "): the agent reconnects by itself",
                        AccessSteps::demoPolicy),
                // through the tunnel: the page, ssh, the live session
                DemoStep.of("The administration's remote-work charter is in force: refused until alice accepts it (postern-agent charter --accept)",
                        AccessSteps::charter),
                DemoStep.of("Fetch the admin host's page through the tunnel: SOCKS5, then the forward (HTTP/2 CONNECT streams of the one mTLS connection)",
                        AccessSteps::tunnel),
                DemoStep.of("ssh to the admin host's sshd with the ProxyCommand from postern-agent ssh-config",
                        AccessSteps::ssh).unless(AccessSteps::sshSkipped),
                DemoStep.of("The live session, as the admin API lists it (GET /v1/sessions; postern gateway sessions)",
                        AccessSteps::sessions),
                DemoStep.of("An auditor reads the console's access report (https://127.0.0.1:ADMIN/console/access, auditor certificate)",
                        AccessSteps::console),
                // revocation, and the audit trails that recorded all of it
                DemoStep.of("IT security revokes the laptop (postern pki device revoke " + DEVICE + " --reason lost): the open tunnel closes",
                        RevocationSteps::revoke),
                DemoStep.of("A new handshake with the revoked certificate is refused",
                        RevocationSteps::revokedHandshake),
                DemoStep.of("OCSP and the CRL (GET /pki/crl) now say revoked",
                        RevocationSteps::revocationStatus),
                DemoStep.of("Both audit trails verify (postern audit verify): the gateway's, and the PKI's strictly (every record sealed)",
                        RevocationSteps::auditTrails)));
        if (!exit) {
            // the gateway keeps running: something to try it with
            steps.add(DemoStep.of("A second laptop (" + SECOND + ", alice) enrolls and connects, so there is something to try",
                    ServingSteps::secondLaptop));
        }
        return steps;
    }

    @Override
    public Integer call() throws Exception {
        DemoOutput out = new DemoOutput(spec.commandLine().getOut());
        Path dir = Files.createTempDirectory("postern-demo-");
        SecureRandom random = new SecureRandom();
        byte[] pass = new byte[18];
        random.nextBytes(pass);
        String passphrase = Base64.getEncoder().encodeToString(pass);
        KeyProtection protection = new KeyProtection.Passphrase(Secret.of(passphrase));
        Path passFile = Files.writeString(dir.resolve("ca-passphrase"), passphrase + "\n");
        Files.setPosixFilePermissions(passFile, PosixFilePermissions.fromString("rw-------"));
        DemoLab lab = new DemoLab();
        DemoContext ctx = new DemoContext(dir, Clock.systemUTC(), random, protection, passFile, out, lab);
        boolean serving = false;
        try {
            out.println("Postern demo — data directory " + dir + " (temporary), everything on 127.0.0.1, free ports");
            out.println();

            // this machine's posture facts take a while to collect (package manager queries): start now
            Path factsDir = Files.createDirectories(dir.resolve("facts"));
            lab.collecting = CompletableFuture.supplyAsync(() -> {
                try {
                    return Collectors.forThisMachine(Collectors.Backend.NATIVE, factsDir).collect();
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            });

            for (DemoStep step : steps(exit)) {
                Optional<String> skipped = step.skipped(ctx);
                if (skipped.isPresent()) {
                    out.println("    (" + skipped.get() + ")");
                    continue;
                }
                out.begin(step.title(ctx));
                step.run(ctx);
            }

            if (!exit) {
                ServingSteps.printTryCommands(ctx);
                serving = true;
                // Ctrl-C ends the JVM without running this method's finally blocks: clean up there
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    lab.stopAll();
                    if (!keep) {
                        deleteTree(dir);
                    }
                }, "demo-shutdown"));
                Thread.currentThread().join();
            }
            out.println();
            out.println("All " + out.step() + " steps behaved as shown.");
            return 0;
        } catch (DemoFailed e) {
            out.println();
            out.println("DEMO FAILED at step " + out.step() + ": " + e.getMessage());
            return DEMO_FAILED;
        } catch (IOException | java.security.GeneralSecurityException | RuntimeException e) {
            // a step that broke instead of answering (a refused connection, a timeout): it did not behave as shown either
            out.println();
            out.println("DEMO FAILED at step " + out.step() + ": " + e);
            return DEMO_FAILED;
        } finally {
            out.flush();
            if (!serving) {
                lab.stopAll();
                if (!keep) {
                    deleteTree(dir);
                } else {
                    out.println("Data kept in " + dir);
                }
            }
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temp directory
        }
    }
}
