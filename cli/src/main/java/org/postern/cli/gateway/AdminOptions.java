package org.postern.cli.gateway;

import java.io.IOException;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.postern.cli.DefaultPaths;
import org.postern.cli.Exit;
import org.postern.config.HostPort;
import org.postern.config.gateway.GatewaySettings;
import org.postern.pki.ca.CaStore;
import picocli.CommandLine.Option;

/**
 * How {@code postern gateway sessions|kill} reach the running gateway: its admin address and data
 * directory from {@code --config gateway.yaml}, the CA chain in {@code DATA/ca/chain.pem}, and an
 * admin certificate and key, by default the one pair in {@code DATA/admin/} that
 * {@code postern pki issue-admin} wrote.
 */
final class AdminOptions {
    @Option(names = "--config", paramLabel = "gateway.yaml", defaultValue = "${env:POSTERN_GATEWAY_CONFIG}",
            description = "The running gateway's settings: its listeners.admin address and dataDir"
                    + " (default: $POSTERN_GATEWAY_CONFIG, else /etc/postern/gateway.yaml when it exists).")
    Path config;

    @Option(names = "--url", paramLabel = "URL",
            description = "Admin endpoint, e.g. https://127.0.0.1:9443 (default: listeners.admin of --config).")
    URI url;

    @Option(names = "--cacert", paramLabel = "FILE",
            description = "CA chain to trust (default: DATA/ca/chain.pem of --config).")
    Path cacert;

    @Option(names = "--cert", paramLabel = "FILE",
            description = "Admin certificate, PEM (default: the one NAME.crt in DATA/admin/, from postern pki issue-admin).")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE",
            description = "Its private key, PEM (default: NAME.key beside the certificate).")
    Path key;

    AdminClient client() {
        Path file = config;
        if (file == null && url == null && Files.isRegularFile(DefaultPaths.gatewayConfig())) {
            file = DefaultPaths.gatewayConfig(); // an installed gateway's: sessions and kill work without options there
        }
        GatewaySettings settings = file != null ? GatewaySettings.load(file) : null;
        if (settings == null && (url == null || cacert == null || cert == null)) {
            throw new Exit(Exit.USAGE, "expected --config gateway.yaml (or all of --url, --cacert, --cert and --key), found "
                    + (url == null ? "no --url" : "no --cacert or --cert"));
        }
        URI base = url != null ? url : adminUrl(settings.listeners().admin());
        Path data = settings != null ? settings.dataDir() : null;
        Path trust = cacert != null ? cacert : new CaStore(data).chainFile();
        Path c = cert;
        Path k = key;
        if (c == null) {
            c = onlyAdminCertificate(data.resolve("admin"));
        }
        if (k == null) {
            String name = c.getFileName().toString();
            k = c.resolveSibling((name.endsWith(".crt") ? name.substring(0, name.length() - 4) : name) + ".key");
        }
        for (Path p : List.of(trust, c, k)) {
            if (!Files.isRegularFile(p)) {
                throw new Exit(Exit.USAGE, "expected a readable file, found none at " + p);
            }
        }
        return AdminClient.open(base, trust, c, k);
    }

    static URI adminUrl(HostPort admin) {
        String host = admin.host().contains(":") ? "[" + admin.host() + "]" : admin.host();
        return URI.create("https://" + host + ":" + admin.port() + "/");
    }

    private static Path onlyAdminCertificate(Path dir) {
        List<Path> found = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "*.crt")) {
                s.forEach(found::add);
            } catch (IOException e) {
                throw new Exit(Exit.USAGE, "cannot list " + dir + ": " + e.getMessage());
            }
        }
        if (found.size() == 1) {
            return found.getFirst();
        }
        if (found.isEmpty()) {
            throw new Exit(Exit.USAGE, "expected an admin certificate in " + dir + ", found none; issue one with: "
                    + "postern pki issue-admin --dir " + dir.getParent() + " --name NAME --role security-admin (or pass --cert/--key)");
        }
        found.sort(null);
        throw new Exit(Exit.USAGE, "expected one admin certificate in " + dir + ", found " + found.size() + " ("
                + String.join(", ", found.stream().map(p -> p.getFileName().toString()).toList())
                + "); choose one with --cert FILE --key FILE");
    }
}
