package org.postern.audit.siem;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;

import org.jspecify.annotations.Nullable;
import org.postern.audit.trail.AuditTrail;
import org.postern.config.gateway.GatewaySettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards the audit trail to a SIEM: RFC 5424 messages over TLS in RFC 5425 octet-counting
 * framing, in {@code seq} order, from the trail's own segment files (the trail is the spool).
 *
 * <p>Syslog over TLS has no acknowledgement, so a record counts as delivered only when the
 * collector <em>confirms the whole stream</em> the one way TCP offers: each connection carries a
 * batch, then the forwarder closes its side (TLS close_notify and FIN) and waits for the collector
 * to close in answer. A collector answers our end of stream only after reading everything before
 * it; only then is the batch's last {@code seq} written to the cursor. Any other end (a reset, a
 * timeout, the collector closing first, a failed handshake) leaves the cursor where it was, and the
 * batch is sent again on the next connection. So: nothing is lost, order is kept, and a record is
 * sent twice only when a connection broke after the collector read it but before it confirmed
 * the batch; every message carries its {@code seq} for a SIEM to drop such a repeat. docs/audit.md
 * states the guarantee and its limits.
 *
 * <p>One thread, which only reads files: a slow or absent collector never slows the writer.
 */
public final class SiemForwarder implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SiemForwarder.class);

    /**
     * How the forwarder paces itself.
     *
     * @param batchWindow    a connection carries records for at most this long, then is confirmed
     * @param maxBatch       or at most this many records
     * @param poll           how often to look for new durable records
     * @param connectTimeout TCP connect and TLS handshake
     * @param confirmTimeout how long to wait for the collector to close in answer to our close
     * @param backoffMin     first wait after a failure; doubled on each failure in a row
     * @param backoffMax     longest wait between attempts
     */
    public record Tuning(Duration batchWindow, int maxBatch, Duration poll, Duration connectTimeout,
                         Duration confirmTimeout, Duration backoffMin, Duration backoffMax) {
        public static final Tuning DEFAULTS = new Tuning(Duration.ofSeconds(1), 5000, Duration.ofMillis(200),
                Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofMillis(500), Duration.ofSeconds(60));
    }

    /**
     * What the forwarder has done.
     *
     * @param delivered  the last {@code seq} the collector confirmed (the cursor)
     * @param durable    the last {@code seq} the trail has on disk
     * @param batches    confirmed batches since start
     * @param failures   failed attempts since start
     * @param lastError  why the last attempt failed, or null when it succeeded
     */
    public record Status(long delivered, long durable, long batches, long failures, @Nullable String lastError,
                         @Nullable Instant lastErrorAt) {
    }

    private final GatewaySettings.Siem settings;
    private final Tuning tuning;
    private final LongSupplier durable;
    private final SiemCursor cursor;
    private final TrailTail tail;
    private final SiemTls tls;
    private final SyslogFormat format;
    private final Clock clock;
    private final Thread thread;
    private volatile boolean closed;
    private volatile long batches;
    private volatile long failures;
    private volatile @Nullable String lastError;
    private volatile @Nullable Instant lastErrorAt;

    /** Forwards {@code trail} with the default pacing. */
    public static SiemForwarder start(AuditTrail trail, GatewaySettings.Siem settings) throws IOException {
        return start(trail.directory(), trail::durableSeq, settings, Tuning.DEFAULTS, Clock.systemUTC());
    }

    /**
     * @param trailDir the trail's directory
     * @param durable  the last durable {@code seq} ({@link AuditTrail#durableSeq()})
     */
    public static SiemForwarder start(Path trailDir, LongSupplier durable, GatewaySettings.Siem settings, Tuning tuning,
                                      Clock clock) throws IOException {
        SiemForwarder f = new SiemForwarder(trailDir, durable, settings, tuning, clock);
        f.thread.start();
        return f;
    }

    private SiemForwarder(Path trailDir, LongSupplier durable, GatewaySettings.Siem settings, Tuning tuning, Clock clock)
            throws IOException {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.tuning = tuning;
        this.durable = durable;
        this.clock = clock;
        this.tls = SiemTls.of(settings);
        this.format = new SyslogFormat(settings.appName(), settings.facility().code());
        this.cursor = SiemCursor.open(settings.cursor());
        long head = durable.getAsLong();
        if (cursor.seq() > head) {
            log.error("audit.siem.cursor {} says record {} was delivered, but the trail in {} ends at {}: was the trail"
                    + " replaced? Forwarding it from its first record", cursor.file(), cursor.seq(), trailDir, head);
            cursor.store(0);
        }
        this.tail = new TrailTail(trailDir);
        this.thread = Thread.ofPlatform().name("audit-siem").daemon(true).unstarted(this::run);
    }

    public Status status() {
        return new Status(cursor.seq(), durable.getAsLong(), batches, failures, lastError, lastErrorAt);
    }

    private void run() {
        long backoff = tuning.backoffMin().toNanos();
        boolean positioned = false;
        while (!closed) {
            try {
                if (cursor.seq() >= durable.getAsLong()) {
                    LockSupport.parkNanos(tuning.poll().toNanos());
                    continue;
                }
                if (!positioned || tail.nextSeq() != cursor.seq() + 1) {
                    tail.seek(cursor.seq());
                    positioned = true;
                }
                sendBatch();
                if (closed) {
                    break;
                }
                if (lastError != null) {
                    log.info("SIEM collector {}: delivering again, up to record {}", settings.address(), cursor.seq());
                    lastError = null;
                }
                backoff = tuning.backoffMin().toNanos();
            } catch (IOException | RuntimeException e) {
                positioned = false;
                failures++;
                String why = describe(e);
                if (!why.equals(lastError)) {
                    log.error("SIEM collector {}: {}; records after {} stay spooled in the trail, retrying", settings.address(),
                            why, cursor.seq());
                }
                lastError = why;
                lastErrorAt = clock.instant();
                LockSupport.parkNanos(backoff);
                backoff = Math.min(backoff * 2, tuning.backoffMax().toNanos());
            }
        }
    }

    /** One connection: send what is durable for up to the batch window, then have it confirmed. */
    private void sendBatch() throws IOException {
        String host = settings.address().host();
        int port = settings.address().port();
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress(host, port), (int) tuning.connectTimeout().toMillis());
            raw.setSoTimeout((int) tuning.connectTimeout().toMillis());
            SSLSocket s = tls.wrap(raw, host, port);
            s.startHandshake();
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), 1 << 16);
            InputStream in = s.getInputStream();
            long start = System.nanoTime();
            long last = cursor.seq();
            int count = 0;
            while (count < tuning.maxBatch() && System.nanoTime() - start < tuning.batchWindow().toNanos() && !closed) {
                TrailTail.Line line = tail.next(durable.getAsLong());
                if (line == null) {
                    if (count > 0 || cursor.seq() < durable.getAsLong()) {
                        out.flush();
                    }
                    LockSupport.parkNanos(Math.min(tuning.poll().toNanos(), 50_000_000L));
                    continue;
                }
                out.write(format.frame(line.record(), line.bytes(), 0, line.bytes().length));
                last = line.seq();
                count++;
            }
            out.flush();
            if (count == 0) {
                return;
            }
            // The collector must not have closed on its own while we were sending.
            s.setSoTimeout(20);
            if (peerClosed(in)) {
                throw new IOException("the collector closed the connection before confirming records "
                        + (cursor.seq() + 1) + ".." + last);
            }
            // End our stream and wait for the collector to end its own: it has then read all of ours.
            s.shutdownOutput();
            s.setSoTimeout((int) tuning.confirmTimeout().toMillis());
            try {
                while (in.read() >= 0) {
                    // a syslog collector sends nothing; ignore whatever it does send
                }
            } catch (SocketTimeoutException e) {
                throw new IOException("the collector did not confirm records " + (cursor.seq() + 1) + ".." + last
                        + " within " + tuning.confirmTimeout().toMillis() + " ms (no close in answer to ours)");
            }
            cursor.store(last);
            batches++;
        }
    }

    /** Whether the collector has already ended its stream (a read sees EOF rather than a timeout). */
    private static boolean peerClosed(InputStream in) throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    private String describe(Throwable e) {
        String what = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        if (e instanceof SSLHandshakeException) {
            return "TLS handshake failed (the collector's certificate must chain to " + settings.ca()
                    + " and name " + settings.address().host() + "): " + what;
        }
        if (e instanceof java.net.ConnectException) {
            return "cannot connect: " + what;
        }
        return what;
    }

    /** Stops the forwarder; the cursor keeps what was confirmed, the rest goes on the next start. */
    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
        try {
            thread.join(Duration.ofSeconds(15));
            tail.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            log.warn("closing the SIEM forwarder: {}", e.toString());
        }
    }
}
