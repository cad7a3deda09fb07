package org.postern.io;

import java.io.IOException;

/**
 * Group commit for {@code fsync}: writers that finished writing take a ticket, then wait until a
 * sync that started after their write has completed. One waiting writer (the leader) runs the
 * sync for everyone who wrote before it began; writers that arrive meanwhile are covered by the
 * next one. Under load one {@code fsync} makes many writes durable; alone, a writer pays exactly
 * one, as before.
 *
 * <p>A failed sync fails every writer it covered, waiters included: after a failed
 * {@code fsync} the kernel may already have dropped the dirty pages, so a retry that succeeds
 * proves nothing about those writes. A later {@link #sync} call still forces again.
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
    private long round;          // syncs begun so far; while syncing, the number of the one running
    private long failedRound;    // the last sync that failed, 0 if none
    private long failedTarget;   // the last ticket that failed sync covered
    private IOException failure; // and why

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
            long firstAwaited = round; // the sync running now (if any) is the first this caller may wait on
            while (synced < t && syncing) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for fsync", e);
                }
                if (failedRound >= firstAwaited && failedTarget >= t) {
                    throw new IOException("fsync covering this write failed: " + failure.getMessage(), failure);
                }
            }
            if (synced >= t) {
                return;
            }
            syncing = true;
            round++;
            target = written;
        }
        IOException failed = null;
        boolean ok = false;
        try {
            force.run();
            ok = true;
        } catch (IOException e) {
            failed = e;
        } finally {
            synchronized (lock) {
                syncing = false;
                if (ok) {
                    synced = Math.max(synced, target);
                } else {
                    failedRound = round;
                    failedTarget = target;
                    failure = failed != null ? failed : new IOException("fsync failed with an unchecked exception");
                }
                lock.notifyAll();
            }
        }
        if (failed != null) {
            throw failed;
        }
    }
}
