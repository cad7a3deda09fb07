package org.postern.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * The settings of {@code pki.yaml}, read by {@code postern pki serve --config pki.yaml} and the CA.
 * Every setting has a default, so an empty file is valid; see {@code config/examples/pki.yaml}.
 * The constructors validate too, so settings built in code obey the same bounds as a file.
 */
public record PkiSettings(Ca ca, Certificates certificates, Enrollment enrollment, Revocation revocation,
                          Server server, RegistrySettings registry) {

    public PkiSettings {
        Objects.requireNonNull(ca, "ca");
        Objects.requireNonNull(certificates, "certificates");
        Objects.requireNonNull(enrollment, "enrollment");
        Objects.requireNonNull(revocation, "revocation");
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(registry, "registry");
    }

    /** Settings with the registry in the SQLite file of the data directory. */
    public PkiSettings(Ca ca, Certificates certificates, Enrollment enrollment, Revocation revocation, Server server) {
        this(ca, certificates, enrollment, revocation, server, RegistrySettings.defaults());
    }

    /** Every setting at its default. */
    public static PkiSettings defaults() {
        return new PkiSettings(Ca.defaults(), Certificates.defaults(), Enrollment.defaults(),
                Revocation.defaults(), Server.defaults());
    }

    /**
     * Reads {@code file}; relative paths in it are resolved against its directory.
     *
     * @throws ConfigException listing every problem in the file
     */
    public static PkiSettings load(Path file) {
        return ConfigReader.load(file, PkiSettings::read);
    }

    /**
     * The CRL distribution point to put in certificates: {@code revocation.crlUrl}, or when
     * absent {@code http(s)://<server.listen>/pki/crl}. A derived URL is only as reachable as the
     * listen address, so a server listening on a wildcard address should set it.
     */
    public URI crlUrl() {
        return revocation.crlUrl() != null ? revocation.crlUrl() : server.baseUrl().resolve("/pki/crl");
    }

    /** The OCSP URL (AIA) to put in certificates: {@code revocation.ocspUrl}, or derived as {@link #crlUrl()}. */
    public URI ocspUrl() {
        return revocation.ocspUrl() != null ? revocation.ocspUrl() : server.baseUrl().resolve("/pki/ocsp");
    }

    /**
     * The PKI commands' own hash-chained trail under the data directory, beside the gateway's
     * {@code audit/trail}: {@code postern pki …} writes it and {@code postern selfcheck} verifies it, so
     * both take it from here (a copy that drifted would make the check report a missing trail as info).
     */
    public static final String AUDIT_DIR = "audit/pki";

    /** Binds a {@code pki.yaml} document; for {@link ConfigReader#load} and {@link ConfigReader#parse}. */
    public static PkiSettings read(ConfigReader r) {
        return new PkiSettings(
                r.section("ca", Ca::read),
                r.section("certificates", Certificates::read),
                r.section("enrollment", Enrollment::read),
                r.section("revocation", Revocation::read),
                r.section("server", Server::read),
                r.section("registry", RegistrySettings::read));
    }

    /** The issuing CA. */
    public record Ca(String name) {

        /** {@code ca.name}: the CA's common name. */
        public static final String DEFAULT_NAME = "Postern";
        static final int MAX_NAME_LENGTH = 64; // the RFC 5280 upper bound for a common name

        public Ca {
            Objects.requireNonNull(name, "name");
            if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
                throw new IllegalArgumentException("ca.name: expected a string of 1 to " + MAX_NAME_LENGTH
                        + " characters, found " + Found.quote(name));
            }
        }

        public static Ca defaults() {
            return new Ca(DEFAULT_NAME);
        }

        static Ca read(ConfigReader r) {
            return new Ca(r.string("name", DEFAULT_NAME, 1, MAX_NAME_LENGTH));
        }
    }

    /** Lifetimes of the certificates the CA issues, per profile. */
    public record Certificates(Duration deviceLifetime, Duration serverLifetime, Duration adminLifetime,
                               Duration ocspResponderLifetime) {

        public static final Duration DEFAULT_DEVICE_LIFETIME = Duration.ofDays(90);
        // 397 days is the longest lifetime browsers accept for a TLS server certificate.
        public static final Duration DEFAULT_SERVER_LIFETIME = Duration.ofDays(397);
        public static final Duration DEFAULT_ADMIN_LIFETIME = Duration.ofDays(365);
        public static final Duration DEFAULT_OCSP_RESPONDER_LIFETIME = Duration.ofDays(30);
        static final Duration MIN_LIFETIME = Duration.ofHours(1);
        static final Duration MAX_LIFETIME = Duration.ofDays(3650);

        public Certificates {
            Bounds.check("certificates.deviceLifetime", deviceLifetime, MIN_LIFETIME, MAX_LIFETIME);
            Bounds.check("certificates.serverLifetime", serverLifetime, MIN_LIFETIME, MAX_LIFETIME);
            Bounds.check("certificates.adminLifetime", adminLifetime, MIN_LIFETIME, MAX_LIFETIME);
            Bounds.check("certificates.ocspResponderLifetime", ocspResponderLifetime, MIN_LIFETIME, MAX_LIFETIME);
        }

        public static Certificates defaults() {
            return new Certificates(DEFAULT_DEVICE_LIFETIME, DEFAULT_SERVER_LIFETIME, DEFAULT_ADMIN_LIFETIME,
                    DEFAULT_OCSP_RESPONDER_LIFETIME);
        }

        static Certificates read(ConfigReader r) {
            return new Certificates(
                    r.duration("deviceLifetime", DEFAULT_DEVICE_LIFETIME, MIN_LIFETIME, MAX_LIFETIME),
                    r.duration("serverLifetime", DEFAULT_SERVER_LIFETIME, MIN_LIFETIME, MAX_LIFETIME),
                    r.duration("adminLifetime", DEFAULT_ADMIN_LIFETIME, MIN_LIFETIME, MAX_LIFETIME),
                    r.duration("ocspResponderLifetime", DEFAULT_OCSP_RESPONDER_LIFETIME, MIN_LIFETIME,
                            MAX_LIFETIME));
        }
    }

    /** One-time enrollment tokens and EST requests. */
    public record Enrollment(Duration tokenTtl, DataSize maxRequestSize) {

        /** {@code enrollment.tokenTtl}: how long a one-time token stays usable. */
        public static final Duration DEFAULT_TOKEN_TTL = Duration.ofHours(24);
        /** {@code enrollment.maxRequestSize}: the largest EST request body accepted. */
        public static final DataSize DEFAULT_MAX_REQUEST_SIZE = DataSize.ofKiB(64);
        static final Duration MIN_TOKEN_TTL = Duration.ofMinutes(1);
        static final Duration MAX_TOKEN_TTL = Duration.ofDays(30);
        // A CSR is a few hundred bytes; 1KiB..1MiB leaves room for large keys and base64
        // without letting an unauthenticated peer make the server buffer much.
        static final DataSize MIN_REQUEST_SIZE = DataSize.ofKiB(1);
        static final DataSize MAX_REQUEST_SIZE = DataSize.ofMiB(1);

        public Enrollment {
            Bounds.check("enrollment.tokenTtl", tokenTtl, MIN_TOKEN_TTL, MAX_TOKEN_TTL);
            Objects.requireNonNull(maxRequestSize, "maxRequestSize");
            if (maxRequestSize.compareTo(MIN_REQUEST_SIZE) < 0 || maxRequestSize.compareTo(MAX_REQUEST_SIZE) > 0) {
                throw new IllegalArgumentException("enrollment.maxRequestSize: expected a size between "
                        + MIN_REQUEST_SIZE + " and " + MAX_REQUEST_SIZE + ", found " + maxRequestSize);
            }
        }

        public static Enrollment defaults() {
            return new Enrollment(DEFAULT_TOKEN_TTL, DEFAULT_MAX_REQUEST_SIZE);
        }

        static Enrollment read(ConfigReader r) {
            return new Enrollment(
                    r.duration("tokenTtl", DEFAULT_TOKEN_TTL, MIN_TOKEN_TTL, MAX_TOKEN_TTL),
                    r.size("maxRequestSize", DEFAULT_MAX_REQUEST_SIZE, MIN_REQUEST_SIZE, MAX_REQUEST_SIZE));
        }
    }

    /**
     * Where clients find revocation status, and how long a CRL stays valid. A null URL means
     * "derive it from the listen address" ({@code https://<listen>/pki/crl}, {@code /pki/ocsp}).
     */
    public record Revocation(@Nullable URI crlUrl, @Nullable URI ocspUrl, Duration crlValidity) {

        /** {@code revocation.crlValidity}: the nextUpdate distance of each CRL signed. */
        public static final Duration DEFAULT_CRL_VALIDITY = Duration.ofDays(7);
        static final Duration MIN_CRL_VALIDITY = Duration.ofHours(1);
        static final Duration MAX_CRL_VALIDITY = Duration.ofDays(90);

        public Revocation {
            requireHttp("revocation.crlUrl", crlUrl);
            requireHttp("revocation.ocspUrl", ocspUrl);
            Bounds.check("revocation.crlValidity", crlValidity, MIN_CRL_VALIDITY, MAX_CRL_VALIDITY);
        }

        public static Revocation defaults() {
            return new Revocation(null, null, DEFAULT_CRL_VALIDITY);
        }

        static Revocation read(ConfigReader r) {
            return new Revocation(
                    r.httpUri("crlUrl"),
                    r.httpUri("ocspUrl"),
                    r.duration("crlValidity", DEFAULT_CRL_VALIDITY, MIN_CRL_VALIDITY, MAX_CRL_VALIDITY));
        }

        private static void requireHttp(String key, URI uri) {
            if (uri == null) {
                return;
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
                throw new IllegalArgumentException(key + ": expected an absolute http or https URL, found "
                        + Found.quote(uri.toString()));
            }
        }
    }

    /**
     * The PKI HTTPS server (EST, CRL, OCSP). It always speaks TLS 1.3: with the configured
     * certificate and key, or without them with a certificate it issues itself for its listen host.
     */
    public record Server(HostPort listen, @Nullable Path tlsCertificate, @Nullable Path tlsKey) {

        /** {@code server.listen}: loopback by default, so nothing is exposed until asked. */
        public static final HostPort DEFAULT_LISTEN = new HostPort("127.0.0.1", 8443);

        public Server {
            Objects.requireNonNull(listen, "listen");
            if ((tlsCertificate == null) != (tlsKey == null)) {
                throw new IllegalArgumentException("server.tls: " + bothOrNeither(tlsCertificate, tlsKey));
            }
        }

        public static Server defaults() {
            return new Server(DEFAULT_LISTEN, null, null);
        }

        /** Whether a TLS certificate is configured (else the server issues itself one). */
        public boolean tls() {
            return tlsCertificate != null;
        }

        /** {@code https://<listen>/}: the server is TLS-only. */
        public URI baseUrl() {
            return URI.create("https://" + listen + "/");
        }

        static Server read(ConfigReader r) {
            HostPort listen = r.hostPort("listen", DEFAULT_LISTEN);
            Path[] tls = r.section("tls", t -> new Path[] {t.path("certificate"), t.path("key")});
            if ((tls[0] == null) != (tls[1] == null)) {
                r.report("tls", bothOrNeither(tls[0], tls[1]));
                return new Server(listen, null, null);
            }
            return new Server(listen, tls[0], tls[1]);
        }

        private static String bothOrNeither(Path certificate, Path key) {
            return "expected both certificate and key, or neither, found only "
                    + (certificate != null ? "certificate" : "key");
        }
    }

    /** Range checks shared by the records, worded like the reader's problems. */
    static final class Bounds {

        private Bounds() {
        }

        static void check(String key, Duration value, Duration min, Duration max) {
            Objects.requireNonNull(value, key);
            if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
                throw new IllegalArgumentException(key + ": expected a duration between " + Durations.format(min)
                        + " and " + Durations.format(max) + ", found " + Durations.format(value));
            }
        }
    }
}
