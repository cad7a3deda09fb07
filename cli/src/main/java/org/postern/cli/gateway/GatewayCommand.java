package org.postern.cli.gateway;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;

import org.postern.cli.Exit;
import org.postern.config.Secret;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.server.GatewayServer;
import org.postern.pki.ca.CaStore;
import org.postern.pki.ca.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code postern gateway}: the gateway itself. */
@Command(name = "gateway", mixinStandardHelpOptions = true,
        description = "Run the Postern gateway.",
        subcommands = {GatewayCommand.Run.class, CommandLine.HelpCommand.class})
public final class GatewayCommand {

    /** {@code postern gateway run --config gateway.yaml}: serves until Ctrl-C. */
    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Run the gateway: EST, CRL, OCSP, posture and CONNECT tunnels on listeners.tunnel (TLS 1.3),",
                    "SSH certificates (POST /v1/ssh/certificate) and the SSH bastion on listeners.ssh (ssh -J, -W, -L).",
                    "The CA in dataDir is unlocked with $POSTERN_CA_PASSPHRASE or --passphrase-file, as for pki serve;",
                    "the SSH user CA (dataDir/ca/ssh-user-ca.key) is created under the same passphrase on first start."})
    public static final class Run implements Callable<Integer> {
        @Option(names = "--config", paramLabel = "gateway.yaml", required = true,
                description = "Gateway settings (see config/examples/gateway.yaml).")
        Path config;

        @Option(names = "--passphrase-file", paramLabel = "FILE",
                description = "File whose first line is the CA passphrase (or the PKCS#11 PIN). Default: $POSTERN_CA_PASSPHRASE.")
        Path passphraseFile;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException, InterruptedException {
            GatewaySettings settings = GatewaySettings.load(config);
            GatewayServer server;
            try {
                server = GatewayServer.start(settings, protection(settings.dataDir()));
            } catch (KeyFiles.WrongPassphraseException e) {
                throw new Exit(Exit.CA, e.getMessage());
            } catch (IOException e) {
                throw new Exit(Exit.UNAVAILABLE, "cannot start the gateway: " + e.getMessage());
            }
            try (server) {
                PrintWriter out = spec.commandLine().getOut();
                var at = server.address();
                out.println("Postern gateway " + settings.id() + " listening on https://" + at.getHostString() + ":"
                        + at.getPort() + " (TLS 1.3)");
                out.println("  EST, CRL, OCSP, posture (/v1/posture/...) and CONNECT tunnels");
                out.println("  audit trail " + settings.audit().dir() + ", public key " + settings.dataDir().resolve("audit.pub"));
                out.println("  root SHA-256: " + server.ca().rootSha256());
                out.println("Stop with Ctrl-C.");
                out.flush();
                Runtime.getRuntime().addShutdownHook(new Thread(server::close, "gateway-shutdown"));
                server.awaitClose();
            }
            return 0;
        }

        /** The passphrase or PIN: from --passphrase-file, else $POSTERN_CA_PASSPHRASE; never from an argument. */
        private KeyProtection protection(Path dataDir) {
            CaStore store = new CaStore(dataDir);
            if (!store.exists()) {
                throw new Exit(Exit.CA, "no CA in " + dataDir + "; create one with: postern pki init --dir " + dataDir);
            }
            Secret secret;
            try {
                secret = passphraseFile != null ? Secret.fromFile(passphraseFile)
                        : Secret.fromEnv("POSTERN_CA_PASSPHRASE", System.getenv());
            } catch (IllegalArgumentException e) {
                throw new Exit(Exit.USAGE, "CA passphrase: " + e.getMessage() + " (or pass --passphrase-file FILE)");
            }
            Path pkcs11 = storedPkcs11(store.dir().resolve("ca.properties"));
            if (pkcs11 != null) {
                return new KeyProtection.Pkcs11(pkcs11, secret);
            }
            try {
                return new KeyProtection.Passphrase(secret);
            } catch (IllegalArgumentException e) {
                throw new Exit(Exit.USAGE, e.getMessage());
            }
        }

        private static Path storedPkcs11(Path caProperties) {
            Properties p = new Properties();
            try (var in = Files.newBufferedReader(caProperties, StandardCharsets.UTF_8)) {
                p.load(in);
            } catch (IOException e) {
                return null;
            }
            return "pkcs11".equals(p.getProperty("keys")) ? Path.of(p.getProperty("pkcs11.config")) : null;
        }
    }
}
