package org.postern.pki.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.audit.JsonLinesAuditSink;
import org.postern.config.HostPort;
import org.postern.config.PkiSettings;
import org.postern.config.Secret;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CaStore;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.keys.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import org.postern.keys.Pem;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.ocsp.OcspResponder;
import org.postern.pki.registry.SqliteRegistry;
import org.postern.pki.server.PkiServer;
import io.netty.handler.ssl.ClientAuth;
import org.postern.tls.TlsContexts;

/**
 * A complete PKI generated for one test: a temporary data directory, a CA unlocked with
 * {@link #PASSPHRASE}, the SQLite registry, the JSON-lines audit sink
 * ({@code DATA/audit/pki-audit.jsonl}), the service, CRL publisher and OCSP responder, all on a
 * {@link MutableClock}. {@link #startServer()} issues a server certificate for 127.0.0.1 and serves
 * EST, CRL and OCSP on the loopback port chosen at creation (so the URLs in device certificates
 * point at it). Shared with the gateway and CLI tests through the pki test-jar.
 */
public final class TestPki implements AutoCloseable {
    public static final Secret PASSPHRASE = Secret.of("correct horse battery staple");
    public static final String CA_NAME = "Postern Test";
    private static final ObjectMapper JSON = new ObjectMapper();

    public final MutableClock clock;
    public final SecureRandom random = new SecureRandom();
    public final Path dataDir;
    public final CaStore store;
    public final CertificateAuthority ca;
    public final SqliteRegistry registry;
    public final JsonLinesAuditSink audit;
    public final PkiSettings settings;
    public final CrlPublisher crl;
    public final OcspResponder ocsp;
    public final PkiService service;
    public final int port;
    private PkiServer server;
    private Path tlsDir;

    private TestPki(MutableClock clock) throws IOException {
        this.clock = clock;
        this.dataDir = Files.createTempDirectory("postern-pki-test");
        boolean ok = false;
        try {
            this.port = freeLoopbackPort();
            PkiSettings d = PkiSettings.defaults();
            this.settings = new PkiSettings(d.ca(), d.certificates(), d.enrollment(), d.revocation(),
                    new PkiSettings.Server(new HostPort("127.0.0.1", port), null, null));
            this.store = new CaStore(dataDir);
            this.ca = store.init(CA_NAME, new KeyProtection.Passphrase(PASSPHRASE), clock.instant(), random,
                    settings.certificates().ocspResponderLifetime());
            this.registry = SqliteRegistry.open(dataDir, clock);
            this.audit = new JsonLinesAuditSink(auditFile(), "test");
            this.crl = new CrlPublisher(ca, registry, store.crlFile(), settings.revocation().crlValidity(), clock);
            this.ocsp = new OcspResponder(ca, registry, clock);
            this.service = new PkiService(() -> ca, registry, audit, settings, clock, random, () -> crl);
            ok = true;
        } finally {
            if (!ok) {
                deleteTree(dataDir);
            }
        }
    }

    /** A PKI whose clock starts at the real time: what the real clients check certificates against. */
    public static TestPki create() {
        return create(MutableClock.atSystemTime());
    }

    public static TestPki create(MutableClock clock) {
        try {
            return new TestPki(clock);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the test PKI: " + e.getMessage(), e);
        }
    }

    /** Issues a server certificate for 127.0.0.1 (written to {@code DATA/tls/}) and starts the PKI server. */
    public synchronized PkiServer startServer() {
        if (server != null) {
            return server;
        }
        try {
            PkiService.Issued tls = service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test");
            tlsDir = Files.createDirectories(dataDir.resolve("tls"));
            Files.writeString(tlsDir.resolve("server.crt"), Pem.encode(tls.certificate()), StandardCharsets.US_ASCII);
            Files.write(tlsDir.resolve("server.key"), KeyFiles.plainPem(tls.keys().getPrivate()));
            var ssl = TlsContexts.server(tls.keys().getPrivate(), tls.certificate(), ca.chain()).provider(TlsContexts.provider())
                    .clientAuth(ClientAuth.OPTIONAL).trust(ca.chain()).build();
            server = PkiServer.start(new InetSocketAddress("127.0.0.1", port), ssl, service, ca, crl, ocsp);
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the PKI server: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the PKI server", e);
        }
    }

