package org.postern.agent.collect.osquery;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

final class OsqueryFixtures {
    private OsqueryFixtures() {
    }

    static String read(String name) {
        try (InputStream in = OsqueryFixtures.class.getResourceAsStream("/collect/osquery/" + name)) {
            if (in == null) {
                throw new IllegalStateException("no fixture " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<Map<String, String>> rows(String name) {
        return OsqueryRows.parse(read(name));
    }
}
