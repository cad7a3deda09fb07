package org.postern.cli.gateway;

import java.io.IOException;
import java.net.BindException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;

import org.postern.cli.DefaultPaths;
import org.postern.cli.Exit;
import org.postern.config.Secret;
import org.postern.config.gateway.GatewaySettings;
import org.postern.gateway.server.GatewayServer;
import org.postern.pki.ca.CaStore;
import org.postern.keys.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code postern gateway}: the gateway itself. */
@Command(name = "gateway", mixinStandardHelpOptions = true,
        description = "Run the Postern gateway; list and end its live sessions.",
        subcommands = {GatewayCommand.Run.class, GatewayCommand.Sessions.class, GatewayCommand.Kill.class,
                CommandLine.HelpCommand.class})
public final class GatewayCommand {

    /** {@code postern gateway run [--config gateway.yaml]}: serves until Ctrl-C or SIGTERM. */
    @Command(name = "run", mixinStandardHelpOptions = true,
            description = {"Run the gateway: EST, CRL, OCSP, posture and CONNECT tunnels on listeners.tunnel (TLS 1.3),"
                    + " the admin API and /metrics on listeners.admin (admin client certificates required),"
                    + " SSH certificates (POST /v1/ssh/certificate) and the SSH bastion on listeners.ssh (ssh -J, -W, -L).",
                    "The CA in dataDir is unlocked with $POSTERN_CA_PASSPHRASE or --passphrase-file, as for pki serve;",
                    "the SSH user CA (dataDir/ca/ssh-user-ca.key) is created under the same passphrase on first start.",
                    "SIGHUP, or saving the config file, reloads access and posture policy and the TLS files;",
                    "a bad file keeps the last good settings and the log says why.",
                    "Logs go to standard error; $POSTERN_LOG_LEVEL (default INFO) sets Postern's level."})
    public static final class Run implements Callable<Integer> {
        @Option(names = "--config", paramLabel = "gateway.yaml", defaultValue = "${env:POSTERN_GATEWAY_CONFIG}",
                description = "Gateway settings (see config/examples/gateway.yaml). Default: $POSTERN_GATEWAY_CONFIG,"
                        + " else /etc/postern/gateway.yaml (an installed package's).")
        Path config;

        @Option(names = "--passphrase-file", paramLabel = "FILE",
                description = "File whose first line is the CA passphrase (or the PKCS#11 PIN). Default: $POSTERN_CA_PASSPHRASE.")
        Path passphraseFile;

        @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = "text",
                description = "text (one readable line per event, the default) or json (JSON lines for a log shipper).")
        GatewayLogging.Format logFormat;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws IOException, InterruptedException {
            GatewayLogging.configure(logFormat, System.getenv("POSTERN_LOG_LEVEL"));
            Path config = configFile(this.config);
            GatewaySettings settings = GatewaySettings.load(config);
            GatewayServer server;
            try {
                server = GatewayServer.start(settings, protection(settings.dataDir()), java.time.Clock.systemUTC(),
                        new java.security.SecureRandom(), GatewayServer.Options.DEFAULTS.withConfigFile(config, true));
            } catch (KeyFiles.WrongPassphraseException e) {
                throw new Exit(Exit.CA, e.getMessage());
            } catch (BindException e) {
                throw new Exit(Exit.LISTEN, "cannot start the gateway: " + e.getMessage());
            } catch (IOException e) {
                throw new Exit(Exit.UNAVAILABLE, "cannot start the gateway: " + e.getMessage());
            }
            try (server) {
                PrintWriter out = spec.commandLine().getOut();
                var at = server.address();
                out.println("Postern gateway " + settings.id() + " listening on https://" + at.getHostString() + ":"
                        + at.getPort() + " (TLS 1.3, transport " + server.transport() + ")");
                out.println("  EST, CRL, OCSP, posture (/v1/posture/...) and CONNECT tunnels");
                var adm = server.adminAddress();
                out.println("  admin API and /metrics on https://" + adm.getHostString() + ":" + adm.getPort()
                        + " (admin certificate required)");
                out.println("  audit trail " + settings.audit().dir() + ", public key " + settings.dataDir().resolve("audit.pub"));
                out.println("  root SHA-256: " + server.ca().rootSha256());
                out.println("Stop with Ctrl-C.");
                out.flush();
                Runtime.getRuntime().addShutdownHook(new Thread(server::close, "gateway-shutdown"));
                // under systemd (Type=notify): every listener is bound now, so units ordered after this one may start.
                // A socket that cannot be reached is reported, not fatal: a stale $NOTIFY_SOCKET outside systemd
                // must not stop a gateway that serves, and under systemd the start times out with this line in the journal.
                try {
                    SystemdNotify.send(System.getenv("NOTIFY_SOCKET"), "READY=1\nSTATUS=serving on " + at.getHostString() + ":" + at.getPort());
                } catch (IllegalArgumentException | IllegalStateException e) {
                    spec.commandLine().getErr().println("postern: warning: readiness not reported to systemd: " + e.getMessage());
                    spec.commandLine().getErr().flush();
                }
                server.awaitClose();
            }
            return 0;
        }

