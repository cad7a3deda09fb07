package org.postern.gateway.audit.siem;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.awaitility.Awaitility;

/**
 * A real rsyslogd (Debian {@code rsyslog} + {@code rsyslog-gnutls}) receiving syslog over TLS on
 * 127.0.0.1 (imtcp, gtls driver, mode 1) and writing each message as
 * {@code MSGID STRUCTURED-DATA MSG} to {@code out.log}. Started in the foreground ({@code -n}) by
 * the test, stopped by its own PID.
 */
final class RsyslogCollector implements AutoCloseable {
    static final Path RSYSLOGD = Path.of("/usr/sbin/rsyslogd");
    static final Path GTLS = Path.of("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so");
    private static final Pattern SEQ = Pattern.compile("\\[postern@32473 seq=\"(\\d+)\"");

    final Path dir;
    final int port;
    final Path out;
    private final Path conf;
    private Process process;

    /**
     * @param ca   PEM CA file rsyslog trusts (for a client certificate, if one is sent)
     * @param cert PEM server certificate rsyslog presents
     * @param key  its PEM private key
     */
    RsyslogCollector(Path dir, Path ca, Path cert, Path key) throws IOException {
        this(dir, ca, cert, key, "anon");
    }

    /** @param authMode imtcp's StreamDriver.AuthMode: anon, or x509/certvalid to require a client certificate from {@code ca} */
    RsyslogCollector(Path dir, Path ca, Path cert, Path key, String authMode) throws IOException {
        if (!Files.isExecutable(RSYSLOGD) || !Files.exists(GTLS)) {
            throw new AssertionError("this test needs rsyslogd with the GnuTLS driver: " + RSYSLOGD + " and " + GTLS
                    + " are missing; install the Debian packages rsyslog and rsyslog-gnutls");
        }
        this.dir = Files.createDirectories(dir);
        Files.createDirectories(dir.resolve("work"));
        this.out = dir.resolve("out.log");
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            this.port = s.getLocalPort();
        }
        this.conf = dir.resolve("rsyslog.conf");
        Files.writeString(conf, """
                global(
                  workDirectory="%s"
                  maxMessageSize="64k"
                  defaultNetstreamDriver="gtls"
                  defaultNetstreamDriverCAFile="%s"
                  defaultNetstreamDriverCertFile="%s"
                  defaultNetstreamDriverKeyFile="%s"
                )
                module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="%s")
                input(type="imtcp" address="127.0.0.1" port="%d" gnutlsPriorityString="NORMAL")
                template(name="keep" type="string" string="%%msgid%% %%structured-data%% %%msg%%\\n")
                action(type="omfile" file="%s" template="keep")
                """.formatted(dir.resolve("work"), ca, cert, key, authMode, port, out), StandardCharsets.UTF_8);
    }

    /** A collector presenting a server certificate for 127.0.0.1 issued by {@code issuer}'s CA, which it also trusts. */
    static RsyslogCollector withCertificateFrom(org.postern.pki.testing.TestPki issuer, Path dir) throws IOException {
        return withCertificateFrom(issuer, dir, "anon");
    }

    static RsyslogCollector withCertificateFrom(org.postern.pki.testing.TestPki issuer, Path dir, String authMode) throws IOException {
        org.postern.pki.PkiService.Issued tls = issuer.service.issueServer(List.of("localhost"), List.of("127.0.0.1"), "test");
        Files.createDirectories(dir);
        Path cert = org.postern.pki.testing.TestPki.writePem(dir.resolve("server.crt"), tls.certificate());
        Path javaKey = dir.resolve("server-pkcs8.key");
        Files.write(javaKey, org.postern.keys.KeyFiles.plainPem(tls.keys().getPrivate()));
        Path key = dir.resolve("server.key");
        // GnuTLS wants the public key inside the private key (SEC1 form, which openssl ec writes)
        org.postern.pki.testing.Proc.run(dir, "openssl", "ec", "-in", javaKey.toString(), "-out", key.toString()).ok();
        return new RsyslogCollector(dir, issuer.chainFile(), cert, key, authMode);
    }

    /** Starts rsyslogd and waits until it accepts connections. */
    void start() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("rsyslogd already running");
        }
        Path pid = dir.resolve("rsyslogd.pid");
        Files.deleteIfExists(pid);
        process = new ProcessBuilder(RSYSLOGD.toString(), "-n", "-f", conf.toString(), "-i", pid.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("rsyslogd.log").toFile()))
                .start();
        try {
            awaitListening();
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("rsyslogd did not listen on 127.0.0.1:" + port + " within 15 s; its output: " + log(), e);
        }
    }

    private void awaitListening() {
        Awaitility.await("rsyslogd listening on 127.0.0.1:" + port).atMost(Duration.ofSeconds(15))
                .pollInterval(Duration.ofMillis(50)).until(() -> {
                    if (!process.isAlive()) {
                        throw new AssertionError("rsyslogd exited with " + process.exitValue() + ": " + log());
                    }
                    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                        return true;
                    } catch (IOException e) {
                        return false;
                    }
                });
    }

    /** Stops rsyslogd (SIGTERM to its PID) and waits for it to exit. */
    void stop() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    long pid() {
        return process.pid();
    }

    /** The lines written so far. */
    List<String> lines() {
        try {
            return Files.exists(out) ? Files.readAllLines(out, StandardCharsets.UTF_8) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The {@code seq} of every message received, in order of arrival. */
    List<Long> seqs() {
        List<Long> seqs = new ArrayList<>();
        for (String l : lines()) {
            Matcher m = SEQ.matcher(l);
            if (!m.find()) {
                throw new AssertionError("rsyslog wrote a line without the postern structured data: " + l);
            }
            seqs.add(Long.parseLong(m.group(1)));
        }
        return seqs;
    }

    String log() {
        try {
            Path l = dir.resolve("rsyslogd.log");
            return Files.exists(l) ? Files.readString(l) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
