package org.postern.audit.index;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import org.jspecify.annotations.Nullable;

/**
 * One catch-up: reads the trail's segment files from where the index stopped, complete lines only,
 * and adds their records. Used by one thread (the catch-up's), on the catch-up's connection.
 */
final class Indexer {
    private static final JsonFactory JSON = new JsonFactory();
    private static final int READ_CHUNK = 4 << 20;
    /** Session ids come and go; the others (types, users, devices, hosts, reasons) are few and all cached. */
    private static final int SESSION_CACHE = 100_000;
    /** Records per transaction. */
    private static final int COMMIT_EVERY = 100_000;

    final AuditIndex.Meta meta;
    long added;
    long skipped;

    private final Connection c;
    private final Map<String, Long>[] terms;
    private final LinkedHashMap<String, Long> sessions = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > SESSION_CACHE;
        }
    };
    private final Map<Long, long[]> termCounts = new HashMap<>();
    private final TreeMap<Long, long[]> blocks = new TreeMap<>();
    private long nextTermId;
    private int pending;
    private final PreparedStatement insRec;
    private final PreparedStatement insTerm;
    private final PreparedStatement selTerm;

    private final Path trailDir;
    private long sinceCommit;

    @SuppressWarnings("unchecked")
    Indexer(Connection c, AuditIndex.Meta from, boolean fresh, Path trailDir) throws SQLException {
        this.c = c;
        this.meta = from;
        this.trailDir = trailDir;
        this.terms = new Map[AuditIndex.SESSION];
        for (int k = 0; k < terms.length; k++) {
            terms[k] = new HashMap<>();
        }
        nextTermId = 1;
        if (!fresh) {
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT id, kind, v FROM term WHERE kind <> " + AuditIndex.SESSION)) {
                while (rs.next()) {
                    terms[rs.getInt(2) - 1].put(rs.getString(3), rs.getLong(1));
                }
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT coalesce(max(id), 0) FROM term")) {
                rs.next();
                nextTermId = rs.getLong(1) + 1;
            }
        }
        insRec = c.prepareStatement("INSERT INTO rec(seq, seg, off, len, t, type, usr, dev, host, hport, addr, aport, reason, sess)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        insTerm = c.prepareStatement("INSERT INTO term(id, kind, v, n) VALUES (?, ?, ?, 0)");
        selTerm = c.prepareStatement("SELECT id FROM term WHERE kind = ? AND v = ?");
    }

    void run() throws IOException, SQLException {
        AuditIndex.Meta m = meta;
        List<Long> segments = new ArrayList<>();
        try (var files = Files.list(trailDir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                long n = AuditIndex.segmentNumber(p.getFileName().toString());
                if (n > 0 && n >= m.segN) {
                    segments.add(n);
                }
            }
        }
        segments.sort(null);
        if (m.segN == 0 && !segments.isEmpty()) {
            m.segN = segments.getFirst();
            m.segEnd = 0;
            m.sealed = false;
        }
        for (int i = 0; i < segments.size(); i++) {
            long n = segments.get(i);
            if (n != m.segN) {
                // Move on to a later segment only once the one before is finished: its rotation
                // checkpoint is read, or the writer has already written to a later file. Otherwise
                // the rotation is under way and its checkpoint is still to come to this segment.
                if (!m.sealed && !laterHasBytes(trailDir, segments, i)) {
                    break;
                }
                m.segN = n;
                m.segEnd = 0;
                m.sealed = false;
            }
            readSegment(trailDir.resolve(AuditIndex.segmentName(n)), n);
        }
        commit();
    }

    private static boolean laterHasBytes(Path trailDir, List<Long> segments, int from) throws IOException {
        for (int j = from; j < segments.size(); j++) {
            Path p = trailDir.resolve(AuditIndex.segmentName(segments.get(j)));
            if (Files.exists(p) && Files.size(p) > 0) {
                return true;
            }
        }
        return false;
    }

    private void readSegment(Path file, long n) throws IOException, SQLException {
        AuditIndex.Meta m = meta;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long pos = m.segEnd;
            byte[] buf = new byte[READ_CHUNK];
            int have = 0; // bytes in buf, from file offset pos
            while (pos + have < size) {
                if (have == buf.length) {
                    byte[] bigger = new byte[buf.length * 2]; // one line longer than the buffer
                    System.arraycopy(buf, 0, bigger, 0, have);
                    buf = bigger;
                }
                ByteBuffer bb = ByteBuffer.wrap(buf, have, (int) Math.min(buf.length - have, size - pos - have));
                int r = ch.read(bb, pos + have);
                if (r <= 0) {
                    break;
                }
                have += r;
                int start = 0;
                for (int i = 0; i < have; i++) {
                    if (buf[i] == '\n') {
                        line(buf, start, i - start, n, pos + start);
                        start = i + 1;
                    }
                }
                // only complete lines count: the rest waits for its '\n'
                pos += start;
                System.arraycopy(buf, start, buf, 0, have - start);
                have -= start;
            }
        }
    }

    private void line(byte[] buf, int off, int len, long segment, long fileOffset) throws IOException, SQLException {
        AuditIndex.Meta m = meta;
        m.sealed = false;
        m.segEnd = fileOffset + len + 1;
        Parsed p = parse(buf, off, len);
        if (p == null || p.seq <= m.lastSeq) {
            skipped++;
            return;
        }
        m.sealed = AuditIndex.CHECKPOINT_TYPE.equals(p.type) && "rotation".equals(p.reason);
        long t = p.time.toEpochMilli();
        insRec.setLong(1, p.seq);
        insRec.setLong(2, segment);
        insRec.setLong(3, fileOffset);
        insRec.setInt(4, len);
        insRec.setLong(5, t);
        insRec.setLong(6, id(AuditIndex.TYPE, p.type));
        setTerm(7, AuditIndex.USER, p.user);
        setTerm(8, AuditIndex.DEVICE, p.device);
        String host = p.dest == null ? null : IndexQuery.normalizeHost(p.dest);
        int hport = p.dest == null ? -1 : IndexQuery.port(p.dest);
        String addr = p.destAddress == null ? null : IndexQuery.normalizeHost(p.destAddress);
        int aport = p.destAddress == null ? -1 : IndexQuery.port(p.destAddress);
        if (addr != null && addr.equals(host) && aport == hport) {
            addr = null; // the same place twice (a destination given as an address): kept once
        }
        setTerm(9, AuditIndex.HOST, host);
        setPort(10, host == null ? -1 : hport);
        setTerm(11, AuditIndex.HOST, addr);
        setPort(12, addr == null ? -1 : aport);
        setTerm(13, AuditIndex.REASON, p.reason);
        setTerm(14, AuditIndex.SESSION, p.session);
        insRec.addBatch();
        long b = p.seq >>> AuditIndex.BLOCK_SHIFT;
        long[] blk = blocks.get(b);
        if (blk == null) {
            blocks.put(b, new long[]{p.seq, p.seq, t, t});
        } else {
            blk[0] = Math.min(blk[0], p.seq);
            blk[1] = Math.max(blk[1], p.seq);
            blk[2] = Math.min(blk[2], t);
            blk[3] = Math.max(blk[3], t);
        }
        if (m.lastSeq == 0) {
            m.firstSeg = segment;
            m.firstOff = fileOffset;
            m.firstLen = len;
            m.firstSha = AuditIndex.hex(AuditIndex.sha256().digest(java.util.Arrays.copyOfRange(buf, off, off + len)));
        }
        m.lastSeq = p.seq;
        m.lastSeg = segment;
        m.lastOff = fileOffset;
        m.lastLen = len;
        added++;
        if (++sinceCommit >= COMMIT_EVERY) {
            commit();
        } else if (++pending >= 10_000) {
            insRec.executeBatch();
            pending = 0;
        }
    }

    private void setPort(int column, int port) throws SQLException {
        if (port < 0) {
            insRec.setNull(column, Types.INTEGER);
        } else {
            insRec.setInt(column, port);
        }
    }

    private void setTerm(int column, int kind, @Nullable String value) throws SQLException {
        if (value == null) {
            insRec.setNull(column, Types.INTEGER);
        } else {
            insRec.setLong(column, id(kind, value));
        }
    }

    private long id(int kind, String value) throws SQLException {
        Long id;
        if (kind == AuditIndex.SESSION) {
            id = sessions.get(value);
            if (id == null) {
                selTerm.setInt(1, kind);
                selTerm.setString(2, value);
                try (ResultSet rs = selTerm.executeQuery()) {
                    id = rs.next() ? rs.getLong(1) : null;
                }
                if (id == null) {
                    id = newTerm(kind, value);
                }
                sessions.put(value, id);
            }
            return id; // sessions are rare values: their counts are not kept
        }
        id = terms[kind - 1].get(value);
        if (id == null) {
            id = newTerm(kind, value);
            terms[kind - 1].put(value, id);
        }
        termCounts.computeIfAbsent(id, k -> new long[1])[0]++;
        return id;
    }

    private long newTerm(int kind, String value) throws SQLException {
        long id = nextTermId++;
        insTerm.setLong(1, id);
        insTerm.setInt(2, kind);
        insTerm.setString(3, value);
        insTerm.executeUpdate();
        return id;
    }

    /** SHA-256 of a line just read (read again from its file: the chunk it was in is gone by now). */
    private String sha(long segment, long offset, int length) throws IOException {
        try (FileChannel ch = FileChannel.open(trailDir.resolve(AuditIndex.segmentName(segment)), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            while (b.hasRemaining()) {
                if (ch.read(b, offset + b.position()) < 0) {
                    throw new IOException(AuditIndex.segmentName(segment) + " ended while reading back the line at byte " + offset);
                }
            }
            return AuditIndex.hex(AuditIndex.sha256().digest(b.array()));
        }
    }

    private void commit() throws SQLException, IOException {
        insRec.executeBatch();
        pending = 0;
        try (PreparedStatement ps = c.prepareStatement("UPDATE term SET n = n + ? WHERE id = ?")) {
            for (var e : termCounts.entrySet()) {
                ps.setLong(1, e.getValue()[0]);
                ps.setLong(2, e.getKey());
                ps.addBatch();
            }
            ps.executeBatch();
        }
        termCounts.clear();
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO blk(b, lo, hi, tmin, tmax) VALUES (?, ?, ?, ?, ?)"
                + " ON CONFLICT(b) DO UPDATE SET lo = min(lo, excluded.lo), hi = max(hi, excluded.hi),"
                + " tmin = min(tmin, excluded.tmin), tmax = max(tmax, excluded.tmax)")) {
            for (var e : blocks.entrySet()) {
                long[] v = e.getValue();
                ps.setLong(1, e.getKey());
                ps.setLong(2, v[0]);
                ps.setLong(3, v[1]);
                ps.setLong(4, v[2]);
                ps.setLong(5, v[3]);
                ps.addBatch();
            }
            ps.executeBatch();
        }
        blocks.clear();
        AuditIndex.Meta m = meta;
        if (m.lastSeq > 0) {
            m.lastSha = sha(m.lastSeg, m.lastOff, m.lastLen);
        }
        m.write(c);
        c.commit();
        sinceCommit = 0;
    }

    /** The fields of one record line, or null when the line is not a record (not JSON, no seq, type or time). */
    static @Nullable Parsed parse(byte[] buf, int off, int len) {
        Parsed p = new Parsed();
        String time = null;
        try (JsonParser jp = JSON.createParser(buf, off, len)) {
            if (jp.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            JsonToken tok;
            while ((tok = jp.nextToken()) == JsonToken.FIELD_NAME) {
                String name = jp.currentName();
                JsonToken v = jp.nextToken();
                if (v == JsonToken.START_OBJECT || v == JsonToken.START_ARRAY) {
                    jp.skipChildren();
                    continue;
                }
                switch (name) {
                    case "seq" -> p.seq = v == JsonToken.VALUE_NUMBER_INT ? jp.getLongValue() : -1;
                    case "time" -> time = text(jp, v);
                    case "type" -> p.type = text(jp, v);
                    case "user" -> p.user = text(jp, v);
                    case "device" -> p.device = text(jp, v);
                    case "dest" -> p.dest = text(jp, v);
                    case "destAddress" -> p.destAddress = text(jp, v);
                    case "reason" -> p.reason = text(jp, v);
                    case "session" -> p.session = text(jp, v);
                    default -> {
                    }
                }
            }
            if (tok != JsonToken.END_OBJECT || jp.nextToken() != null) {
                return null;
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (p.seq < 1 || p.type == null || time == null) {
            return null;
        }
        try {
            p.time = Instant.parse(time);
        } catch (DateTimeParseException e) {
            return null;
        }
        return p;
    }

    private static @Nullable String text(JsonParser jp, JsonToken v) throws IOException {
        return v == JsonToken.VALUE_STRING ? jp.getText() : null;
    }

    static final class Parsed {
        long seq = -1;
        Instant time = Instant.EPOCH;
        @Nullable String type;
        @Nullable String user;
        @Nullable String device;
        @Nullable String dest;
        @Nullable String destAddress;
        @Nullable String reason;
        @Nullable String session;
    }
}