        /**
         * The settings file: the one given (option or $POSTERN_GATEWAY_CONFIG) as it is, else the
         * installed default, which must then exist: a gateway never starts on built-in defaults by accident.
         */
        static Path configFile(Path given) {
            if (given != null) {
                return given;
            }
            Path installed = DefaultPaths.gatewayConfig();
            if (!Files.isRegularFile(installed)) {
                throw new Exit(Exit.USAGE, "expected gateway settings at " + installed
                        + " (the default without --config or $POSTERN_GATEWAY_CONFIG), found no such file;"
                        + " give --config gateway.yaml or install one there (see config/examples/gateway.yaml)");
            }
            return installed;
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
            Optional<Path> pkcs11 = storedPkcs11(store.dir().resolve("ca.properties"));
            if (pkcs11.isPresent()) {
                return new KeyProtection.Pkcs11(pkcs11.get(), secret);
            }
            try {
                return new KeyProtection.Passphrase(secret);
            } catch (IllegalArgumentException e) {
                throw new Exit(Exit.USAGE, e.getMessage());
            }
        }

        private static Optional<Path> storedPkcs11(Path caProperties) {
            Properties p = new Properties();
            try (var in = Files.newBufferedReader(caProperties, StandardCharsets.UTF_8)) {
                p.load(in);
            } catch (IOException e) {
                return Optional.empty();
            }
            return "pkcs11".equals(p.getProperty("keys")) ? Optional.of(Path.of(p.getProperty("pkcs11.config")))
                    : Optional.empty();
        }
    }

    /** {@code postern gateway sessions [--json]}: the live sessions of the running gateway. */
    @Command(name = "sessions", mixinStandardHelpOptions = true,
            description = {"List the live sessions of the running gateway (GET /v1/sessions on its admin endpoint).",
                    "Authenticates with an admin certificate (either role); see --cert."},
            exitCodeListHeading = "%nExit codes:%n",
            exitCodeList = {"0:listed", "1:refused by the gateway (certificate not accepted)",
                    "2:bad usage or configuration", "6:the gateway's admin endpoint cannot be reached"})
    public static final class Sessions implements Callable<Integer> {
        @CommandLine.Mixin
        AdminOptions admin;

        @Option(names = "--json", description = "Print the gateway's JSON answer instead of a table.")
        boolean json;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            AdminClient.Reply r = admin.client().get("/v1/sessions");
            if (r.status() != 200) {
                throw new Exit(Exit.REFUSED, "the gateway refused to list sessions: " + r.error());
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(r.body().toPrettyString());
            } else {
                SessionTable.print(out, r.body().path("sessions"));
            }
            out.flush();
            return 0;
        }
    }

    /** {@code postern gateway kill SESSION}: ends one live session. */
    @Command(name = "kill", mixinStandardHelpOptions = true,
            description = {"End a live session and all its tunnels (DELETE /v1/sessions/SESSION on the admin endpoint).",
                    "Needs a security-admin certificate; recorded in the audit trail as admin.kill and session.end (killed)."},
            exitCodeListHeading = "%nExit codes:%n",
            exitCodeList = {"0:the session was ended", "1:refused (no such live session, or not a security-admin)",
                    "2:bad usage or configuration", "6:the gateway's admin endpoint cannot be reached"})
    public static final class Kill implements Callable<Integer> {
        @CommandLine.Mixin
        AdminOptions admin;

        @CommandLine.Parameters(paramLabel = "SESSION", description = "The session id, as postern gateway sessions shows it.")
        String session;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            String path = "/v1/sessions/" + java.net.URLEncoder.encode(session, StandardCharsets.UTF_8).replace("+", "%20");
            AdminClient.Reply r = admin.client().delete(path);
            if (r.status() != 200) {
                throw new Exit(Exit.REFUSED, "session " + session + " not ended: " + r.error());
            }
            spec.commandLine().getOut().println("Ended session " + session);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
