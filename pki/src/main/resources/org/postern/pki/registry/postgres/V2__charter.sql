-- Postern registry on PostgreSQL, schema version 2: the table of the SQLite V2__charter.sql with
-- PostgreSQL's types (times BIGINT epoch milliseconds, UTC).

CREATE TABLE charter_acceptances (
    device_id   TEXT    PRIMARY KEY REFERENCES devices (id),
    owner       TEXT    NOT NULL,
    version     INTEGER NOT NULL CHECK (version > 0),
    sha256      TEXT    NOT NULL CHECK (length(sha256) = 64),
    accepted_at BIGINT  NOT NULL
);
