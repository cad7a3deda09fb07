-- Postern registry, schema version 1.
-- Times are epoch milliseconds (UTC). Serials are lower-case hex without leading zeros.

CREATE TABLE devices (
    id              TEXT    PRIMARY KEY,
    owner           TEXT    NOT NULL,
    -- comma-separated; group names cannot hold a comma (Device validates them)
    groups          TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'suspended', 'revoked')),
    hardware_serial TEXT,
    created_at      INTEGER NOT NULL,
    enrolled_at     INTEGER,
    last_seen       INTEGER,
    last_posture    TEXT
) STRICT;

CREATE TABLE certificates (
    serial            TEXT    PRIMARY KEY,
    kind              TEXT    NOT NULL CHECK (kind IN ('device', 'server', 'admin', 'ocsp')),
    device_id         TEXT    REFERENCES devices (id),
    subject           TEXT    NOT NULL,
    sha256            TEXT    NOT NULL UNIQUE,
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    issued_at         INTEGER NOT NULL,
    revoked_at        INTEGER,
    revocation_reason TEXT CHECK (revocation_reason IN ('keyCompromise', 'lost', 'retired', 'superseded', 'certificateHold')),
    der               BLOB    NOT NULL,
    CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL)),
    CHECK ((kind = 'device') = (device_id IS NOT NULL))
) STRICT;

-- certificatesOf(device), newest first
CREATE INDEX certificates_by_device ON certificates (device_id, issued_at);
-- revokedCertificates(now): the CRL's entries, a small subset of all certificates
CREATE INDEX certificates_revoked ON certificates (not_after) WHERE revoked_at IS NOT NULL;

CREATE TABLE enrollment_tokens (
    hash       TEXT    PRIMARY KEY,
    device_id  TEXT    NOT NULL REFERENCES devices (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    -- set when the device is revoked while the token is unused
    voided_at  INTEGER
) STRICT;

CREATE INDEX enrollment_tokens_by_device ON enrollment_tokens (device_id);

CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

INSERT INTO counters (name, value) VALUES ('crl_number', 0);
