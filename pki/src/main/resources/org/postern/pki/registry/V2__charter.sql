-- Postern registry, schema version 2: the remote-work charter each device accepted.
-- One row per device, its latest acceptance; owner is the device's owner when it accepted (an
-- acceptance by a previous owner does not count for the next one). Times are epoch milliseconds.

CREATE TABLE charter_acceptances (
    device_id   TEXT    PRIMARY KEY REFERENCES devices (id),
    owner       TEXT    NOT NULL,
    version     INTEGER NOT NULL CHECK (version > 0),
    sha256      TEXT    NOT NULL CHECK (length(sha256) = 64),
    accepted_at INTEGER NOT NULL
) STRICT;
