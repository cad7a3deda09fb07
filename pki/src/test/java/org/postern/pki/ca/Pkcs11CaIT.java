package org.postern.pki.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.audit.JsonLinesAuditSink;
import org.postern.config.PkiSettings;
import org.postern.config.Secret;
import org.postern.keys.KeyFiles;
import org.postern.keys.Pem;
import org.postern.pki.PkiService;
import org.postern.pki.registry.SqliteRegistry;
import org.postern.pki.testing.SoftHsmToken;

/**
 * The CA with its keys in a PKCS#11 token: SoftHSM2 with a token made for this run.
 *
 * <p>SoftHSM2 finds its token directory through {@code SOFTHSM2_CONF}, read from the process
 * environment, which a running JVM cannot change. So everything that opens the token runs in a
 * child JVM ({@link Child}) started with {@code SOFTHSM2_CONF} pointing at a private config under
 * the test's temporary directory; this JVM only prepares the token and checks the results. Nothing
 * under {@code /etc} is read or written.
 */
class Pkcs11CaIT {
    private static final String PIN = SoftHsmToken.PIN;

    @TempDir
    static Path tmp;
    static Path softhsmConf;
    static Path pkcs11Config;
    static Path dataDir;
    static ChildResult initResult;

    @BeforeAll
    static void tokenAndCa() throws Exception {
        SoftHsmToken token = SoftHsmToken.create(tmp, "postern-it", "PosternIT");
        softhsmConf = token.softhsmConf();
        pkcs11Config = token.pkcs11Config();
        dataDir = tmp.resolve("data");
        initResult = child("init", PIN);
    }

    @Test
    void init_pkcs11_createsRootAndIssuingKeysInsideTheToken() throws Exception {
        assertThat(initResult.output()).contains("ok init");
        assertThat(initResult.exit()).isZero();
        Path ca = dataDir.resolve("ca");
        try (Stream<Path> files = Files.list(ca)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .contains("root.crt", "issuing.crt", "chain.pem", "ca.properties")
                    .doesNotContain("root.key", "issuing.key");
        }
        assertThat(Files.readString(ca.resolve("ca.properties"))).contains("keys=pkcs11");

        ChildResult aliases = child("aliases", PIN);
        // "sensitive": the token never reveals the key value (CKA_SENSITIVE); "unextractable": nor wraps it out.
        assertThat(aliases.output()).contains(
                "alias postern-root key: SunPKCS11-PosternIT EC private key, 256 bits token object, sensitive, unextractable",
                "alias postern-issuing key: SunPKCS11-PosternIT EC private key, 256 bits token object, sensitive, unextractable");
    }

    @Test
    void load_pkcs11_issuesDeviceCertificateThatVerifiesAgainstTheChain() throws Exception {
        assertThat(initResult.exit()).as("init: %s", initResult.output()).isZero();
        Path out = tmp.resolve("device.crt");
        ChildResult issued = child("enroll", PIN, out.toString());
        assertThat(issued.output()).contains("ok enroll");
        assertThat(issued.exit()).isZero();

        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        X509Certificate device = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(Files.readAllBytes(out)));
        List<X509Certificate> chain = new ArrayList<>();
        for (var c : cf.generateCertificates(new ByteArrayInputStream(Files.readAllBytes(dataDir.resolve("ca/chain.pem"))))) {
            chain.add((X509Certificate) c);
        }
        X509Certificate issuing = chain.get(0);
        X509Certificate root = chain.get(1);
        assertThat(device.getSubjectX500Principal().getName()).contains("CN=laptop-hsm-1");
        assertThat(device.getIssuerX500Principal()).isEqualTo(issuing.getSubjectX500Principal());

