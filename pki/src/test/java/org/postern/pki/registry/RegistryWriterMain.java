package org.postern.pki.registry;

import java.nio.file.Path;

/**
 * The second process of {@link SqliteRegistryConcurrencyTest}: opens the registry in
 * {@code args[0]}, prints {@code ready}, then adds and enrolls {@code args[2]} devices named
 * {@code args[1] + i} (serials from {@code args[3]}), and prints {@code done}.
 */
public final class RegistryWriterMain {
    private RegistryWriterMain() {}

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        String prefix = args[1];
        int count = Integer.parseInt(args[2]);
        long firstSerial = Long.parseLong(args[3]);
        try (SqliteRegistry registry = SqliteRegistry.open(dir, Fixtures.CLOCK)) {
            System.out.println("ready");
            System.out.flush();
            for (int i = 0; i < count; i++) {
                Fixtures.enrolled(registry, prefix + i, firstSerial + i);
            }
        }
        System.out.println("done");
        System.out.flush();
    }
}
