package org.postern.pki.registry;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code LISTEN postern_registry} on a connection of its own (not the pool's: a listening
 * connection must stay the same one), read by one daemon thread that wakes the subscribers of
 * {@link PostgresRegistry#onChange}. When the connection drops (or a probe after
 * {@link #PROBE_AFTER} without a notification finds it dead) the thread reconnects every
 * {@link #RETRY}, and wakes the subscribers once it is back, since changes may have been committed
 * meanwhile. The thread starts with the first subscriber and ends with {@link #close()}.
 */
final class ChangeListener implements AutoCloseable {
    static final Duration RETRY = Duration.ofMillis(500);
    /** A listening connection quiet this long is probed. */
    static final Duration PROBE_AFTER = Duration.ofSeconds(10);
    private static final int WAIT_MILLIS = 500;
    private static final Logger log = LoggerFactory.getLogger(ChangeListener.class);

    private final String name;
    private final String jdbcUrl;
    private final Properties driver;
    private final CopyOnWriteArrayList<Runnable> subscribers = new CopyOnWriteArrayList<>();
    private Thread thread;
    private volatile boolean closed;

    ChangeListener(String name, String jdbcUrl, Properties driver) {
        this.name = name;
        this.jdbcUrl = jdbcUrl;
        this.driver = driver;
    }

    synchronized AutoCloseable add(Runnable wake) {
        if (closed) {
            throw new RegistryException("registry.unavailable", "registry " + name + " is closed");
        }
        subscribers.add(wake);
        if (thread == null) {
            thread = Thread.ofPlatform().daemon().name("registry-listen").start(this::run);
        }
        return () -> subscribers.remove(wake);
    }

    private void run() {
        boolean wasDown = false;
        while (!closed) {
            try (Connection c = DriverManager.getConnection(jdbcUrl, driver)) {
                try (Statement st = c.createStatement()) {
                    st.execute("LISTEN " + PostgresRegistry.CHANNEL);
                }
                if (wasDown) {
                    log.info("registry {}: listening for changes again", name);
                    wake();
                }
                wasDown = false;
                PGConnection pg = c.unwrap(PGConnection.class);
                long quietSince = System.nanoTime();
                while (!closed) {
                    PGNotification[] notes = pg.getNotifications(WAIT_MILLIS);
                    if (notes != null && notes.length > 0) {
                        wake();
                        quietSince = System.nanoTime();
                    } else if (System.nanoTime() - quietSince > PROBE_AFTER.toNanos()) {
                        // waiting for notifications reads nothing from a dead peer: ask, so a lost
                        // connection is found (within the driver's socket timeout) and replaced
                        try (Statement st = c.createStatement()) {
                            st.execute("SELECT 1");
                        }
                        quietSince = System.nanoTime();
                    }
                }
            } catch (SQLException e) {
                if (closed) {
                    return;
                }
                if (!wasDown) {
                    log.warn("registry {}: change notifications lost ({}); retrying every {} ms, polling meanwhile",
                            name, e.getMessage(), RETRY.toMillis());
                }
                wasDown = true;
                try {
                    Thread.sleep(RETRY);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private void wake() {
        for (Runnable r : subscribers) {
            try {
                r.run();
            } catch (RuntimeException e) {
                log.warn("registry {}: a change subscriber failed", name, e);
            }
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        subscribers.clear();
        if (thread != null) {
            thread.interrupt();
        }
    }
}
