package org.postern.agent.enroll;

import java.io.IOException;
import java.net.URI;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

import org.postern.agent.key.DeviceKey;
import org.postern.agent.key.DeviceKeyStore;
import org.postern.agent.key.DeviceKeys;
import org.postern.agent.state.AgentHome;
import org.postern.config.Secret;
import org.postern.keys.Fingerprints;

/**
 * Enrollment and renewal of the device certificate. The key is generated here and never leaves
 * the device; the gateway is trusted only through the root fingerprint IT security handed out.
 */
public final class Enroller {
    private final AgentHome home;
    private final Clock clock;
    private final SecureRandom random;
    private final Map<String, String> env;

    public Enroller(AgentHome home, Clock clock, SecureRandom random) {
        this(home, clock, random, System.getenv());
    }

    /** @param env where a token key's PIN comes from ({@code $POSTERN_AGENT_PIN}) when no PIN file was recorded */
    public Enroller(AgentHome home, Clock clock, SecureRandom random, Map<String, String> env) {
        this.home = home;
        this.clock = clock;
        this.random = random;
        this.env = Map.copyOf(env);
    }

    /** What enrollment produced. */
    public record Enrolled(String device, X509Certificate certificate) {}

    /**
     * Enrolls over EST: fetches the CA chain (TLS pinned to {@code caSha256}), checks the chain
     * holds that root, makes a P-256 key, sends the CSR with the token, stores key and certificate.
     * The key is a file in the agent directory.
     */
    public Enrolled enroll(URI gateway, String deviceId, Secret token, String caSha256) throws IOException, InterruptedException {
        return enroll(gateway, deviceId, token, caSha256, DeviceKeyStore.open(home.fileKey(), env));
    }

    /** Enrolls as above with the key made in {@code keys} (a file, or inside a PKCS#11 token). */
    public Enrolled enroll(URI gateway, String deviceId, Secret token, String caSha256, DeviceKeyStore keys)
            throws IOException, InterruptedException {
        String pin = Fingerprints.normalize(caSha256);
        EstClient est = new EstClient(estBase(gateway), EstClient.pinned(pin));
        List<X509Certificate> cacerts = est.cacerts();
        if (cacerts.stream().noneMatch(c -> Fingerprints.sha256(c).equals(pin))) {
            throw new IOException("the gateway's EST cacerts does not contain the pinned root (expected SHA-256 " + pin + ")");
        }
        DeviceKey fresh = keys.generate(random);
        X509Certificate cert = est.simpleEnroll(deviceId, token, EstClient.csr(fresh, deviceId != null ? deviceId : "device"));
        checkCarries(cert, fresh);
        String device = commonName(cert);
        DeviceKeys where = keys.storeFirst(fresh, cert);
        home.saveEnrollment(new AgentHome.Enrollment(gateway.toString(), pin, device, clock.instant(), where), cert, cacerts);
        return new Enrolled(device, cert);
    }

    /**
     * Re-enrolls (with a new key) when less than a third of the certificate's lifetime is left.
     * Returns the new certificate, or empty when it is not yet due.
     */
    public Optional<X509Certificate> renewIfDue() throws IOException, InterruptedException {
        AgentHome.Enrollment e = home.enrollment().orElseThrow(() -> new IOException("not enrolled: run postern-agent enroll first"));
        return renewIfDue(URI.create(e.gateway()));
    }

    /**
     * As {@link #renewIfDue()}, through the gateway at {@code via} (the one {@code up} is about to
     * use: with several gateways, the one enrolled at may be the one that is down).
     */
    public Optional<X509Certificate> renewIfDue(URI via) throws IOException, InterruptedException {
        X509Certificate current = home.certificate();
        if (!renewalDue(current, clock.instant())) {
            return Optional.empty();
        }
        AgentHome.Enrollment e = home.enrollment().orElseThrow(() -> new IOException("not enrolled: run postern-agent enroll first"));
        DeviceKeyStore keys = DeviceKeyStore.open(e.key(), env);
        DeviceKey old = keys.current(current);
        EstClient est = new EstClient(estBase(via), EstClient.withDeviceKey(e.caSha256(), old, List.of(current)));
        DeviceKey fresh = keys.generate(random);
        X509Certificate renewed = est.simpleReenroll(EstClient.csr(fresh, e.device()));
        checkCarries(renewed, fresh);
        // new key and certificate first, then the record, then the old key goes
        DeviceKeys where = keys.storeNext(fresh, renewed);
        home.saveRenewal(renewed, where);
        keys.retireAllBut(where);
        return Optional.of(renewed);
    }

    private static void checkCarries(X509Certificate cert, DeviceKey sent) throws IOException {
        if (!cert.getPublicKey().equals(sent.publicKey())) {
            throw new IOException("the certificate returned does not carry the key this device sent");
        }
    }

    /** Due once two thirds of the validity have passed. */
    public static boolean renewalDue(X509Certificate cert, Instant now) {
        Instant start = cert.getNotBefore().toInstant();
        Duration life = Duration.between(start, cert.getNotAfter().toInstant());
        return !now.isBefore(start.plus(life.multipliedBy(2).dividedBy(3)));
    }

    static URI estBase(URI gateway) {
        String g = gateway.toString();
        return URI.create((g.endsWith("/") ? g.substring(0, g.length() - 1) : g) + "/.well-known/est/");
    }

    /** The device id: the CN the CA wrote from its registry. */
    public static String commonName(X509Certificate cert) throws IOException {
        try {
            for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
        } catch (InvalidNameException e) {
            throw new IOException("cannot read the certificate subject: " + e.getMessage(), e);
        }
        throw new IOException("the certificate has no CN: " + cert.getSubjectX500Principal());
    }
}
