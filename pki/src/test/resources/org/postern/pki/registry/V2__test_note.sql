-- A second migration, for SqliteRegistryStorageTest only.
CREATE TABLE test_notes (
    id   INTEGER PRIMARY KEY,
    note TEXT NOT NULL
) STRICT;

INSERT INTO test_notes (note) VALUES ('migrated; to v2');
