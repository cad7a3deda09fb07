package org.postern.bench;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.ocsp.OCSPObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cert.ocsp.CertificateID;
import org.bouncycastle.cert.ocsp.OCSPReqBuilder;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;
import org.postern.audit.JsonLinesAuditSink;
import org.postern.config.PkiSettings;
import org.postern.config.Secret;
import org.postern.pki.PkiService;
import org.postern.pki.ca.CaStore;
import org.postern.pki.ca.CertificateAuthority;
import org.postern.keys.KeyFiles;
import org.postern.pki.ca.KeyProtection;
import org.postern.pki.crl.CrlPublisher;
import org.postern.pki.ocsp.OcspResponder;
import org.postern.pki.registry.CertificateRecord;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.registry.EnrollmentToken;
import org.postern.pki.registry.RevocationReason;
import org.postern.pki.registry.Registry;
import org.postern.pki.registry.SqliteRegistry;

/**
 * PKI benchmarks through the real code paths, a plain harness (warm-up, then bounded measured
 * runs). Not a test: it prints figures; bench/pki/run.sh runs it beside openssl.
 *
 * <pre>
 * PkiBench enroll DIR N       PkiService.enroll: N devices 1 thread, N on 2 threads, N with 16 in flight (after a warm-up);
 *                             also writes DIR/csr/*.pem and the decrypted issuing key for openssl
 * PkiBench crl DIR ENTRIES    registry with ENTRIES revoked certificates; times CrlPublisher.publish
 * PkiBench ocsp DIR SECONDS   OcspResponder.respond on pre-built requests, half good, half revoked
 * </pre>
 */
public final class PkiBench {
    private static final Secret PASSPHRASE = Secret.of("bench passphrase, not a secret");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Clock CLOCK = Clock.systemUTC();

