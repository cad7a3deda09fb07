-- Postern registry on PostgreSQL, schema version 1: the tables of the SQLite V1__init.sql with
-- PostgreSQL's types (times BIGINT epoch milliseconds, UTC; DER BYTEA), plus the change counter
-- SQLite does not need (it has PRAGMA data_version).

CREATE TABLE devices (
    id              TEXT    PRIMARY KEY,
    owner           TEXT    NOT NULL,
    -- comma-separated; group names cannot hold a comma (Device validates them)
    groups          TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'suspended', 'revoked')),
    hardware_serial TEXT,
    created_at      BIGINT  NOT NULL,
    enrolled_at     BIGINT,
    last_seen       BIGINT,
    last_posture    TEXT
);

CREATE TABLE certificates (
    serial            TEXT    PRIMARY KEY,
    kind              TEXT    NOT NULL CHECK (kind IN ('device', 'server', 'admin', 'ocsp')),
    device_id         TEXT    REFERENCES devices (id),
    subject           TEXT    NOT NULL,
    sha256            TEXT    NOT NULL UNIQUE,
    not_before        BIGINT  NOT NULL,
    not_after         BIGINT  NOT NULL,
    issued_at         BIGINT  NOT NULL,
    revoked_at        BIGINT,
    revocation_reason TEXT CHECK (revocation_reason IN ('keyCompromise', 'lost', 'retired', 'superseded', 'certificateHold')),
    der               BYTEA   NOT NULL,
    CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL)),
    CHECK ((kind = 'device') = (device_id IS NOT NULL))
);

-- certificatesOf(device), newest first
CREATE INDEX certificates_by_device ON certificates (device_id, issued_at);
-- revokedCertificates(now): the CRL's entries, a small subset of all certificates
CREATE INDEX certificates_revoked ON certificates (not_after) WHERE revoked_at IS NOT NULL;

CREATE TABLE enrollment_tokens (
    hash       TEXT    PRIMARY KEY,
    device_id  TEXT    NOT NULL REFERENCES devices (id),
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT,
    -- set when the device is revoked while the token is unused
    voided_at  BIGINT
);

CREATE INDEX enrollment_tokens_by_device ON enrollment_tokens (device_id);

CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value BIGINT  NOT NULL
);

INSERT INTO counters (name, value) VALUES ('crl_number', 0);

-- Registry.changeCount(): bumped by every transaction that changes what a gateway caches, in the
-- same transaction as the change (so it never moves before the change is visible).
INSERT INTO counters (name, value) VALUES ('changes', 0);
