package org.postern.io;

import java.io.IOException;

/**
 * Group commit for {@code fsync}: writers that finished writing take a ticket, then wait until a
 * sync that started after their write has completed. One waiting writer (the leader) runs the
 * sync for everyone who wrote before it began; writers that arrive meanwhile are covered by the
 * next one. Under load one {@code fsync} makes many writes durable; alone, a writer pays exactly
 * one, as before.
 */
public final class GroupSync {

    /** The durable flush, e.g. {@code channel.force(false)}. */
    @FunctionalInterface
    public interface Force {
        void run() throws IOException;
    }

    private final Force force;
    private final Object lock = new Object();
    private long written;
    private long synced;
    private boolean syncing;

    public GroupSync(Force force) {
        this.force = force;
    }

    /** Call after a write has reached the OS; the ticket is what {@link #sync} must cover. */
    public long ticket() {
        synchronized (lock) {
            return ++written;
        }
    }

    /** Returns once a sync begun after ticket {@code t} was taken has succeeded; rethrows its failure. */
    public void sync(long t) throws IOException {
        long target;
        synchronized (lock) {
            while (synced < t && syncing) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for fsync", e);
                }
            }
            if (synced >= t) {
                return;
            }
            syncing = true;
            target = written;
        }
        IOException failure = null;
        try {
            force.run();
        } catch (IOException e) {
            failure = e;
        } finally {
            synchronized (lock) {
                syncing = false;
                if (failure == null) {
                    synced = Math.max(synced, target);
                }
                lock.notifyAll();
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
