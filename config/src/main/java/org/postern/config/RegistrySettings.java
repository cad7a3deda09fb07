package org.postern.config;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;

/**
 * The {@code registry:} section of {@code pki.yaml} and {@code gateway.yaml}: where the device
 * registry lives. {@code sqlite} (the default) is one file in the data directory, for one gateway;
 * {@code postgresql://HOST:PORT/DB} is a database several gateways and the CLI share.
 *
 * @param postgres  the shared database, or {@code null} for the SQLite file
 * @param maxStale  {@code registry.maxStale}: how long a gateway keeps its last revocation view
 *                  while the registry cannot be read, before it ends every session and refuses every
 *                  client certificate (fail closed)
 * @param poolSize  {@code registry.poolSize}: connections to PostgreSQL per process
 */
public record RegistrySettings(@Nullable Postgres postgres, Duration maxStale, int poolSize) {

    /**
     * {@code registry.maxStale}: longer than a PostgreSQL primary failover (10–30 s), which should not
     * end every admin's session; it is also how late a revocation made while this gateway cannot read
     * the registry takes effect here at worst, since then everything on it ends.
     */
    public static final Duration DEFAULT_MAX_STALE = Duration.ofSeconds(30);
    /** {@code registry.poolSize}. */
    public static final int DEFAULT_POOL_SIZE = 8;
    /** The environment variable read for the password when {@code registry.passwordFile} is not set. */
    public static final String PASSWORD_ENV = "POSTERN_REGISTRY_PASSWORD";
    /** Above the gateway's 200 ms poll, so one slow poll alone never fails closed. */
    static final Duration MIN_MAX_STALE = Duration.ofSeconds(1);
    static final Duration MAX_MAX_STALE = Duration.ofHours(1);
    static final int MAX_POOL_SIZE = 100;
    static final String EXPECTED_URL = "sqlite or postgresql://HOST:PORT/DB";
    private static final Pattern URL = Pattern.compile(
            "postgresql://(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):(\\d{1,5})/([A-Za-z_][A-Za-z0-9_$-]{0,62})");
    private static final Pattern IPV4_LOOPBACK = Pattern.compile("127(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}");
    private static final Pattern USER = Pattern.compile("[A-Za-z_][A-Za-z0-9_.$-]{0,62}");

    public RegistrySettings {
        PkiSettings.Bounds.check("registry.maxStale", maxStale, MIN_MAX_STALE, MAX_MAX_STALE);
        if (poolSize < 1 || poolSize > MAX_POOL_SIZE) {
            throw new IllegalArgumentException("registry.poolSize: expected an integer between 1 and " + MAX_POOL_SIZE
                    + ", found " + poolSize);
        }
    }

    /** The SQLite file in the data directory, as before there was a choice. */
    public static RegistrySettings defaults() {
        return new RegistrySettings(null, DEFAULT_MAX_STALE, DEFAULT_POOL_SIZE);
    }

    /** {@code registry.url} as written: {@code sqlite} or {@code postgresql://HOST:PORT/DB}. */
    public String url() {
        return postgres == null ? "sqlite" : postgres.url();
    }

    /** Binds the section with the process environment (for {@link #PASSWORD_ENV}). */
    public static RegistrySettings read(ConfigReader r) {
        return read(r, System.getenv());
    }

