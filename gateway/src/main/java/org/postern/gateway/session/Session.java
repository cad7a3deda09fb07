package org.postern.gateway.session;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.netty.channel.Channel;
import org.jspecify.annotations.Nullable;
import org.postern.audit.AuditEvent;
import org.postern.gateway.gate.Grounds;

/**
 * One device's time on one connection of the tunnel listener: from its first admitted tunnel
 * ({@code session.start}, durable before the tunnel's 200) until the connection closes or the
 * gateway ends it ({@code session.end}). Counts its flows and the bytes they relay. Ends once;
 * {@code session.end} is written after the {@code flow.close} of every flow it had. Thread-safe.
 */
public final class Session {

    /** Who the session belongs to, as every record of it names them. */
    public record Who(String device, String user, String certSerial, String certSha256, String source, String via) {
        public Who {
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(via, "via");
        }
    }

    private final String id;
    private final Who who;
    private final Grounds grounds;
    private final Channel connection;
    private final Sessions owner;
    private final LongAdder up = new LongAdder();
    private final LongAdder down = new LongAdder();
    /** Carriers of this session's traffic other than the relay (a VPN link): told when it ends. */
    private final List<Consumer<SessionEnd>> endListeners = new CopyOnWriteArrayList<>();
    /** Completes when {@code session.start} is durable (or waived under {@code audit.failMode: open}). */
    final CompletableFuture<Void> started = new CompletableFuture<>();
    private volatile Instant since;
    private volatile @Nullable VpnLink vpn;
    private volatile Supplier<Map<String, Long>> dropped = Map::of;
    /**
     * The earliest end of a window of hours that admitted a flow of this session and the owner's groups
     * then, or null: none did. One immutable value in one field, so the sweep never sees a new end with
     * the groups of before (empty: "no rule open", which would end the session wrongly).
     */
    private volatile @Nullable Window window;
    // guarded by this
    private int liveFlows;
    private int totalFlows;
    private SessionEnd ended;
    private String endedBy;
    private FlowEnd lastFlowEnd;
    private boolean endWritten;

    Session(String id, Who who, Grounds grounds, Channel connection, Sessions owner, Instant since) {
        this.id = id;
        this.who = who;
        this.grounds = Objects.requireNonNull(grounds, "grounds");
        this.connection = connection;
        this.owner = owner;
        this.since = since;
    }

    public String id() {
        return id;
    }

    public Who who() {
        return who;
    }

    /** What the admission that started it rested on, as its {@code session.start} names it. */
    public Grounds grounds() {
        return grounds;
    }

    public Channel connection() {
        return connection;
    }

    public Instant since() {
        return since;
    }

    void since(Instant at) {
        since = at;
    }

    /** The VPN address and transport of a VPN session ({@code via: vpn}), once assigned; else null. */
    public @Nullable VpnLink vpn() {
        return vpn;
    }

    /** Records the address the VPN session was given and what carries it; shown by the sessions list. */
    public void vpn(VpnLink link) {
        vpn = Objects.requireNonNull(link, "link");
    }

    /**
     * Where {@code session.end} finds the packets a VPN session dropped, by reason ({@code dropped},
     * written only when some were).
     */
    public void droppedCounts(Supplier<Map<String, Long>> counts) {
        dropped = Objects.requireNonNull(counts, "counts");
    }

    /**
     * The earliest end of a window of hours that admitted a flow of a session, and the owner's groups
     * as the last flow a window admitted saw them: they decide whether any rule is still open for it.
     */
    public record Window(Instant firstEnd, Set<String> groups) {
        public Window {
            Objects.requireNonNull(firstEnd, "firstEnd");
            groups = Set.copyOf(groups);
        }
    }

    /**
     * A flow of this session was admitted by a rule's window of hours that closes at {@code windowEnd},
     * for an owner in {@code groups}: from the earliest such end on, the gateway ends the session
     * ({@link SessionEnd#OUTSIDE_HOURS}) once no rule of these groups is open
     * ({@link Sessions#endOutsideHours}, with {@code access.endSessionsAtWindowEnd}).
     */
    public synchronized void windowed(Instant windowEnd, Collection<String> groups) {
        Objects.requireNonNull(windowEnd, "windowEnd");
        Window before = window;
        Instant first = before == null || windowEnd.isBefore(before.firstEnd()) ? windowEnd : before.firstEnd();
        window = new Window(first, Set.copyOf(groups)); // end and groups published together
    }

    /** The earliest end of a window that admitted a flow of it, or null (none did). */
    public @Nullable Instant firstWindowEnd() {
        Window w = window;
        return w == null ? null : w.firstEnd();
    }

