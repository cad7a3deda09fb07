package org.postern.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class GroupSyncTest {
    private static final long WAIT_SECONDS = 10;

    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stopThreads() throws InterruptedException {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS)).as("test threads stopped").isTrue();
    }

    /**
     * A force that the test steers: each call announces itself on {@link #started}, then waits for
     * the test to hand it an outcome (null = succeed) on {@link #outcomes}.
     */
    private static final class ControlledForce implements GroupSync.Force {
        final AtomicInteger calls = new AtomicInteger();
        final BlockingQueue<Integer> started = new LinkedBlockingQueue<>();
        final BlockingQueue<IOException[]> outcomes = new LinkedBlockingQueue<>();

        @Override
        public void run() throws IOException {
            started.add(calls.incrementAndGet());
            IOException[] outcome;
            try {
                outcome = outcomes.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("test force interrupted", e);
            }
            if (outcome == null) {
                throw new IOException("test force was never released");
            }
            if (outcome[0] != null) {
                throw outcome[0];
            }
        }

        /** Waits until the next force call has begun; returns its number (1, 2, …). */
        int awaitStart() throws InterruptedException {
            Integer n = started.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            assertThat(n).as("a force call began within %ss", WAIT_SECONDS).isNotNull();
            return n;
        }

        void succeed() {
            outcomes.add(new IOException[] {null});
        }

        void fail(IOException e) {
            outcomes.add(new IOException[] {e});
        }
    }

    private Future<Void> syncAsync(GroupSync sync, long ticket) {
        return pool.submit(() -> {
            sync.sync(ticket);
            return null;
        });
    }

    private static <T> T get(Future<T> f) throws Exception {
        return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    /** Waits until {@code t} is parked in {@code sync} (waiting on the monitor), bounded. */
    private static void awaitWaiting(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (t.getState() != Thread.State.WAITING) {
            assertThat(System.nanoTime()).as("%s waits in sync within %ss (state %s)", t.getName(), WAIT_SECONDS, t.getState())
                    .isLessThan(deadline);
            Thread.onSpinWait();
        }
    }

    @Test
    void sync_loneWriter_forcesExactlyOncePerSync() throws IOException {
        AtomicInteger forces = new AtomicInteger();
        GroupSync sync = new GroupSync(forces::incrementAndGet);

        sync.sync(sync.ticket());
        assertThat(forces).as("forces after the first write").hasValue(1);

        sync.sync(sync.ticket());
        sync.sync(sync.ticket());
        assertThat(forces).as("forces after three writes, one at a time").hasValue(3);
    }

    @Test
    void sync_ticketAlreadyCovered_returnsWithoutForcing() throws IOException {
        AtomicInteger forces = new AtomicInteger();
        GroupSync sync = new GroupSync(forces::incrementAndGet);
        long first = sync.ticket();
        long second = sync.ticket();

        sync.sync(second);
        sync.sync(first);
        sync.sync(second);

        assertThat(forces).as("one force covers both tickets taken before it").hasValue(1);
    }

    @Test
    void sync_ticketTakenBeforeSyncStarted_isCoveredByIt() throws Exception {
        ControlledForce force = new ControlledForce();
        GroupSync sync = new GroupSync(force);
        long leaderTicket = sync.ticket();
        long coveredTicket = sync.ticket(); // written before the leader's sync begins

        Future<Void> leader = syncAsync(sync, leaderTicket);
        assertThat(force.awaitStart()).isEqualTo(1);
        Thread[] waiterThread = new Thread[1];
        CountDownLatch waiterEntered = new CountDownLatch(1);
        Future<Void> covered = pool.submit(() -> {
            waiterThread[0] = Thread.currentThread();
            waiterEntered.countDown();
            sync.sync(coveredTicket);
            return null;
        });
        assertThat(waiterEntered.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        awaitWaiting(waiterThread[0]); // waiting on the sync in progress, not arriving after it
        force.succeed();

        get(leader);
        get(covered);
        assertThat(force.calls).as("force calls: the sync in progress covered the earlier ticket").hasValue(1);
    }

    @Test
    void sync_ticketTakenWhileSyncInProgress_needsTheNextSync() throws Exception {
        ControlledForce force = new ControlledForce();
        GroupSync sync = new GroupSync(force);

        Future<Void> leader = syncAsync(sync, sync.ticket());
        assertThat(force.awaitStart()).isEqualTo(1);
        long late = sync.ticket(); // written after the first force began: it may not count
        Future<Void> lateWriter = syncAsync(sync, late);
        force.succeed();
        get(leader);

        assertThat(force.awaitStart()).as("the late ticket gets a force of its own").isEqualTo(2);
        assertThat(lateWriter).isNotDone();
        force.succeed();
        get(lateWriter);
        assertThat(force.calls).hasValue(2);
    }

    @Test
    void sync_manyConcurrentWriters_allReturnAndShareForces() throws Exception {
        int threads = 16;
        int ticketsPerThread = 50;
        AtomicInteger forces = new AtomicInteger();
        AtomicLong synced = new AtomicLong();
        AtomicLong written = new AtomicLong();
        // The force makes durable what was written before it began, and takes a while doing it
        // (a simulated fsync latency, not a wait for an event), so writers pile up behind it.
        GroupSync sync = new GroupSync(() -> {
            long upTo = written.get();
            forces.incrementAndGet();
            LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(200));
            synced.accumulateAndGet(upTo, Math::max);
        });
        CountDownLatch go = new CountDownLatch(1);
        List<Future<List<String>>> results = new ArrayList<>();
        Object writeLock = new Object();
        for (int i = 0; i < threads; i++) {
            Callable<List<String>> writer = () -> {
                List<String> violations = new ArrayList<>();
                assertThat(go.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
                for (int j = 0; j < ticketsPerThread; j++) {
                    long ticket;
                    synchronized (writeLock) { // the write first, then its ticket, as the audit sink does
                        long write = written.incrementAndGet();
                        ticket = sync.ticket();
                        assertThat(ticket).isEqualTo(write);
                    }
                    sync.sync(ticket);
                    long covered = synced.get();
                    if (ticket > covered) {
                        violations.add("ticket " + ticket + " returned but only " + covered + " was synced");
                    }
                }
                return violations;
            };
            results.add(pool.submit(writer));
        }
        go.countDown();

        List<String> violations = new ArrayList<>();
        for (Future<List<String>> r : results) {
            violations.addAll(r.get(WAIT_SECONDS * 2, TimeUnit.SECONDS));
        }
        int tickets = threads * ticketsPerThread;
        assertThat(violations).as("callers that returned before their ticket was synced").isEmpty();
        assertThat(synced.get()).isEqualTo(tickets);
        assertThat(forces.get()).as("force calls for %s tickets from %s threads", tickets, threads)
                .isBetween(1, tickets / 2);
    }

    @Test
    void sync_forceFails_reachesTheCallersItCoveredAndALaterSyncRetries() throws Exception {
        ControlledForce force = new ControlledForce();
        GroupSync sync = new GroupSync(force);
        long leaderTicket = sync.ticket();
        long coveredTicket = sync.ticket();

        Future<Void> leader = syncAsync(sync, leaderTicket);
        assertThat(force.awaitStart()).isEqualTo(1);
        Thread[] coveredThread = new Thread[1];
        CountDownLatch coveredStarted = new CountDownLatch(1);
        Future<Void> covered = pool.submit(() -> {
            coveredThread[0] = Thread.currentThread();
            coveredStarted.countDown();
            sync.sync(coveredTicket);
            return null;
        });
        assertThat(coveredStarted.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        awaitWaiting(coveredThread[0]);
        IOException diskGone = new IOException("Input/output error");
        force.fail(diskGone);

        assertThatThrownBy(() -> get(leader)).isInstanceOf(ExecutionException.class).cause()
                .isSameAs(diskGone);
        assertThatThrownBy(() -> get(covered)).as("the waiter whose write the failed force covered")
                .isInstanceOf(ExecutionException.class).cause()
                .isInstanceOf(IOException.class)
                .hasMessageContaining("Input/output error")
                .hasRootCause(diskGone);
        assertThat(force.calls).as("nobody retried on behalf of the failed callers").hasValue(1);

        // The failed tickets are not marked synced: asking again forces again.
        Future<Void> retry = syncAsync(sync, leaderTicket);
        assertThat(force.awaitStart()).as("a later sync of the failed ticket forces again").isEqualTo(2);
        force.succeed();
        get(retry);
        sync.sync(coveredTicket);
        assertThat(force.calls).as("the retry covered both tickets").hasValue(2);
    }

    @Test
    void sync_forceFails_writerWhoArrivedDuringItGetsItsOwnForce() throws Exception {
        ControlledForce force = new ControlledForce();
        GroupSync sync = new GroupSync(force);

        Future<Void> leader = syncAsync(sync, sync.ticket());
        assertThat(force.awaitStart()).isEqualTo(1);
        long late = sync.ticket(); // not covered by the force that is about to fail
        Thread[] lateThread = new Thread[1];
        CountDownLatch lateStarted = new CountDownLatch(1);
        Future<Void> lateWriter = pool.submit(() -> {
            lateThread[0] = Thread.currentThread();
            lateStarted.countDown();
            sync.sync(late);
            return null;
        });
        assertThat(lateStarted.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        awaitWaiting(lateThread[0]);
        force.fail(new IOException("No space left on device"));

        assertThatThrownBy(() -> get(leader)).cause().hasMessage("No space left on device");
        assertThat(force.awaitStart()).as("the late writer runs the next force").isEqualTo(2);
        force.succeed();
        get(lateWriter);
    }

    @Test
    void sync_waiterInterrupted_getsIOExceptionAndKeepsInterruptStatus() throws Exception {
        ControlledForce force = new ControlledForce();
        GroupSync sync = new GroupSync(force);
        long leaderTicket = sync.ticket();
        long waiterTicket = sync.ticket();
        Future<Void> leader = syncAsync(sync, leaderTicket);
        assertThat(force.awaitStart()).isEqualTo(1);

        Thread[] waiterThread = new Thread[1];
        CountDownLatch waiterStarted = new CountDownLatch(1);
        Future<Boolean> waiter = pool.submit(() -> {
            waiterThread[0] = Thread.currentThread();
            waiterStarted.countDown();
            try {
                sync.sync(waiterTicket);
                throw new AssertionError("sync returned although the waiter was interrupted");
            } catch (IOException e) {
                assertThat(e).hasMessage("interrupted while waiting for fsync").hasCauseInstanceOf(InterruptedException.class);
                return Thread.currentThread().isInterrupted();
            }
        });
        assertThat(waiterStarted.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        awaitWaiting(waiterThread[0]);
        waiterThread[0].interrupt();

        assertThat(get(waiter)).as("interrupt status kept").isTrue();
        force.succeed();
        get(leader);
        assertThat(force.calls).hasValue(1);
    }
}