        CertPath path = cf.generateCertPath(List.of(device, issuing));
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(path, params); // throws if any signature or constraint fails
    }

    @Test
    void load_wrongPin_isWrongPassphraseWithClearMessage() throws Exception {
        assertThat(initResult.exit()).as("init: %s", initResult.output()).isZero();
        ChildResult wrong = child("load", "99999999");
        assertThat(wrong.exit()).isEqualTo(3);
        assertThat(wrong.output()).contains("error " + KeyFiles.WrongPassphraseException.class.getName()
                + ": the PKCS#11 token PIN is wrong (the token answered CKR_PIN_INCORRECT)");
    }

    @Test
    void load_pkcs11CaWithPassphrase_saysTheKeysAreInAToken() {
        assertThat(initResult.exit()).as("init: %s", initResult.output()).isZero();
        // Refused from ca.properties before any key is touched, so this runs in this JVM.
        assertThatThrownBy(() -> new CaStore(dataDir).load(new KeyProtection.Passphrase(Secret.of("correct horse battery")),
                Instant.now(), new SecureRandom(), Duration.ofDays(7)))
                .isInstanceOf(IOException.class)
                .hasMessage("the CA in " + dataDir.resolve("ca") + " keeps its keys in a PKCS#11 token; pass --pkcs11 CONFIG and the PIN in POSTERN_CA_PASSPHRASE");
    }

    // ---- the child JVM

    record ChildResult(int exit, String output) {}

    private static ChildResult child(String action, String pin, String... more) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", classpath, Child.class.getName(),
                action, dataDir.toString(), pkcs11Config.toString(), pin));
        Collections.addAll(cmd, more);
        return run(cmd);
    }

    private static ChildResult run(List<String> cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("SOFTHSM2_CONF", softhsmConf.toString());
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes(); // ends when the child exits
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd.get(0) + " did not exit within 60 s; output: " + new String(out, StandardCharsets.UTF_8));
        }
        return new ChildResult(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /**
     * Runs one CA operation against the token and prints {@code ok ACTION} (exit 0) or
     * {@code error CLASS: MESSAGE} (exit 3). Arguments: action, data dir, SunPKCS11 config, PIN,
     * and for {@code enroll} the file to write the device certificate to.
     */
    public static final class Child {
        private Child() {}

        public static void main(String[] args) throws Exception {
            String action = args[0];
            Path data = Path.of(args[1]);
            KeyProtection.Pkcs11 protection = new KeyProtection.Pkcs11(Path.of(args[2]), Secret.of(args[3]));
            SecureRandom random = new SecureRandom();
            Instant now = Instant.now();
            try {
                switch (action) {
                    case "init" -> new CaStore(data).init("Postern IT", protection, now, random, Duration.ofDays(7));
                    case "load" -> new CaStore(data).load(protection, now, random, Duration.ofDays(7));
                    case "aliases" -> aliases(protection);
                    case "enroll" -> enroll(data, protection, Path.of(args[4]), now, random);
                    default -> throw new IllegalArgumentException("unknown action " + action);
                }
                System.out.println("ok " + action);
            } catch (Exception e) {
                System.out.println("error " + e.getClass().getName() + ": " + e.getMessage());
                e.printStackTrace(System.out);
                System.out.flush();
                System.exit(3);
            }
        }

        private static void aliases(KeyProtection.Pkcs11 protection) throws Exception {
            Provider p = Security.getProvider("SunPKCS11").configure(protection.config().toString());
            KeyStore ks = KeyStore.getInstance("PKCS11", p);
            ks.load(null, protection.pin().revealChars());
            for (String alias : Collections.list(ks.aliases())) {
                System.out.println("alias " + alias + (ks.isKeyEntry(alias) ? " key: " + ks.getKey(alias, null) : " cert"));
            }
        }

        private static void enroll(Path data, KeyProtection.Pkcs11 protection, Path out, Instant now, SecureRandom random) throws Exception {
            CertificateAuthority ca = new CaStore(data).load(protection, now, random, Duration.ofDays(7));
            try (SqliteRegistry registry = SqliteRegistry.open(data, Clock.systemUTC())) {
                JsonLinesAuditSink audit = new JsonLinesAuditSink(data.resolve("audit.jsonl"), "pkcs11-it");
                PkiService pki = new PkiService(() -> ca, registry, audit, PkiSettings.defaults(), Clock.systemUTC(), random,
                        () -> { throw new IllegalStateException("no CRL in this test"); });
                PkiService.NewDevice d = pki.addDevice("laptop-hsm-1", "alice", List.of("admins"), "SN-1", null, "it");
                KeyPair kp = KeyFiles.generateP256(random);
                byte[] csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=laptop-hsm-1"), kp.getPublic())
                        .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())).getEncoded();
                X509Certificate cert = pki.enroll("laptop-hsm-1", d.token(),
                        Base64.getEncoder().encode(csr), "127.0.0.1");
                Files.writeString(out, Pem.encode(cert));
                audit.close();
            }
        }
    }
}