    private PkiBench() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        switch (args[0]) {
            case "enroll" -> enroll(dir, Integer.parseInt(args[2]));
            case "crl" -> crl(dir, Integer.parseInt(args[2]));
            case "ocsp" -> ocsp(dir, Integer.parseInt(args[2]));
            default -> throw new IllegalArgumentException("expected enroll, crl or ocsp, found " + args[0]);
        }
    }

    // ---- shared setup

    private static CertificateAuthority ca(Path data) throws IOException {
        CaStore store = new CaStore(data);
        if (!store.exists()) {
            store.init("Postern Bench", new KeyProtection.Passphrase(PASSPHRASE), CLOCK.instant(), RANDOM, Duration.ofDays(7));
        }
        return store.load(new KeyProtection.Passphrase(PASSPHRASE), CLOCK.instant(), RANDOM, Duration.ofDays(7));
    }

    private static byte[] csr(String cn, KeyPair kp) throws Exception {
        return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + cn), kp.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
    }

    record Enrollment(String device, Secret token, byte[] body) {}

    // ---- (1) certificates issued per second

    private static void enroll(Path data, int n) throws Exception {
        try (SqliteRegistry registry = SqliteRegistry.open(data, CLOCK)) {
            enroll(data, n, registry);
        }
        // The issuing key, decrypted, for openssl ca (so openssl pays no PBKDF2 either).
        Files.write(data.resolve("openssl-issuing.key"),
                KeyFiles.plainPem(KeyFiles.readEncrypted(data.resolve("ca/issuing.key"), PASSPHRASE)));
    }

    /** Issuance on {@code registry} (SQLite here, PostgreSQL too in bench/cluster); CA and audit in {@code data}. */
    static void enroll(Path data, int n, Registry registry) throws Exception {
        CertificateAuthority ca = ca(data);
        JsonLinesAuditSink audit = new JsonLinesAuditSink(data.resolve("audit.jsonl"), "bench");
        PkiService pki = new PkiService(() -> ca, registry, audit, PkiSettings.defaults(), CLOCK, RANDOM,
                () -> { throw new IllegalStateException("no CRL in this benchmark"); });
        int warm = Math.max(200, n / 5);
        long t0 = System.nanoTime();
        List<Enrollment> all = prepare(pki, data, "dev-", warm + 3 * n);
        System.out.printf("enroll.setup devices=%d seconds=%.1f (addDevice + CSR per device, not timed below)%n",
                all.size(), (System.nanoTime() - t0) / 1e9);
        run(pki, all.subList(0, warm), 1);
        double one = run(pki, all.subList(warm, warm + n), 1);
        double two = run(pki, all.subList(warm + n, warm + 2 * n), 2);
        // 16 requests in flight, as a server sees when many laptops enroll at once: commits share fsyncs
        double sixteen = run(pki, all.subList(warm + 2 * n, warm + 3 * n), 16);
        System.out.printf("enroll.1thread certs=%d per_second=%.0f%n", n, one);
        System.out.printf("enroll.2threads certs=%d per_second=%.0f%n", n, two);
        System.out.printf("enroll.16concurrent certs=%d per_second=%.0f%n", n, sixteen);
        audit.close();
    }

    private static List<Enrollment> prepare(PkiService pki, Path data, String prefix, int count) throws Exception {
        Path csrDir = Files.createDirectories(data.resolve("csr"));
        List<Enrollment> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            String id = prefix + i;
            PkiService.NewDevice d = pki.addDevice(id, "bench", List.of("admins"), "SN-" + i, null, "bench");
            byte[] der = csr(id, KeyFiles.generateP256(RANDOM));
            out.add(new Enrollment(id, d.token(), Base64.getEncoder().encode(der)));
            if (i < 2000) { // the same kind of CSRs for openssl ca
                try (PemWriter w = new PemWriter(Files.newBufferedWriter(csrDir.resolve(id + ".pem")))) {
                    w.writeObject(new PemObject("CERTIFICATE REQUEST", der));
                }
            }
        }
        return out;
    }

    /** Enrolls each device once over {@code threads} threads; returns certificates per second. */
    private static double run(PkiService pki, List<Enrollment> work, int threads) throws Exception {
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long start = System.nanoTime();
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            fs.add(pool.submit(() -> {
                for (int i; (i = next.getAndIncrement()) < work.size(); ) {
                    Enrollment e = work.get(i);
                    X509Certificate c = pki.enroll(e.device(), e.token(), e.body(), "127.0.0.1");
                    if (c == null) {
                        throw new AssertionError("no certificate");
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get();
        }
        long elapsed = System.nanoTime() - start;
        pool.shutdown();
        return work.size() / (elapsed / 1e9);
    }

    // ---- (2) CRL with many entries

    private static void crl(Path data, int entries) throws Exception {
        CertificateAuthority ca = ca(data);
        try (SqliteRegistry registry = SqliteRegistry.open(data, CLOCK)) {
            Instant now = CLOCK.instant();
            int perDevice = 1000;
            int devices = (entries + perDevice - 1) / perDevice;
            long t0 = System.nanoTime();
            StringBuilder index = new StringBuilder(entries * 80);
            String expiry = openSslTime(now.plus(Duration.ofDays(90)));
            String revokedAt = openSslTime(now);
            long serial = 1_000_000;
            for (int d = 0; d < devices; d++) {
                String id = "crl-" + d;
                registry.addDevice(new Device(id, "bench", List.of(), DeviceStatus.PENDING, null, now, null, null, null),
                        new EnrollmentToken("t" + d, id, now, now.plus(Duration.ofDays(1)), null));
                for (int i = 0; i < perDevice && (long) d * perDevice + i < entries; i++) {
                    CertificateRecord r = record(id, BigInteger.valueOf(serial++), now);
                    if (i == 0) {
                        registry.completeEnrollment("t" + d, r, now);
                    } else {
                        registry.recordRenewal(r, null, now);
                    }
                    index.append("R\t").append(expiry).append('\t').append(revokedAt).append(",keyCompromise\t")
                            .append(evenHex(r.serial())).append("\tunknown\t/CN=").append(id).append('\n');
                }
                registry.revokeDevice(id, RevocationReason.keyCompromise, now);
            }
            System.out.printf("crl.setup entries=%d seconds=%.1f (registry inserts and revocations, not timed below)%n",
                    entries, (System.nanoTime() - t0) / 1e9);
            Files.writeString(data.resolve("openssl-index.txt"), index);
            Files.write(data.resolve("openssl-issuing.key"),
                    KeyFiles.plainPem(KeyFiles.readEncrypted(data.resolve("ca/issuing.key"), PASSPHRASE)));

            CrlPublisher publisher = new CrlPublisher(ca, registry, new CaStore(data).crlFile(), Duration.ofDays(7), CLOCK);
            publisher.publish(); // warm-up
            publisher.publish();
            int runs = 5;
            double[] total = new double[runs];
            double[] query = new double[runs];
            for (int i = 0; i < runs; i++) {
                long q = System.nanoTime();
                int size = registry.revokedCertificates(CLOCK.instant()).size();
                query[i] = (System.nanoTime() - q) / 1e6;
                long s = System.nanoTime();
                CrlPublisher.Published p = publisher.publish();
                total[i] = (System.nanoTime() - s) / 1e6;
                if (p.entries() != entries || size != entries) {
                    throw new AssertionError("expected " + entries + " CRL entries, found " + p.entries());
                }
            }
            System.out.printf("crl.publish entries=%d median_ms=%.0f min_ms=%.0f bytes=%d (registry read alone: median_ms=%.0f)%n",
                    entries, median(total), Arrays.stream(total).min().orElseThrow(), Files.size(new CaStore(data).crlFile()), median(query));
        }
    }

    static CertificateRecord record(String id, BigInteger serial, Instant now) {
        String sha = String.format("%064x", serial);
        return new CertificateRecord(serial, CertificateRecord.Kind.device, id, "CN=" + id, sha, now.minusSeconds(300),
                now.plus(Duration.ofDays(90)), now, null, null, new byte[] {0x30, 0x00});
    }

    /** openssl's index wants an even number of hex digits. */
    private static String evenHex(BigInteger serial) {
        String hex = serial.toString(16).toUpperCase();
        return hex.length() % 2 == 0 ? hex : "0" + hex;
    }

    private static String openSslTime(Instant t) {
        return java.time.format.DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'").withZone(java.time.ZoneOffset.UTC).format(t);
    }

    // ---- (3) OCSP answers per second

    private static void ocsp(Path data, int seconds) throws Exception {
        try (SqliteRegistry registry = SqliteRegistry.open(data, CLOCK)) {
            ocsp(data, seconds, registry);
        }
    }

    /** OCSP answers on {@code registry}; the CA in {@code data}. */
    static void ocsp(Path data, int seconds, Registry registry) throws Exception {
        CertificateAuthority ca = ca(data);
        Instant now = CLOCK.instant();
        int devices = 1000;
        List<BigInteger> serials = new ArrayList<>();
        for (int d = 0; d < devices; d++) {
            String id = "ocsp-" + d;
            if (registry.device(id).isEmpty()) {
                registry.addDevice(new Device(id, "bench", List.of(), DeviceStatus.PENDING, null, now, null, null, null),
                        new EnrollmentToken("o" + d, id, now, now.plus(Duration.ofDays(1)), null));
                registry.completeEnrollment("o" + d, record(id, BigInteger.valueOf(5_000_000 + d), now), now);
                if (d % 2 == 1) {
                    registry.revokeDevice(id, RevocationReason.keyCompromise, now);
                }
            }
            serials.add(BigInteger.valueOf(5_000_000 + d));
        }
        var digest = new JcaDigestCalculatorProviderBuilder().build().get(CertificateID.HASH_SHA1);
        var issuer = new JcaX509CertificateHolder(ca.issuing().certificate());
        List<byte[]> requests = new ArrayList<>();
        for (BigInteger s : serials) {
            byte[] nonce = new byte[16];
            RANDOM.nextBytes(nonce);
            requests.add(new OCSPReqBuilder().addRequest(new CertificateID(digest, issuer, s))
                    .setRequestExtensions(new Extensions(new Extension(OCSPObjectIdentifiers.id_pkix_ocsp_nonce, false,
                            new DEROctetString(new DEROctetString(nonce)))))
                    .build().getEncoded());
        }
        OcspResponder responder = new OcspResponder(ca, registry, CLOCK);
        OCSPResp check = new OCSPResp(responder.respond(requests.get(1)).der());
        if (check.getStatus() != 0) {
            throw new AssertionError("OCSP status " + check.getStatus());
        }
        System.out.println("ocsp.sample " + responder.respond(requests.get(0)).summary() + " / " + responder.respond(requests.get(1)).summary());
        ocspRun(responder, requests, 1, Math.max(2, seconds / 2)); // warm-up
        System.out.printf("ocsp.1thread per_second=%.0f%n", ocspRun(responder, requests, 1, seconds));
        System.out.printf("ocsp.2threads per_second=%.0f%n", ocspRun(responder, requests, 2, seconds));
        Files.write(data.resolve("ocsp-request.der"), requests.get(0));
    }

    private static double ocspRun(OcspResponder responder, List<byte[]> requests, int threads, int seconds) throws Exception {
        AtomicLong done = new AtomicLong();
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long start = System.nanoTime();
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int offset = t;
            fs.add(pool.submit(() -> {
                long n = 0;
                for (int i = offset; System.nanoTime() < end; i++) {
                    OcspResponder.Answer a = responder.respond(requests.get(i % requests.size()));
                    if (a.status() != 0) {
                        throw new AssertionError(a.summary());
                    }
                    n++;
                }
                done.addAndGet(n);
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get();
        }
        long elapsed = System.nanoTime() - start;
        pool.shutdown();
        return done.get() / (elapsed / 1e9);
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
