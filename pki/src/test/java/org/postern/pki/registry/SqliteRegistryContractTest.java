package org.postern.pki.registry;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The registry contract on the SQLite file of a fresh data directory per test. */
class SqliteRegistryContractTest extends RegistryContract {
    @TempDir
    Path dir;

    @Override
    Registry open() {
        return SqliteRegistry.open(dir, Fixtures.CLOCK);
    }

    @Override
    void execute(String sql) {
        SqliteRegistryStorageTest.execute(dir.resolve(SqliteRegistry.FILE_NAME), sql);
    }

    @Override
    String storeName() {
        return SqliteRegistry.FILE_NAME;
    }
}