    /**
     * Binds the section; {@code environment} is a parameter so tests need not set the real one.
     * With PostgreSQL, {@code registry.user} is required and the password is read now, from
     * {@code registry.passwordFile} (owner-only) or {@link #PASSWORD_ENV}: a gateway that could
     * not log in must not start. A database on another host needs {@code registry.tlsCa} (or
     * {@code registry.unsafePlaintext: true}).
     */
    public static RegistrySettings read(ConfigReader r, Map<String, String> environment) {
        String url = r.string("url", "sqlite");
        String user = r.value("user", null, "a PostgreSQL role name (letters, digits, '_', '.', '$', '-')", s -> {
            if (!USER.matcher(s).matches()) {
                throw new InvalidValueException("a PostgreSQL role name (letters, digits, '_', '.', '$', '-')", s);
            }
            return s;
        });
        Path passwordFile = r.path("passwordFile");
        Path tlsCa = r.path("tlsCa");
        boolean unsafePlaintext = r.bool("unsafePlaintext", false);
        Duration maxStale = r.duration("maxStale", DEFAULT_MAX_STALE, MIN_MAX_STALE, MAX_MAX_STALE);
        int poolSize = r.integer("poolSize", DEFAULT_POOL_SIZE, 1, MAX_POOL_SIZE);
        Address address;
        try {
            address = parseUrl(url);
        } catch (InvalidValueException e) {
            r.report("url", "expected " + e.expected() + ", found " + Found.quote(url));
            return new RegistrySettings(null, maxStale, poolSize);
        }
        if (address == null) {
            if (user != null || passwordFile != null) {
                r.report(user != null ? "user" : "passwordFile", "expected no credentials with the SQLite registry, found "
                        + (user != null ? "registry.user" : "registry.passwordFile") + " (set registry.url to postgresql://HOST:PORT/DB)");
            }
            if (tlsCa != null || unsafePlaintext) {
                r.report(tlsCa != null ? "tlsCa" : "unsafePlaintext", "expected no TLS setting with the SQLite registry, found "
                        + (tlsCa != null ? "registry.tlsCa" : "registry.unsafePlaintext") + " (set registry.url to postgresql://HOST:PORT/DB)");
            }
            return new RegistrySettings(null, maxStale, poolSize);
        }
        boolean tlsOk = checkTls(r, address.host(), tlsCa, unsafePlaintext);
        if (user == null) {
            r.report("user", "expected the PostgreSQL role to log in as, found none");
            return new RegistrySettings(null, maxStale, poolSize);
        }
        Secret password = password(r, passwordFile, environment);
        if (password == null || !tlsOk) {
            return new RegistrySettings(null, maxStale, poolSize);
        }
        return new RegistrySettings(new Postgres(address.host(), address.port(), address.database(), user, password,
                tlsCa, unsafePlaintext), maxStale, poolSize);
    }

    /**
     * Revocations travel from PostgreSQL to the gateways: someone on the path who could answer for
     * the database could hide them. So a database on another host is reached over TLS verified
     * against {@code registry.tlsCa}; only the same host (loopback) or an explicit
     * {@code registry.unsafePlaintext: true} go without.
     */
    private static boolean checkTls(ConfigReader r, String host, @Nullable Path tlsCa, boolean unsafePlaintext) {
        if (tlsCa != null && unsafePlaintext) {
            r.report("unsafePlaintext", "expected either registry.tlsCa (verified TLS) or registry.unsafePlaintext: true, found both");
            return false;
        }
        if (tlsCa == null) {
            if (!unsafePlaintext && !isLoopback(host)) {
                r.report("tlsCa", "expected the PEM file of the CA that signed PostgreSQL's server certificate (verified TLS to "
                        + host + ", which is not this host), found none (or set registry.unsafePlaintext: true to allow no TLS)");
                return false;
            }
            return true;
        }
        try (InputStream in = Files.newInputStream(tlsCa)) {
            if (CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
                r.report("tlsCa", "expected a PEM file of CA certificates, found no certificate in " + tlsCa);
                return false;
            }
            return true;
        } catch (IOException | CertificateException e) {
            r.report("tlsCa", "expected a readable PEM file of CA certificates at " + tlsCa + ", found " + e.getMessage());
            return false;
        }
    }

