package org.postern.agent.session;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.postern.keys.SecureFiles;

/**
 * {@code session.json} in the agent directory: what the running {@code postern-agent up} is doing
 * (its pid, the gateway, connected since, the lease, the last decision, the local listeners), for
 * {@code status} and {@code connect}. Replaced atomically, 0600; removed when {@code up} stops.
 */
public final class SessionFile {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path file;

    public SessionFile(Path agentDir) {
        this.file = agentDir.resolve("session.json");
    }

    public Path file() {
        return file;
    }

    void write(Map<String, Object> content) throws IOException {
        SecureFiles.replace(file, JSON.writeValueAsBytes(content), true);
    }

    void remove() throws IOException {
        Files.deleteIfExists(file);
    }

    /** The running session's record: empty when there is none, or when the process that wrote it is gone. */
    public Optional<JsonNode> running() throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        JsonNode n;
        try {
            n = JSON.readTree(file.toFile());
        } catch (IOException e) {
            return Optional.empty(); // being replaced or damaged: as good as absent
        }
        long pid = n.path("pid").asLong(-1);
        boolean alive = pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        return alive ? Optional.of(n) : Optional.empty();
    }
}