    /** {@code https://127.0.0.1:PORT} + path. */
    public String url(String path) {
        return "https://127.0.0.1:" + port + path;
    }

    public Path auditFile() {
        return dataDir.resolve("audit").resolve("pki-audit.jsonl");
    }

    public Path rootFile() {
        return store.rootCertificateFile();
    }

    public Path issuingFile() {
        return store.dir().resolve("issuing.crt");
    }

    /**
     * TLS 1.3 for a client of this PKI: its key and certificate (sent with the CA chain), trusting
     * this root — what a laptop holding an enrolled device certificate uses.
     */
    public javax.net.ssl.SSLContext clientTls(java.security.PrivateKey key, X509Certificate cert) {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(cert);
        chain.addAll(ca.chain());
        return TlsContexts.client().identity(key, chain).trust(List.of(ca.root())).jdk();
    }

    public Path chainFile() {
        return store.chainFile();
    }

    /** Every audit record so far, parsed. */
    public List<JsonNode> auditLines() {
        try {
            if (!Files.exists(auditFile())) {
                return List.of();
            }
            List<JsonNode> out = new ArrayList<>();
            for (String line : Files.readAllLines(auditFile(), StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    out.add(JSON.readTree(line));
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + auditFile() + ": " + e.getMessage(), e);
        }
    }

    /** The audit records of one type, in order. */
    public List<JsonNode> auditLines(String type) {
        return auditLines().stream().filter(n -> type.equals(n.path("type").asText())).toList();
    }

    /** The last audit record of one type; fails if there is none. */
    public JsonNode lastAudit(String type) {
        List<JsonNode> l = auditLines(type);
        if (l.isEmpty()) {
            throw new AssertionError("no audit record of type " + type + " in " + auditFile() + "; records: " + auditLines());
        }
        return l.getLast();
    }

    /** A device registered and enrolled in memory: its key and certificate. */
    public record Enrolled(String id, KeyPair keys, X509Certificate certificate) {}

    /** Registers a pending device (owner alice, group staff) and returns its one-time token. */
    public String registerForToken(String device) {
        return service.addDevice(device, "alice", List.of("staff"), null, null, "test").token().reveal();
    }

    public Enrolled enroll(String id, String owner) {
        PkiService.NewDevice d = service.addDevice(id, owner, List.of("staff"), null, null, "test");
        KeyPair keys = TestCsrs.p256();
        X509Certificate cert = service.enroll(id, d.token(), TestCsrs.body(keys, id), "test");
        return new Enrolled(id, keys, cert);
    }

    /** Writes a certificate (or another PEM-encodable object) to {@code file}. */
    public static Path writePem(Path file, Object certOrKey) {
        try {
            Files.writeString(file, Pem.encode(certOrKey), StandardCharsets.US_ASCII);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A scratch directory inside the data directory, removed with it. */
    public Path workDir(String name) {
        try {
            return Files.createDirectories(dataDir.resolve("work").resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void close() {
        Throwable first = null;
        for (AutoCloseable c : new AutoCloseable[] {server, registry, audit}) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception | Error e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        server = null;
        deleteTree(dataDir);
        if (first instanceof RuntimeException r) {
            throw r;
        }
        if (first instanceof Error e) {
            throw e;
        }
        if (first != null) {
            throw new IllegalStateException(first);
        }
    }

    private static int freeLoopbackPort() throws IOException {
        return org.postern.pki.testing.FreePorts.next();
    }

    /** Deletes {@code root} and everything under it; nothing when it does not exist. */
    public static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    Files.delete(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the test directory " + root + ": " + e.getMessage(), e);
        }
    }

}
