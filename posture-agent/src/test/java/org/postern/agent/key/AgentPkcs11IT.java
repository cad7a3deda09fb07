package org.postern.agent.key;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postern.agent.cli.AgentCommand;
import org.postern.agent.enroll.Enroller;
import org.postern.agent.state.AgentHome;
import org.postern.pki.PkiService;
import org.postern.pki.testing.SoftHsmToken;
import org.postern.pki.testing.TestPki;
import picocli.CommandLine;

/**
 * The agent with its device key in a PKCS#11 token: SoftHSM2 with a token made for this run,
 * enrolling against a real PKI server on loopback and renewing over simplereenroll with the token
 * key as TLS client key.
 *
 * <p>SoftHSM2 reads {@code SOFTHSM2_CONF} from the process environment, which a running JVM cannot
 * change, so everything that opens the token runs in a child JVM ({@link Child}) started with it
 * (as in {@code Pkcs11CaIT}); the PKI server runs here. Nothing under {@code /etc} is touched.
 */
@Timeout(300)
class AgentPkcs11IT {
    private static final String PIN = SoftHsmToken.PIN;

    @TempDir
    static Path tmp;
    static Path softhsmConf;
    static Path pkcs11Config;
    static TestPki pki;

    @BeforeAll
    static void tokenAndPki() throws Exception {
        SoftHsmToken token = SoftHsmToken.create(tmp, "postern-agent-it", "PosternAgentIT");
        softhsmConf = token.softhsmConf();
        pkcs11Config = token.pkcs11Config();

        pki = TestPki.create();
        pki.startServer();
    }

    @AfterAll
    static void stopPki() {
        if (pki != null) {
            pki.close();
        }
    }

    private static String enrollmentToken(String device) {
        PkiService.NewDevice d = pki.service.addDevice(device, "alice", List.of("admins"), null, null, "test");
        return d.token().reveal();
    }

