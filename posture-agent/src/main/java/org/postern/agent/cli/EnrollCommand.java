package org.postern.agent.cli;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.concurrent.Callable;

import org.postern.agent.enroll.Enroller;
import org.postern.agent.key.DeviceKeyStore;
import org.postern.agent.key.DeviceKeys;
import org.postern.agent.state.AgentHome;
import org.postern.config.Secret;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern-agent enroll}: get this laptop's device certificate with the one-time token. */
@Command(name = "enroll", mixinStandardHelpOptions = true,
        description = {"Enroll this laptop: make a P-256 key here (0600, or inside a PKCS#11 token with --pkcs11),"
                + " send a CSR over EST with the one-time token, and store the certificate.",
                "The gateway is trusted only if its chain holds the CA with --ca-sha256.",
                "Then shows the gateway's remote-work charter, if it requires one, and asks to accept it (see --accept-charter)."})
final class EnrollCommand implements Callable<Integer> {
    @ParentCommand
    AgentCommand parent;

    @Option(names = "--gateway", required = true, paramLabel = "URL", description = "Gateway base URL, e.g. https://gw.example.org:8443")
    URI gateway;

    @Option(names = "--token", paramLabel = "T",
            description = "One-time enrollment token. Visible in ps while enrollment runs; prefer --token-file or $POSTERN_ENROLL_TOKEN.")
    String token;

    @Option(names = "--token-file", paramLabel = "FILE", description = "File whose first line is the enrollment token.")
    Path tokenFile;

    @Option(names = "--ca-sha256", required = true, paramLabel = "FP", description = "SHA-256 of the Postern root CA, from IT security.")
    String caSha256;

    @Option(names = "--device", paramLabel = "ID", description = "Device id (optional: the token names the device).")
    String device;

    @Option(names = "--force", description = "Enroll again even if this directory (or the token alias) already holds a key and certificate.")
    boolean force;

    @Option(names = "--pkcs11", paramLabel = "CONFIG",
            description = {"Make the key inside a PKCS#11 token (e.g. a TPM through tpm2-pkcs11) instead of a file:",
                    "SunPKCS11 configuration naming the library and slot. PIN from $" + DeviceKeys.PIN_ENV + " or --pin-file."})
    Path pkcs11;

    @Option(names = "--pkcs11-alias", paramLabel = "ALIAS", description = "Label of the key in the token. Default: " + DeviceKeys.Pkcs11Key.DEFAULT_ALIAS + ".")
    String pkcs11Alias;

    @Option(names = "--pin-file", paramLabel = "FILE",
            description = "File whose first line is the token PIN (recorded, so renewal finds it). Default: $" + DeviceKeys.PIN_ENV + ".")
    Path pinFile;

    @Option(names = "--accept-charter",
            description = {"Accept the gateway's remote-work charter without asking (its text is still printed).",
                    "Without it, enroll asks on the terminal (type yes); with no terminal it is left unaccepted"
                            + " (postern-agent charter accepts it later).",
                    "Recorded as how=flag (accepted without the user typing yes, e.g. by IT at hand-over); typing yes is how=prompt."})
    boolean acceptCharter;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        AgentHome home = parent.home();
        if (home.enrolled() && !force) {
            throw new AgentCommand.AgentExit(1, "already enrolled in " + home.dir() + " as " + home.enrollment().map(AgentHome.Enrollment::device).orElse("?")
                    + "; use --force to enroll again with a new token");
        }
        if (!"https".equalsIgnoreCase(gateway.getScheme()) || gateway.getHost() == null) {
            throw new AgentCommand.AgentExit(2, "--gateway: expected an https:// URL with a host, found \"" + gateway + "\"");
        }
        if (pkcs11 == null && (pkcs11Alias != null || pinFile != null)) {
            throw new AgentCommand.AgentExit(2, (pkcs11Alias != null ? "--pkcs11-alias" : "--pin-file") + ": only with --pkcs11 CONFIG (the key is a file otherwise)");
        }
        Secret secret = token != null ? Secret.of(token)
                : tokenFile != null ? Secret.fromFile(tokenFile)
                : Secret.fromEnv("POSTERN_ENROLL_TOKEN", System.getenv());
        // The token is opened (and the PIN tried) before the one-time token is spent.
        DeviceKeyStore keys = DeviceKeyStore.open(keyPlace(home), System.getenv());
        if (!force && keys.occupied().isPresent()) {
            throw new AgentCommand.AgentExit(1, "the PKCS#11 token already holds " + keys.occupied().get()
                    + "; choose another --pkcs11-alias, or use --force to replace it");
        }
        Enroller.Enrolled e = new Enroller(home, Clock.systemUTC(), new SecureRandom()).enroll(gateway, device, secret, caSha256, keys);
        PrintWriter out = spec.commandLine().getOut();
        out.println("Enrolled as " + e.device() + ".");
        out.println("  certificate valid until " + e.certificate().getNotAfter().toInstant() + " (renewed automatically)");
        out.println("  key: " + home.enrollment().orElseThrow().key().describe());
        out.println("  certificate in " + home.dir());
        // the remote-work charter: enrollment is done whatever happens here; sessions need it accepted
        out.println();
        String h = home.dir().equals(org.postern.agent.state.AgentHome.defaultDir(System.getenv())) ? "" : " --home " + home.dir();
        charterStep(() -> CharterCommand.review(new org.postern.agent.enroll.CharterClient(home, System.getenv()), out, acceptCharter, home),
                out, h);
        // what to do next, in the order a new user needs it
        out.println();
        out.println("Next:");
        out.println("  postern-agent" + h + " charter     # read the remote-work charter again; accept a new version when asked");
        out.println("  postern-agent" + h + " check       # is this laptop compliant with the gateway's posture policy? what to fix");
        out.println("  postern-agent" + h + " up          # connect: SOCKS5, forwards and SSH through the gateway (agent.yaml in " + home.dir() + ")");
        out.println("  postern-agent" + h + " ssh-config  # the ssh_config block for the SSH bastion");
        return 0;
    }

    /** The charter step of enroll, as {@link CharterCommand#review} does it. */
    @FunctionalInterface
    interface CharterStep {
        void run() throws java.io.IOException, InterruptedException;
    }

    /**
     * Runs the charter step after a completed enrollment: whatever fails in it (the gateway, an
     * unexpected answer, a bug) is reported as the charter step failing, never as a failed
     * enrollment, since the certificate is already issued and stored.
     */
    static void charterStep(CharterStep step, PrintWriter out, String h) throws InterruptedException {
        try {
            step.run();
        } catch (java.io.IOException | RuntimeException x) {
            out.println("Enrollment done; the remote-work charter step failed ("
                    + (x instanceof java.io.IOException ? x.getMessage() : x.toString()) + ").");
            out.println("  run postern-agent" + h + " charter   before connecting: the gateway may require it accepted.");
        }
    }

    private DeviceKeys keyPlace(AgentHome home) {
        if (pkcs11 == null) {
            return home.fileKey();
        }
        return new DeviceKeys.Pkcs11Key(pkcs11.toAbsolutePath(), pkcs11Alias != null ? pkcs11Alias : DeviceKeys.Pkcs11Key.DEFAULT_ALIAS,
                pinFile != null ? pinFile.toAbsolutePath() : null);
    }
}
