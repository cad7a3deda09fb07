package org.postern.pki.registry;

import java.nio.file.Path;
import java.time.Clock;
import org.postern.config.RegistrySettings;

/** Opens the registry the {@code registry:} settings of pki.yaml or gateway.yaml name. */
public final class Registries {

    private Registries() {
    }

    /**
     * {@code registry.url: sqlite}: {@code dataDir/registry.db}; {@code postgresql://…}: the shared
     * database, migrated to the current schema. Throws {@link RegistryException}
     * ({@code registry.unavailable}, {@code registry.too_new}) when it cannot be used.
     */
    public static Registry open(RegistrySettings settings, Path dataDir, Clock clock) {
        RegistrySettings.Postgres postgres = settings.postgres();
        if (postgres == null) {
            return SqliteRegistry.open(dataDir, clock);
        }
        return PostgresRegistry.open(postgres, settings.poolSize(), clock);
    }
}