    @Test
    void enroll_pkcs11_keyStaysInTheTokenAndRenewalUsesItForTls() throws Exception {
        Path home = tmp.resolve("agent-a");
        Result r = child(Map.of("POSTERN_AGENT_PIN", PIN, "POSTERN_ENROLL_TOKEN", enrollmentToken("laptop-hsm-a")),
                "cli", "--home", home.toString(), "enroll", "--gateway", pki.url(""), "--ca-sha256", pki.ca.rootSha256(),
                "--pkcs11", pkcs11Config.toString(), "--pkcs11-alias", "device-a");
        assertThat(r.exit()).as(r.output()).isZero();
        assertThat(r.output()).contains("Enrolled as laptop-hsm-a.", "key: PKCS#11 token, alias device-a (config " + pkcs11Config + ")");
        assertThat(home.resolve("device.key")).doesNotExist();
        assertThat(Files.readString(home.resolve("enrollment.json")))
                .contains("\"type\" : \"pkcs11\"", "\"alias\" : \"device-a\"").doesNotContain(PIN);
        X509Certificate first = new AgentHome(home).certificate();
        assertThat(pki.registry.device("laptop-hsm-a").orElseThrow().status().wireName()).isEqualTo("active");

        Result inspect = child(Map.of("POSTERN_AGENT_PIN", PIN), "inspect", "device-a", home.resolve("device.crt").toString());
        assertThat(inspect.exit()).as(inspect.output()).isZero();
        // "sensitive": the token never reveals the key value (CKA_SENSITIVE); "unextractable": nor wraps it out.
        assertThat(inspect.output()).contains(
                "key device-a: SunPKCS11-PosternAgentIT EC private key, 256 bits token object, sensitive, unextractable",
                "public key of device-a matches the certificate: true");

        Result status = child(Map.of(), "cli", "--home", home.toString(), "status");
        assertThat(status.exit()).as(status.output()).isZero();
        assertThat(status.output()).contains("device:       laptop-hsm-a", "key:          PKCS#11 token, alias device-a");

        // 61 days on: renewal is due; simplereenroll authenticates with the token key over TLS
        Result renew = child(Map.of("POSTERN_AGENT_PIN", PIN), "renew", home.toString(), "61");
        assertThat(renew.exit()).as(renew.output()).isZero();
        assertThat(renew.output()).contains("renewed");
        AgentHome h = new AgentHome(home);
        X509Certificate renewed = h.certificate();
        assertThat(renewed.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
        assertThat(renewed.getPublicKey()).isNotEqualTo(first.getPublicKey());
        assertThat(renewed.getSubjectX500Principal()).isEqualTo(first.getSubjectX500Principal());
        assertThat(home.resolve("device.key")).doesNotExist();
        assertThat(h.enrollment().orElseThrow().key()).isEqualTo(
                new DeviceKeys.Pkcs11Key(pkcs11Config.toAbsolutePath(), "device-a-next", null));
        assertThat(pki.registry.certificatesOf("laptop-hsm-a")).hasSize(2);
        assertThat(pki.lastAudit("pki.renew").path("rekey").asBoolean()).isTrue();

        Result after = child(Map.of("POSTERN_AGENT_PIN", PIN), "inspect", "device-a-next", home.resolve("device.crt").toString());
        assertThat(after.output()).contains(
                "key device-a-next: SunPKCS11-PosternAgentIT EC private key, 256 bits token object, sensitive, unextractable",
                "public key of device-a-next matches the certificate: true",
                "aliases: [device-a-next]"); // the old entry is gone
    }

    @Test
    void enroll_pkcs11WrongPin_saysSoAndKeepsTheEnrollmentToken() throws Exception {
        Path home = tmp.resolve("agent-b");
        Result r = child(Map.of("POSTERN_AGENT_PIN", "99999999", "POSTERN_ENROLL_TOKEN", enrollmentToken("laptop-hsm-b")),
                "cli", "--home", home.toString(), "enroll", "--gateway", pki.url(""), "--ca-sha256", pki.ca.rootSha256(),
                "--pkcs11", pkcs11Config.toString(), "--pkcs11-alias", "device-b");
        assertThat(r.exit()).as(r.output()).isEqualTo(2);
        assertThat(r.output()).contains("postern-agent: the PKCS#11 token PIN is wrong (the token answered CKR_PIN_INCORRECT; PIN from $POSTERN_AGENT_PIN)");
        assertThat(pki.registry.device("laptop-hsm-b").orElseThrow().status().wireName()).isEqualTo("pending");
    }

    @Test
    void renew_tokenWithoutTheAlias_namesTheMissingKey() throws Exception {
        Path home = tmp.resolve("agent-c");
        Path pinFile = tmp.resolve("pin");
        Files.writeString(pinFile, PIN + "\n");
        Result r = child(Map.of("POSTERN_ENROLL_TOKEN", enrollmentToken("laptop-hsm-c")),
                "cli", "--home", home.toString(), "enroll", "--gateway", pki.url(""), "--ca-sha256", pki.ca.rootSha256(),
                "--pkcs11", pkcs11Config.toString(), "--pkcs11-alias", "device-c", "--pin-file", pinFile.toString());
        assertThat(r.exit()).as(r.output()).isZero();
        Result delete = child(Map.of(), "delete", "device-c", pinFile.toString());
        assertThat(delete.exit()).as(delete.output()).isZero();

        Result renew = child(Map.of(), "renew", home.toString(), "61");
        assertThat(renew.exit()).as(renew.output()).isEqualTo(3);
        assertThat(renew.output()).contains("the PKCS#11 token holds no private key device-c for the device certificate");
    }

    // ---- the child JVM

    record Result(int exit, String output) {}

    private static Result child(Map<String, String> env, String... args) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", classpath, Child.class.getName(),
                pkcs11Config.toString()));
        Collections.addAll(cmd, args);
        return run(cmd, env);
    }

    private static Result run(List<String> cmd, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("POSTERN_AGENT_PIN");
        pb.environment().remove("POSTERN_ENROLL_TOKEN");
        pb.environment().putAll(env);
        pb.environment().put("SOFTHSM2_CONF", softhsmConf.toString());
        Process p = pb.start();
        p.getOutputStream().close();
        var output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(output unreadable: " + e + ")";
            }
        });
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd.get(0) + " did not exit within 90 s: " + cmd);
        }
        return new Result(p.exitValue(), output.get(10, TimeUnit.SECONDS));
    }

    /**
     * Runs one step against the token. Arguments: SunPKCS11 config, then
     * {@code cli ARGS…} (the agent CLI; its exit code), {@code inspect ALIAS CERT}, {@code delete ALIAS PINFILE},
     * or {@code renew HOME DAYS} (renewIfDue with the clock DAYS ahead; exit 3 with the message on failure).
     */
    public static final class Child {
        private Child() {}

        public static void main(String[] args) throws Exception {
            System.setProperty("logback.configurationFile", "postern-agent-logback.xml");
            Path config = Path.of(args[0]);
            String action = args[1];
            try {
                switch (action) {
                    case "cli" -> {
                        StringWriter out = new StringWriter();
                        CommandLine cl = AgentCommand.commandLine();
                        cl.setOut(new PrintWriter(out, true));
                        cl.setErr(new PrintWriter(out, true));
                        int code = cl.execute(java.util.Arrays.copyOfRange(args, 2, args.length));
                        System.out.println(out);
                        System.out.flush();
                        System.exit(code);
                    }
                    case "inspect" -> inspect(config, args[2], Path.of(args[3]));
                    case "delete" -> {
                        KeyStore ks = login(config, Files.readString(Path.of(args[3])).strip());
                        ks.deleteEntry(args[2]);
                    }
                    case "renew" -> {
                        Enroller late = new Enroller(new AgentHome(Path.of(args[2])),
                                Clock.offset(Clock.system(ZoneOffset.UTC), Duration.ofDays(Long.parseLong(args[3]))), new SecureRandom());
                        System.out.println(late.renewIfDue().map(c -> "renewed " + c.getSerialNumber().toString(16)).orElse("not due"));
                    }
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

        private static KeyStore login(Path config, String pin) throws Exception {
            Provider p = Security.getProvider("SunPKCS11").configure(config.toString());
            KeyStore ks = KeyStore.getInstance("PKCS11", p);
            ks.load(null, pin.toCharArray());
            return ks;
        }

        private static void inspect(Path config, String alias, Path certFile) throws Exception {
            KeyStore ks = login(config, System.getenv("POSTERN_AGENT_PIN"));
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(certFile)));
            System.out.println("key " + alias + ": " + ks.getKey(alias, null));
            System.out.println("public key of " + alias + " matches the certificate: "
                    + ks.getCertificate(alias).getPublicKey().equals(cert.getPublicKey()));
            System.out.println("aliases: " + Collections.list(ks.aliases()));
        }
    }
}
