package org.postern.audit.index;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A search index of one audit trail directory, kept beside it (by default the sibling directory
 * {@code <trail>.index}, never inside the trail). It holds, per record, where its line is (segment,
 * byte offset, length) and the fields searched on — {@code seq}, {@code time}, {@code type},
 * {@code user}, {@code device}, the host of {@code dest} and of {@code destAddress}, {@code reason},
 * {@code session} — in an embedded SQLite file with the text values interned as numbers.
 *
 * <p>The trail is the record of truth, the index only a way to find records in it: {@link #read}
 * returns the line from the segment file and checks it is the record the index names; the index can
 * be deleted at any time and is rebuilt. {@link #catchUp()} indexes what was appended since the last
 * call (complete lines only) and rebuilds from scratch when the trail is not the one indexed.
 *
 * <p>Threads: one catch-up at a time (guarded here, and across processes by {@code index.lock});
 * queries and reads run concurrently with it and with each other. A rebuild is written to a separate
 * file and swapped in when complete, so readers see the old index until then.
 */
public final class AuditIndex implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AuditIndex.class);

    /** Bumped when the schema changes: an index of another format is rebuilt. */
    static final String FORMAT = "postern-audit-index/1";
    static final String DB = "index.db";
    static final String BUILDING = "index.db.building";
    static final String LOCK = "index.lock";
    static final String CHECKPOINT_TYPE = "audit.checkpoint";
    /** Records per time block: a time range is first narrowed to the blocks whose times overlap it. */
    static final int BLOCK_SHIFT = 12;
    private static final int MAX_POOLED_READERS = 4;
    private static final Pattern SEGMENT = Pattern.compile("segment-(\\d{6})\\.jsonl");

    /** The cap the console counts to: past it a count shows as {@code 100000+}. */
    public static final long COUNT_CAP = 100_000;

    static final int TYPE = 1, USER = 2, DEVICE = 3, HOST = 4, REASON = 5, SESSION = 6;

    private final Path trailDir;
    private final Path indexDir;
    private final ReentrantReadWriteLock swap = new ReentrantReadWriteLock();
    private final Object writer = new Object();
    private volatile @Nullable Store store;
    private volatile @Nullable String staleReason;
    private volatile boolean closed;

    private AuditIndex(Path trailDir, Path indexDir) {
        this.trailDir = trailDir;
        this.indexDir = indexDir;
    }

    /** Where the index of {@code trailDir} lives by default: the sibling directory {@code <trail>.index}. */
    public static Path besideTrail(Path trailDir) {
        Path abs = trailDir.toAbsolutePath().normalize();
        return abs.resolveSibling(abs.getFileName() + ".index");
    }

    /** Opens the index of {@code trailDir} at {@link #besideTrail}. */
    public static AuditIndex open(Path trailDir) throws IOException {
        return open(trailDir, besideTrail(trailDir));
    }

    /**
     * Opens (or prepares) the index of {@code trailDir} in {@code indexDir}, which is created if
     * missing. Does not read the trail: call {@link #catchUp()}. A missing, unreadable or corrupt
     * index file is not an error: the first catch-up builds it.
     */
    public static AuditIndex open(Path trailDir, Path indexDir) throws IOException {
        Path trail = trailDir.toAbsolutePath().normalize();
        Path index = indexDir.toAbsolutePath().normalize();
        if (index.equals(trail)) {
            throw new IllegalArgumentException("audit index directory: expected a directory beside the trail (such as "
                    + besideTrail(trail) + "), found the trail directory itself " + trail);
        }
        Files.createDirectories(index);
        AuditIndex idx = new AuditIndex(trail, index);
        Files.deleteIfExists(index.resolve(BUILDING)); // a rebuild that did not finish
        idx.store = Store.openExisting(index.resolve(DB));
        return idx;
    }

    public Path trailDirectory() {
        return trailDir;
    }

    public Path indexDirectory() {
        return indexDir;
    }

    /** The last {@code seq} indexed, 0 when none. */
    public long indexedSeq() throws IOException {
        return withReader(c -> {
            Meta m = Meta.read(c);
            return m == null ? 0L : m.lastSeq;
        }, 0L);
    }

    /** Why the next {@link #catchUp()} will rebuild (a stale entry met by {@link #read}), or null. */
    public @Nullable String staleReason() {
        return staleReason;
    }

    // ------------------------------------------------------------------ catch-up

    /**
     * Indexes the records appended to the trail since the last call; builds the index from scratch
     * when there is none yet, it cannot be read, or the trail is not the one indexed (its first
     * record, or the last record indexed, is no longer the same line at the same place; a segment is
     * shorter than indexed; {@link #read} met a stale entry). Only complete lines (ending in
     * {@code \n}) are indexed. Cheap when nothing is new: a few small reads of the trail.
     */
    public CatchUp catchUp() throws IOException {
        ensureOpen();
        synchronized (writer) {
            long t0 = System.nanoTime();
            try (FileChannel lockChannel = FileChannel.open(indexDir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLock lock;
                try {
                    lock = lockChannel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null;
                }
                if (lock == null) {
                    return new CatchUp(0, 0, false, null, indexedSeq(), true, ms(t0));
                }
                try {
                    String why = staleReason;
                    Store s = store;
                    Meta meta = null;
                    if (why == null) {
                        if (s == null) {
                            why = "no index yet (" + indexDir.resolve(DB) + " is missing)";
                        } else {
                            try {
                                meta = Meta.read(s.writer());
                                s.writer().commit(); // no read transaction left open between catch-ups
                                why = meta == null ? "the index file holds no index of format " + FORMAT : check(meta);
                            } catch (SQLException e) {
                                why = "the index file cannot be read (" + e.getMessage() + ")";
                            }
                        }
                    }
                    if (why != null) {
                        return rebuild(why, t0);
                    }
                    if (nothingNew(meta)) {
                        return new CatchUp(0, 0, false, null, meta.lastSeq, false, ms(t0));
                    }
                    try {
                        Indexer ix = new Indexer(s.writer(), meta, false, trailDir);
                        ix.run();
                        return new CatchUp(ix.added, ix.skipped, false, null, ix.meta.lastSeq, false, ms(t0));
                    } catch (IOException | RuntimeException e) {
                        rollback(s); // what was not committed yet is dropped; the next call reads it again
                        throw e;
                    } catch (SQLException e) {
                        rollback(s);
                        return rebuild("the index file cannot be written (" + e.getMessage() + ")", t0);
                    }
                } finally {
                    lock.release();
                }
            }
        }
    }

    private static void rollback(Store s) {
        try {
            s.writer().rollback();
        } catch (SQLException e) {
            log.debug("rolling back an audit index transaction: {}", e.getMessage());
        }
    }

    /** The segment being read has no bytes after those indexed and no later segment has any: the usual case of a console refresh. */
    private boolean nothingNew(Meta m) throws IOException {
        if (m.segN == 0) {
            return false;
        }
        Path seg = trailDir.resolve(segmentName(m.segN));
        if (!Files.exists(seg) || Files.size(seg) != m.segEnd) {
            return false;
        }
        try (var files = Files.list(trailDir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (segmentNumber(p.getFileName().toString()) > m.segN && Files.size(p) > 0) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Whether the trail is still the one indexed: null when it is, else why not. */
    private @Nullable String check(Meta m) throws IOException {
        if (m.lastSeq == 0) {
            if (m.segN > 0 && m.segEnd > 0) {
                Path seg = trailDir.resolve(segmentName(m.segN));
                if (!Files.exists(seg) || Files.size(seg) < m.segEnd) {
                    return segmentName(m.segN) + " is shorter than indexed (" + m.segEnd + " bytes): the trail was cut or replaced";
                }
            }
            return null;
        }
        String first = lineSha(m.firstSeg, m.firstOff, m.firstLen);
        if (!m.firstSha.equals(first)) {
            return "the trail's first record is not the one indexed (" + segmentName(m.firstSeg) + " at byte " + m.firstOff
                    + (first == null ? ": missing" : ": another line") + "): another trail, or one rewritten";
        }
        String last = lineSha(m.lastSeg, m.lastOff, m.lastLen);
        if (!m.lastSha.equals(last)) {
            return "the last record indexed (seq " + m.lastSeq + ", " + segmentName(m.lastSeg) + " at byte " + m.lastOff
                    + ") is " + (last == null ? "missing" : "another line") + ": the trail was cut, replaced or rewritten";
        }
        Path seg = trailDir.resolve(segmentName(m.segN));
        long size = Files.exists(seg) ? Files.size(seg) : -1;
        if (size < m.segEnd) {
            return segmentName(m.segN) + " is " + (size < 0 ? "missing" : size + " bytes") + ", shorter than the " + m.segEnd
                    + " bytes indexed: the trail was cut or replaced";
        }
        return null;
    }

    /** SHA-256 (hex) of the line at that place, or null when the file or the line is not there. */
    private @Nullable String lineSha(long segment, long offset, int length) throws IOException {
        byte[] b = readLine(segment, offset, length);
        return b == null ? null : hex(sha256().digest(b));
    }

    /**
     * The line's bytes (without {@code \n}) when the file holds a whole line of exactly that length
     * at that offset (the byte before it is {@code \n} or the start, the one after it {@code \n}); else null.
     */
    private byte @Nullable [] readLine(long segment, long offset, int length) throws IOException {
        Path file = trailDir.resolve(segmentName(segment));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long start = offset == 0 ? 0 : offset - 1;
            int want = (int) (offset + length + 1 - start);
            ByteBuffer buf = ByteBuffer.allocate(want);
            while (buf.hasRemaining()) {
                if (ch.read(buf, start + buf.position()) < 0) {
                    return null;
                }
            }
            byte[] a = buf.array();
            if ((offset > 0 && a[0] != '\n') || a[want - 1] != '\n') {
                return null;
            }
            int from = offset == 0 ? 0 : 1;
            byte[] line = new byte[length];
            System.arraycopy(a, from, line, 0, length);
            for (byte x : line) {
                if (x == '\n') {
                    return null;
                }
            }
            return line;
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Builds a new index file from the whole trail and swaps it in. */
    private CatchUp rebuild(String why, long t0) throws IOException {
        log.info("audit index {}: building from the trail {}: {}", indexDir, trailDir, why);
        Path building = indexDir.resolve(BUILDING);
        Files.deleteIfExists(building);
        Indexer ix;
        try (Connection c = connect(building)) {
            try (Statement st = c.createStatement()) {
                // A file being built is worth nothing until it is complete (a crash leaves it to be
                // deleted at the next open), so it is written without journal or fsync.
                st.execute("PRAGMA journal_mode=OFF");
                st.execute("PRAGMA synchronous=OFF");
                st.execute("PRAGMA cache_size=-131072");
                st.execute("PRAGMA temp_store=MEMORY");
                Schema.create(st);
            }
            c.setAutoCommit(false);
            ix = new Indexer(c, Meta.empty(), true, trailDir);
            ix.run();
            try (Statement st = c.createStatement()) {
                Schema.createRecordIndexes(st);
            }
            c.commit();
            c.setAutoCommit(true);
            try (Statement st = c.createStatement()) {
                st.execute("PRAGMA journal_mode=WAL");
            }
        } catch (SQLException e) {
            Files.deleteIfExists(building);
            throw new IOException("audit index " + indexDir + ": cannot build " + building + ": " + e.getMessage(), e);
        }
        try (FileChannel ch = FileChannel.open(building, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        swap.writeLock().lock();
        try {
            Store old = store;
            if (old != null) {
                old.close();
            }
            Path db = indexDir.resolve(DB);
            Files.deleteIfExists(indexDir.resolve(DB + "-wal"));
            Files.deleteIfExists(indexDir.resolve(DB + "-shm"));
            Files.move(building, db, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            store = Store.openExisting(db);
            staleReason = null;
        } finally {
            swap.writeLock().unlock();
        }
        log.info("audit index {}: built, {} records to seq {} in {} ms", indexDir, ix.added, ix.meta.lastSeq, ms(t0));
        return new CatchUp(ix.added, ix.skipped, true, why, ix.meta.lastSeq, false, ms(t0));
    }

    // ------------------------------------------------------------------ queries

    /**
     * The records matching {@code q} after {@code afterSeq} (0: from the start), in trail order, at
     * most {@code limit}; {@link IndexPage#hasMore} tells whether more follow. Continue with
     * {@code page(q, page.nextCursor(afterSeq), limit)}.
     */
    public IndexPage page(IndexQuery q, long afterSeq, int limit) throws IOException {
        if (limit < 1 || limit > 100_000) {
            throw new IllegalArgumentException("page limit: expected 1..100000, found " + limit);
        }
        if (afterSeq < 0) {
            throw new IllegalArgumentException("page cursor: expected a seq ≥ 0, found " + afterSeq);
        }
        return withReader(c -> {
            Plan plan = Plan.of(c, q, afterSeq);
            if (plan == null) {
                return new IndexPage(List.of(), false);
            }
            TreeMap<Long, IndexPosition> found = new TreeMap<>();
            for (Branch b : plan.branches) {
                try (PreparedStatement ps = c.prepareStatement(b.sql("seq, seg, off, len, t", true))) {
                    int i = b.bind(ps, plan);
                    ps.setLong(i, limit + 1);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            long seq = rs.getLong(1);
                            found.put(seq, new IndexPosition(seq, segmentName(rs.getLong(2)), rs.getLong(3), rs.getInt(4),
                                    Instant.ofEpochMilli(rs.getLong(5))));
                        }
                    }
                }
                while (found.size() > limit + 1) {
                    found.pollLastEntry();
                }
            }
            List<IndexPosition> out = new ArrayList<>(found.values());
            boolean more = out.size() > limit;
            return new IndexPage(more ? out.subList(0, limit) : out, more);
        }, new IndexPage(List.of(), false));
    }

    /** {@link #count(IndexQuery, long)} up to {@link #COUNT_CAP}. */
    public IndexCount count(IndexQuery q) throws IOException {
        return count(q, COUNT_CAP);
    }

    /** How many records match {@code q}, counting no further than {@code cap} (then {@link IndexCount#capped}). */
    public IndexCount count(IndexQuery q, long cap) throws IOException {
        if (cap < 1) {
            throw new IllegalArgumentException("count cap: expected ≥ 1, found " + cap);
        }
        return withReader(c -> {
            Plan plan = Plan.of(c, q, 0);
            if (plan == null) {
                return new IndexCount(0, false);
            }
            long total = 0;
            for (Branch b : plan.branches) {
                try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM (" + b.sql("1", false) + ")")) {
                    int i = b.bind(ps, plan);
                    ps.setLong(i, cap + 1 - total);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        total += rs.getLong(1);
                    }
                }
                if (total > cap) {
                    return new IndexCount(cap, true);
                }
            }
            return new IndexCount(total, false);
        }, new IndexCount(0, false));
    }

    /**
     * The record's line (UTF-8, without {@code \n}) read from the trail at the position, after checking
     * that the trail holds a whole line there with the {@code seq} the index names. The trail is the
     * truth: when it does not, nothing is returned, the index is marked for a rebuild at the next
     * {@link #catchUp()}, and {@link StaleIndexException} says what was expected and found.
     */
    public String read(IndexPosition p) throws IOException {
        long segment = segmentNumber(p.segment());
        if (segment < 1) {
            throw new IllegalArgumentException("index position: expected a segment-NNNNNN.jsonl file, found " + p.segment());
        }
        byte[] line = readLine(segment, p.offset(), p.length());
        String problem;
        if (line == null) {
            problem = "no whole line of " + p.length() + " bytes at byte " + p.offset() + " of " + p.segment()
                    + " (the file is missing, shorter, or its lines moved)";
        } else {
            long seq = leadingSeq(line);
            if (seq == p.seq()) {
                return new String(line, StandardCharsets.UTF_8);
            }
            problem = "the line there holds " + (seq < 0 ? "no seq" : "seq " + seq);
        }
        String why = "stale index entry: expected the record seq " + p.seq() + " at byte " + p.offset() + " of " + p.segment()
                + " in " + trailDir + ", found " + problem + "; the index will be rebuilt from the trail at the next catch-up";
        staleReason = why;
        throw new StaleIndexException(why);
    }

    /** The {@code seq} a record line starts with ({@code {"seq":N,}), or -1. */
    static long leadingSeq(byte[] line) {
        byte[] prefix = "{\"seq\":".getBytes(StandardCharsets.US_ASCII);
        if (line.length <= prefix.length) {
            return -1;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (line[i] != prefix[i]) {
                return -1;
            }
        }
        long v = 0;
        int i = prefix.length;
        int digits = 0;
        while (i < line.length && line[i] >= '0' && line[i] <= '9' && digits < 18) {
            v = v * 10 + (line[i] - '0');
            i++;
            digits++;
        }
        return digits == 0 || i >= line.length || line[i] != ',' ? -1 : v;
    }

    @Override
    public void close() {
        closed = true;
        synchronized (writer) {
            swap.writeLock().lock();
            try {
                Store s = store;
                if (s != null) {
                    s.close();
                }
                store = null;
            } finally {
                swap.writeLock().unlock();
            }
        }
    }

    // ------------------------------------------------------------------ plumbing

    @FunctionalInterface
    private interface ReaderWork<T> {
        T run(Connection c) throws SQLException, IOException;
    }

    private <T> T withReader(ReaderWork<T> work, T whenNoIndex) throws IOException {
        ensureOpen();
        swap.readLock().lock();
        try {
            Store s = store;
            if (s == null) {
                return whenNoIndex;
            }
            Connection c = s.borrow();
            boolean ok = false;
            try {
                T t = work.run(c);
                ok = true;
                return t;
            } finally {
                s.giveBack(c, ok);
            }
        } catch (SQLException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("SQLITE_CORRUPT") || m.contains("SQLITE_NOTADB")) {
                staleReason = "the index file cannot be read (" + m + ")";
                throw new IOException("audit index " + indexDir + ": cannot be read (" + m
                        + "); it will be rebuilt from the trail at the next catch-up", e);
            }
            // busy, out of memory, an I/O error: not the file's fault, so no rebuild for it
            throw new IOException("audit index " + indexDir + ": query failed: " + m, e);
        } finally {
            swap.readLock().unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("audit index " + indexDir + " is closed");
        }
    }

    static Connection connect(Path db) throws SQLException {
        return DriverManager.getConnection("jdbc:sqlite:" + db);
    }

    static String segmentName(long n) {
        return "segment-%06d.jsonl".formatted(n);
    }

    static long segmentNumber(String name) {
        Matcher m = SEGMENT.matcher(name);
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from this JDK", e);
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /** One index file: the catch-up's connection and a few pooled reader connections. */
    static final class Store {
        final Path db;
        private final ConcurrentLinkedQueue<Connection> readers = new ConcurrentLinkedQueue<>();
        private @Nullable Connection writerConnection;

        private Store(Path db) {
            this.db = db;
        }

        /** The store of an existing file, or null when there is none or it is not a readable index (then it is removed). */
        static @Nullable Store openExisting(Path db) throws IOException {
            if (!Files.exists(db)) {
                return null;
            }
            Store s = new Store(db);
            try {
                Connection c = s.borrow();
                Meta m = Meta.read(c);
                s.giveBack(c, true);
                if (m != null) {
                    return s;
                }
                log.warn("audit index {} holds no index of format {}; it will be rebuilt", db, FORMAT);
            } catch (SQLException e) {
                log.warn("audit index {} cannot be read ({}); it will be rebuilt", db, e.getMessage());
            }
            s.close();
            Files.deleteIfExists(db);
            Files.deleteIfExists(Path.of(db + "-wal"));
            Files.deleteIfExists(Path.of(db + "-shm"));
            return null;
        }

        Connection writer() throws SQLException {
            if (writerConnection == null) {
                Connection c = connect(db);
                try (Statement st = c.createStatement()) {
                    st.execute("PRAGMA journal_mode=WAL");
                    // The index can always be rebuilt: a lost last transaction after a power cut costs a catch-up, not data.
                    st.execute("PRAGMA synchronous=NORMAL");
                    st.execute("PRAGMA busy_timeout=10000");
                }
                c.setAutoCommit(false);
                writerConnection = c;
            }
            return writerConnection;
        }

        Connection borrow() throws SQLException {
            Connection c = readers.poll();
            if (c != null) {
                return c;
            }
            c = connect(db);
            try (Statement st = c.createStatement()) {
                st.execute("PRAGMA busy_timeout=10000");
                st.execute("PRAGMA query_only=1");
                st.execute("PRAGMA mmap_size=268435456");
                st.execute("PRAGMA cache_size=-16384");
            }
            return c;
        }

        void giveBack(Connection c, boolean ok) {
            if (ok && readers.size() < MAX_POOLED_READERS) {
                readers.add(c);
            } else {
                quietClose(c);
            }
        }

        void close() {
            Connection c;
            while ((c = readers.poll()) != null) {
                quietClose(c);
            }
            if (writerConnection != null) {
                quietClose(writerConnection);
                writerConnection = null;
            }
        }

        private static void quietClose(Connection c) {
            try {
                c.close();
            } catch (SQLException e) {
                log.debug("closing an audit index connection: {}", e.getMessage());
            }
        }
    }

    /** What the index knows of the trail, in its {@code meta} table. */
    static final class Meta {
        long lastSeq;
        long firstSeg;
        long firstOff;
        int firstLen;
        String firstSha = "";
        long lastSeg;
        long lastOff;
        int lastLen;
        String lastSha = "";
        /** The segment being read and the bytes of it indexed (up to the end of its last complete line). */
        long segN;
        long segEnd;
        /** Whether the last complete line of segment segN is its rotation checkpoint (then segN+1 follows). */
        boolean sealed;

        static Meta empty() {
            return new Meta();
        }

        static @Nullable Meta read(Connection c) throws SQLException {
            Map<String, String> kv = new HashMap<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT k, v FROM meta")) {
                while (rs.next()) {
                    kv.put(rs.getString(1), rs.getString(2));
                }
            }
            if (!FORMAT.equals(kv.get("format")) || !"ready".equals(kv.get("state"))) {
                return null;
            }
            Meta m = new Meta();
            try {
                m.lastSeq = Long.parseLong(kv.get("lastSeq"));
                m.firstSeg = Long.parseLong(kv.get("firstSeg"));
                m.firstOff = Long.parseLong(kv.get("firstOff"));
                m.firstLen = Integer.parseInt(kv.get("firstLen"));
                m.firstSha = kv.get("firstSha");
                m.lastSeg = Long.parseLong(kv.get("lastSeg"));
                m.lastOff = Long.parseLong(kv.get("lastOff"));
                m.lastLen = Integer.parseInt(kv.get("lastLen"));
                m.lastSha = kv.get("lastSha");
                m.segN = Long.parseLong(kv.get("segN"));
                m.segEnd = Long.parseLong(kv.get("segEnd"));
                m.sealed = Boolean.parseBoolean(kv.get("sealed"));
            } catch (RuntimeException e) {
                return null;
            }
            return m.firstSha == null || m.lastSha == null ? null : m;
        }

        void write(Connection c) throws SQLException {
            try (PreparedStatement ps = c.prepareStatement("INSERT OR REPLACE INTO meta(k, v) VALUES (?, ?)")) {
                String[][] kv = {{"format", FORMAT}, {"state", "ready"}, {"lastSeq", "" + lastSeq}, {"firstSeg", "" + firstSeg},
                        {"firstOff", "" + firstOff}, {"firstLen", "" + firstLen}, {"firstSha", firstSha}, {"lastSeg", "" + lastSeg},
                        {"lastOff", "" + lastOff}, {"lastLen", "" + lastLen}, {"lastSha", lastSha}, {"segN", "" + segN},
                        {"segEnd", "" + segEnd}, {"sealed", "" + sealed}};
                for (String[] e : kv) {
                    ps.setString(1, e[0]);
                    ps.setString(2, e[1]);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
    }

    /** How one query runs: its resolved terms, its seq range, and one branch per type and host column. */
    static final class Plan {
        final @Nullable Instant since;
        final @Nullable Instant until;
        long lo;
        long hi;
        final List<Branch> branches = new ArrayList<>();

        private Plan(IndexQuery q) {
            since = q.since();
            until = q.until();
        }

        /** The plan, or null when nothing can match (a value the trail never held, an empty time range). */
        static @Nullable Plan of(Connection c, IndexQuery q, long afterSeq) throws SQLException {
            Plan p = new Plan(q);
            long[] user = null, device = null, host = null, reason = null, session = null;
            if (q.user() != null && (user = term(c, USER, q.user())) == null) {
                return null;
            }
            if (q.device() != null && (device = term(c, DEVICE, q.device())) == null) {
                return null;
            }
            if (q.host() != null && (host = term(c, HOST, q.hostName())) == null) {
                return null;
            }
            if (q.reason() != null && (reason = term(c, REASON, q.reason())) == null) {
                return null;
            }
            if (q.session() != null && (session = term(c, SESSION, q.session())) == null) {
                return null;
            }
            List<long[]> types = new ArrayList<>();
            Long excludeType = null;
            try (PreparedStatement ps = c.prepareStatement("SELECT id, v, n FROM term WHERE kind = " + TYPE);
                 ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String v = rs.getString(2);
                    boolean checkpoint = CHECKPOINT_TYPE.equals(v);
                    if (checkpoint && !q.includeCheckpoints()) {
                        excludeType = rs.getLong(1);
                        continue;
                    }
                    if (q.typePrefixes().stream().anyMatch(v::startsWith)) {
                        types.add(new long[]{rs.getLong(1), rs.getLong(3)});
                    }
                }
            }
            if (!q.typePrefixes().isEmpty() && types.isEmpty()) {
                return null;
            }
            p.lo = afterSeq + 1;
            p.hi = Long.MAX_VALUE;
            if (q.since() != null || q.until() != null) {
                try (PreparedStatement ps = c.prepareStatement("SELECT min(lo), max(hi) FROM blk WHERE tmax >= ? AND tmin < ?")) {
                    ps.setLong(1, q.since() == null ? Long.MIN_VALUE : q.since().toEpochMilli());
                    ps.setLong(2, q.until() == null ? Long.MAX_VALUE : q.until().toEpochMilli());
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next() || rs.getObject(1) == null) {
                            return null;
                        }
                        p.lo = Math.max(p.lo, rs.getLong(1));
                        p.hi = rs.getLong(2);
                    }
                }
            } else {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT max(seq) FROM rec")) {
                    p.hi = rs.next() ? rs.getLong(1) : 0;
                }
            }
            if (p.lo > p.hi) {
                return null;
            }
            List<long @Nullable []> typeOptions = new ArrayList<>();
            if (types.isEmpty()) {
                typeOptions.add(null);
            } else {
                typeOptions.addAll(types);
            }
            for (long[] type : typeOptions) {
                for (int hostColumn = 0; hostColumn < (host == null ? 1 : 2); hostColumn++) {
                    p.branches.add(new Branch(user, device, host, q.hostPort(), hostColumn == 1, type, type == null ? excludeType : null, reason,
                            session, q.since() != null, q.until() != null, p.hi - p.lo + 1));
                }
            }
            return p;
        }

        /** {id, n} of the term, or null when the trail never held the value. */
        private static long @Nullable [] term(Connection c, int kind, String value) throws SQLException {
            try (PreparedStatement ps = c.prepareStatement("SELECT id, n FROM term WHERE kind = ? AND v = ?")) {
                ps.setInt(1, kind);
                ps.setString(2, value);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? new long[]{rs.getLong(1), Math.max(1, rs.getLong(2))} : null;
                }
            }
        }
    }

    /**
     * One SQL query of a plan, in seq order. The index it runs on is chosen here, not left to the
     * planner: the one of the rarest value (each term keeps its count), or the rowid range of the
     * time blocks when that is narrower; the other criteria are checked on the rows.
     */
    record Branch(long @Nullable [] user, long @Nullable [] device, long @Nullable [] host, int port, boolean addrColumn,
                  long @Nullable [] type, @Nullable Long excludeType, long @Nullable [] reason, long @Nullable [] session,
                  boolean since, boolean until, long rangeWidth) {

        String sql(String columns, boolean ordered) {
            String index = "NOT INDEXED";
            long best = rangeWidth;
            String[] names = {"rec_usr", "rec_dev", addrColumn ? "rec_addr" : "rec_host", "rec_type", "rec_reason", "rec_sess"};
            long[][] terms = {user, device, host, type, reason, session};
            for (int i = 0; i < names.length; i++) {
                if (terms[i] != null && terms[i][1] < best) {
                    best = terms[i][1];
                    index = "INDEXED BY " + names[i];
                }
            }
            StringBuilder sb = new StringBuilder("SELECT ").append(columns).append(" FROM rec ").append(index)
                    .append(" WHERE seq >= ? AND seq <= ?");
            if (user != null) {
                sb.append(" AND usr = ?");
            }
            if (device != null) {
                sb.append(" AND dev = ?");
            }
            if (host != null) {
                // the addr branch leaves out what the host branch already found
                if (port < 0) {
                    sb.append(addrColumn ? " AND addr = ? AND (host IS NULL OR host <> ?)" : " AND host = ?");
                } else {
                    sb.append(addrColumn ? " AND addr = ? AND aport = ? AND NOT (host IS ? AND hport IS ?)" : " AND host = ? AND hport = ?");
                }
            }
            if (type != null) {
                sb.append(" AND type = ?");
            }
            if (excludeType != null) {
                sb.append(" AND type <> ?");
            }
            if (reason != null) {
                sb.append(" AND reason = ?");
            }
            if (session != null) {
                sb.append(" AND sess = ?");
            }
            if (since) {
                sb.append(" AND t >= ?");
            }
            if (until) {
                sb.append(" AND t < ?");
            }
            if (ordered) {
                sb.append(" ORDER BY seq");
            }
            return sb.append(" LIMIT ?").toString();
        }

        /** Binds the values in the order of {@link #sql}; returns the index of the LIMIT parameter. */
        int bind(PreparedStatement ps, Plan plan) throws SQLException {
            int i = 1;
            ps.setLong(i++, plan.lo);
            ps.setLong(i++, plan.hi);
            if (user != null) {
                ps.setLong(i++, user[0]);
            }
            if (device != null) {
                ps.setLong(i++, device[0]);
            }
            if (host != null) {
                ps.setLong(i++, host[0]);
                if (port >= 0) {
                    ps.setInt(i++, port);
                }
                if (addrColumn) {
                    ps.setLong(i++, host[0]);
                    if (port >= 0) {
                        ps.setInt(i++, port);
                    }
                }
            }
            if (type != null) {
                ps.setLong(i++, type[0]);
            }
            if (excludeType != null) {
                ps.setLong(i++, excludeType);
            }
            if (reason != null) {
                ps.setLong(i++, reason[0]);
            }
            if (session != null) {
                ps.setLong(i++, session[0]);
            }
            if (since) {
                ps.setLong(i++, plan.since.toEpochMilli());
            }
            if (until) {
                ps.setLong(i++, plan.until.toEpochMilli());
            }
            return i;
        }
    }
}