    /** The earliest window end and the owner's groups, read together; null when no window admitted a flow of it. */
    public @Nullable Window window() {
        return window;
    }

    /** Bytes a flow of this session relayed: {@code up} laptop → admin host, else the other way. */
    public void relayed(boolean upwards, long bytes) {
        (upwards ? up : down).add(bytes);
    }

    public long bytesUp() {
        return up.sum();
    }

    public long bytesDown() {
        return down.sum();
    }

    public synchronized int liveFlows() {
        return liveFlows;
    }

    public synchronized int totalFlows() {
        return totalFlows;
    }

    public synchronized boolean isEnded() {
        return ended != null;
    }

    /** Why it ended, or null while it lasts. */
    public synchronized SessionEnd ended() {
        return ended;
    }

    /** Counts a flow about to open in this session; false once the session has ended. */
    public synchronized boolean tryAddFlow() {
        if (ended != null) {
            return false;
        }
        liveFlows++;
        totalFlows++;
        return true;
    }

    /** A flow of this session is closing this way (remembered so an idle last tunnel ends the session as idle). */
    public synchronized void flowEnding(FlowEnd how) {
        lastFlowEnd = how;
    }

    /**
     * A flow counted by {@link #tryAddFlow} is gone and its {@code flow.close} written (or it never
     * opened). The last one of an ended session lets {@code session.end} be written.
     */
    public void flowGone() {
        boolean write;
        synchronized (this) {
            liveFlows--;
            write = readyToWriteEnd();
        }
        if (write) {
            owner.writeEnd(this);
        }
    }

    /**
     * Ends the session: first reason wins. Its flows close (abruptly unless the connection went
     * away on its own), the connection too when the device may not stay on it.
     *
     * @param by who ended it (an admin), or null
     * @return false when it had already ended
     */
    public boolean end(SessionEnd reason, String by) {
        boolean write;
        synchronized (this) {
            if (ended != null) {
                return false;
            }
            // the connection went because its last tunnel idled out (an HTTP/1.1 CONNECT carries one): that is why.
            // (A tunnel cut at its window's end ends an HTTP/1.1 session itself, in Flow.close, so an HTTP/2
            // session whose windowed tunnel was cut and that the user closes later is client_closed.)
            ended = reason == SessionEnd.CLIENT_CLOSED && lastFlowEnd == FlowEnd.IDLE ? SessionEnd.IDLE : reason;
            endedBy = by;
            write = readyToWriteEnd();
        }
        owner.ended(this);
        SessionEnd why = ended();
        for (Consumer<SessionEnd> l : List.copyOf(endListeners)) {
            if (endListeners.remove(l)) { // once, even when onEnd runs meanwhile
                l.accept(why);
            }
        }
        if (reason != SessionEnd.CLIENT_CLOSED) {
            owner.flows().closeSession(this, reason.flowEnd());
        }
        if (reason.closesConnection()) {
            connection.close();
        }
        if (write) {
            owner.writeEnd(this);
        }
        return true;
    }

    /**
     * Tells {@code listener} when this session ends, with the reason (at once if it has ended): how
     * a carrier that is not a relay flow — a VPN link and its flows — ends with its session. Its
     * flows count in the session like relay flows ({@link #tryAddFlow}, {@link #flowGone}), so
     * {@code session.end} still comes after their {@code flow.close}.
     */
    public void onEnd(Consumer<SessionEnd> listener) {
        endListeners.add(listener);
        SessionEnd why = ended();
        if (why != null && endListeners.remove(listener)) {
            listener.accept(why);
        }
    }

    private boolean readyToWriteEnd() {
        if (ended != null && liveFlows == 0 && !endWritten) {
            endWritten = true;
            return true;
        }
        return false;
    }

    /** A record of this session with the common fields. */
    public AuditEvent.Builder audit(String type, Instant at) {
        return AuditEvent.of(type, at)
                .with("session", id)
                .with("device", who.device())
                .with("user", who.user())
                .with("certSerial", who.certSerial())
                .with("certSha256", who.certSha256())
                .with("source", who.source())
                .with("via", who.via());
    }

    synchronized AuditEvent endRecord(Instant at) {
        Map<String, Long> drops = dropped.get();
        return audit("session.end", at)
                .with("reason", ended.wireName())
                .with("by", endedBy)
                .with("flows", totalFlows)
                .with("bytesUp", bytesUp())
                .with("bytesDown", bytesDown())
                .with("durationMs", Math.max(0, at.toEpochMilli() - since.toEpochMilli()))
                .with("dropped", drops.isEmpty() ? null : drops)
                .build();
    }

    @Override
    public String toString() {
        return "session " + id + " " + who.device() + " " + who.source();
    }
}
