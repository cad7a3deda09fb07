package org.postern.cli.pki;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

import org.postern.cli.Exit;

import org.postern.config.HostPort;
import org.postern.config.PkiSettings;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.ocsp.OcspResponder;
import org.postern.pki.server.PkiServer;
import org.postern.pki.server.ServerCredentials;
import io.netty.handler.ssl.ClientAuth;
import org.postern.net.Transport;
import org.postern.tls.TlsContexts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern pki serve}: EST, CRL and OCSP on TLS, until stopped. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve EST enrollment, the CRL and OCSP on TLS (the gateway mounts the same handlers on its tunnel port).",
                "Without server.tls in the config, the server issues itself a certificate for the listen address."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:stopped (Ctrl-C)", "2:bad usage or configuration", "3:the CA is missing or could not be unlocked",
                "4:the registry or audit log cannot be read or written",
                "7:the listen address cannot be bound (in use, not this host's, not permitted)"})
public final class ServeCommand implements Callable<Integer> {
    @Mixin
    PkiOptions options;

    @Option(names = "--listen", paramLabel = "ADDR:PORT", description = "Listen address (default: server.listen, 127.0.0.1:8443).")
    String listen;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException, InterruptedException {
        HostPort override = null;
        if (listen != null) {
            try {
                override = HostPort.parse(listen);
            } catch (IllegalArgumentException e) {
                throw new Exit(Exit.USAGE, "--listen: " + e.getMessage());
            }
        }
        HostPort hp = override;
        UnaryOperator<PkiSettings> adjust = s -> hp == null ? s : new PkiSettings(s.ca(), s.certificates(), s.enrollment(), s.revocation(),
                new PkiSettings.Server(hp, s.server().tlsCertificate(), s.server().tlsKey()));
        try (PkiContext served = PkiContext.open(options, adjust)) {
            PkiSettings s = served.settings();
            CertificateAuthority ca = served.ca();
            ServerCredentials creds = s.server().tlsCertificate() != null
                    ? ServerCredentials.fromFiles(s.server().tlsCertificate(), s.server().tlsKey())
                    : ServerCredentials.selfIssued(served.service(), ca, served.dir(), s.server().listen().host(), served.clock.instant());
            // TLS 1.3; client certificates optional (simpleenroll has none yet, simplereenroll needs one) and checked against the CA
            var tls = TlsContexts.server(creds.key(), creds.certificate(), ca.chain()).provider(TlsContexts.provider())
                    .clientAuth(ClientAuth.OPTIONAL).trust(ca.chain()).build();
            PkiServer started;
            try {
                started = PkiServer.start(s.server().listen().socketAddress(), tls, served.service(), ca, served.crl(),
                        new OcspResponder(ca, served.registry, served.clock));
            } catch (InterruptedException | RuntimeException e) {
                throw e;
            } catch (Exception e) { // a bind failure: Netty's sync() rethrows it undeclared (checked)
                Optional<BindException> bind = Transport.bindFailure(e); // the JDK's, or a native transport's
                if (bind.isPresent()) {
                    BindException b = bind.get();
                    String why = b.getMessage() == null ? "cannot bind" : b.getMessage();
                    throw new Exit(Exit.LISTEN, "cannot start the PKI server: listener " + s.server().listen() + ": "
                            + why.substring(0, 1).toLowerCase(Locale.ROOT) + why.substring(1)
                            + (listen != null ? " (--listen)" : " (server.listen)"));
                }
                throw new Exit(Exit.UNAVAILABLE, "cannot start the PKI server: " + e.getMessage());
            }
            PrintWriter err = spec.commandLine().getErr();
            // DATA/ca/crl.der signed now if missing or half-way through, and kept so while it serves
            try (PkiServer server = started;
                 CrlPublisher.Refresher fresh = served.crl().keepFresh(e -> {
                     err.println("postern pki serve: cannot re-sign the CRL " + served.store.crlFile() + ": " + e.getMessage());
                     err.flush();
                 })) {
                PrintWriter out = spec.commandLine().getOut();
                String base = "https://" + s.server().listen();
                out.println("Serving the Postern PKI (TLS 1.3, " + TlsContexts.provider() + "):");
                out.println("  EST   " + base + "/.well-known/est/  (cacerts, simpleenroll, simplereenroll)");
                out.println("  CRL   " + base + "/pki/crl");
                out.println("  OCSP  " + base + "/pki/ocsp");
                out.println("  root SHA-256: " + ca.rootSha256());
                out.println("Stop with Ctrl-C.");
                out.flush();
                Runtime.getRuntime().addShutdownHook(new Thread(server::close, "pki-serve-shutdown"));
                server.awaitClose();
            }
            return 0;
        }
    }
}
