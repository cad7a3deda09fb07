package org.postern.agent.collect.macos;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

final class MacFixtures {
    private MacFixtures() {
    }

    static String read(String name) {
        try (InputStream in = MacFixtures.class.getResourceAsStream("/collect/macos/" + name)) {
            if (in == null) {
                throw new IllegalStateException("no fixture " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