    /**
     * {@code localhost}, 127.0.0.0/8 or {@code [::1]} as written: a name is not resolved, so what
     * counts as the same host does not depend on DNS.
     */
    static boolean isLoopback(String host) {
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        if (host.startsWith("[")) {
            String literal = host.substring(1, host.length() - 1);
            try {
                return InetAddress.getByName(literal).isLoopbackAddress(); // a literal: no lookup
            } catch (UnknownHostException e) {
                return false;
            }
        }
        return IPV4_LOOPBACK.matcher(host).matches();
    }

    private static @Nullable Secret password(ConfigReader r, @Nullable Path file, Map<String, String> environment) {
        if (file == null) {
            String v = environment.get(PASSWORD_ENV);
            if (v == null || v.isEmpty()) {
                r.report("passwordFile", "expected a password file, or the password in the environment variable "
                        + PASSWORD_ENV + ", found neither");
                return null;
            }
            return Secret.of(v);
        }
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
            if (mode.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
                r.report("passwordFile", "expected a file only its owner can read (mode 0600 or 0400), found mode "
                        + java.nio.file.attribute.PosixFilePermissions.toString(mode) + " on " + file
                        + " (chmod 600 " + file + ")");
                return null;
            }
        } catch (UnsupportedOperationException e) {
            // no POSIX modes on this file system: nothing to check
        } catch (IOException e) {
            r.report("passwordFile", "expected a readable password file at " + file + ", found " + e);
            return null;
        }
        try {
            return Secret.fromFile(file);
        } catch (IllegalArgumentException e) {
            r.report("passwordFile", e.getMessage());
            return null;
        }
    }

    /** The address part of {@code registry.url}: {@code null} for {@code sqlite}. */
    private static @Nullable Address parseUrl(String text) {
        if (text.equals("sqlite")) {
            return null;
        }
        Matcher m = URL.matcher(text);
        if (!m.matches()) {
            throw new InvalidValueException(EXPECTED_URL, text);
        }
        int port = Integer.parseInt(m.group(2));
        if (port < 1 || port > 65535) {
            throw new InvalidValueException(EXPECTED_URL + " with a port between 1 and 65535", text);
        }
        return new Address(m.group(1), port, m.group(3));
    }

    private record Address(String host, int port, String database) {
    }

    /**
     * A shared PostgreSQL database and the role to log in as. {@link #toString()} shows no password
     * ({@link Secret} is redacted).
     *
     * @param tlsCa           {@code registry.tlsCa}: PEM CA certificates that signed the server's
     *                        certificate; TLS with the certificate and host name verified
     *                        ({@code sslmode=verify-full}). Required unless the host is loopback or
     *                        {@code unsafePlaintext}
     * @param unsafePlaintext {@code registry.unsafePlaintext}: allow a non-loopback host without
     *                        verified TLS
     */
    public record Postgres(String host, int port, String database, String user, Secret password, @Nullable Path tlsCa,
            boolean unsafePlaintext) {

        public Postgres {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(database, "database");
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(password, "password");
            if (!URL.matcher("postgresql://" + host + ":" + port + "/" + database).matches() || port < 1 || port > 65535) {
                throw new IllegalArgumentException("registry.url: expected " + EXPECTED_URL + ", found "
                        + Found.quote("postgresql://" + host + ":" + port + "/" + database));
            }
            if (!USER.matcher(user).matches()) {
                throw new IllegalArgumentException("registry.user: expected a PostgreSQL role name, found " + Found.quote(user));
            }
            if (tlsCa != null && unsafePlaintext) {
                throw new IllegalArgumentException("registry.unsafePlaintext: expected either registry.tlsCa or unsafePlaintext, found both");
            }
            if (tlsCa == null && !unsafePlaintext && !isLoopback(host)) {
                throw new IllegalArgumentException("registry.tlsCa: expected a CA file for verified TLS to " + host
                        + " (not this host), found none");
            }
        }

        /** {@code postgresql://HOST:PORT/DB}: no user, no password. */
        public String url() {
            return "postgresql://" + host + ":" + port + "/" + database;
        }
    }
}
