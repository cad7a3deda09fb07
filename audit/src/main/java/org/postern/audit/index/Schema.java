package org.postern.audit.index;

import java.sql.SQLException;
import java.sql.Statement;

/**
 * The index's tables. Text values are interned in {@code term} (kind, value → id, with a count of
 * the records holding it, which picks the index a query runs on), so a record row is a handful of
 * small integers: {@code seq} is the rowid, and each secondary index on one column also holds the
 * rowid, hence sorted by (value, seq): the records of a user come in trail order without a sort.
 * {@code blk} keeps the time span of every 4096 records, which turns a time range into a seq range
 * (exact also when the clock stepped back: a block is a candidate whenever its span overlaps).
 */
final class Schema {
    private Schema() {
    }

    static void create(Statement st) throws SQLException {
        st.execute("CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL)");
        st.execute("CREATE TABLE term(id INTEGER PRIMARY KEY, kind INTEGER NOT NULL, v TEXT NOT NULL, n INTEGER NOT NULL)");
        st.execute("CREATE UNIQUE INDEX term_kv ON term(kind, v)");
        st.execute("CREATE TABLE rec(seq INTEGER PRIMARY KEY, seg INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL,"
                + " t INTEGER NOT NULL, type INTEGER NOT NULL, usr INTEGER, dev INTEGER, host INTEGER, hport INTEGER, addr INTEGER, aport INTEGER,"
                + " reason INTEGER, sess INTEGER)");
        st.execute("CREATE TABLE blk(b INTEGER PRIMARY KEY, lo INTEGER NOT NULL, hi INTEGER NOT NULL, tmin INTEGER NOT NULL, tmax INTEGER NOT NULL)");
    }

    /** Made after the bulk load of a new index (faster than keeping them up to date row by row). */
    static void createRecordIndexes(Statement st) throws SQLException {
        st.execute("CREATE INDEX rec_type ON rec(type)");
        for (String col : new String[]{"usr", "dev", "host", "addr", "reason", "sess"}) {
            st.execute("CREATE INDEX rec_" + col + " ON rec(" + col + ") WHERE " + col + " IS NOT NULL");
        }
    }
}
