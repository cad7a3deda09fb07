package org.postern.gateway.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Drives {@code src/test/resources/h2/h2client.py}: an independent HTTP/2 client (Debian's
 * python3-h2, hyper-h2) that runs a plan of requests in parallel on one connection. The plan and
 * its result are JSON; see the script's docstring for the keys.
 */
public final class H2Client implements AutoCloseable {

    public static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** One stream's outcome; {@code reset} is the RST_STREAM error code (1 PROTOCOL_ERROR, 7 REFUSED_STREAM, 8 CANCEL). */
    public record Stream(int id, Integer status, Map<String, String> headers, long received, String receivedSha256,
                         long sent, String sentSha256, String text, boolean ended, Integer reset) {
        public String reason() {
            return headers == null ? null : headers.get("postern-reason");
        }
    }

    /** What the connection negotiated and what each request got, in the plan's order. */
    public record Result(String alpn, Map<String, Object> settings, List<Stream> streams, boolean connectionClosed) {
        public Stream stream(int i) {
            return streams.get(i);
        }
    }

    private final Process process;
    private final CompletableFuture<String> firstLine;
    private final Path stderr;

    private H2Client(Process process, CompletableFuture<String> firstLine, Path stderr) {
        this.process = process;
        this.firstLine = firstLine;
        this.stderr = stderr;
    }

    /** Runs a plan to its end (bounded by the plan's {@code timeout} plus a margin). */
    public static Result run(Map<String, Object> plan) throws IOException, InterruptedException {
        try (H2Client c = start(plan)) {
            return c.result(Duration.ofSeconds(((Number) plan.getOrDefault("timeout", 20)).longValue() + 15));
        }
    }

    /** Starts a plan; with {@code noRead} the client holds its connection until {@link #close}. */
    public static H2Client start(Map<String, Object> plan) throws IOException {
        if (!Files.isExecutable(PYTHON)) {
            throw new AssertionError(PYTHON + " is missing: the HTTP/2 tests need Debian's python3 with python3-h2 "
                    + "(apt-get install python3-h2)");
        }
        Path script;
        try {
            script = Path.of(H2Client.class.getResource("/h2/h2client.py").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        Path stderr = Files.createTempFile("h2client", ".err");
        Process p = new ProcessBuilder(PYTHON.toString(), script.toString())
                .redirectError(stderr.toFile()).start();
        OutputStream in = p.getOutputStream();
        in.write((JSON.writeValueAsString(plan) + "\n").getBytes(StandardCharsets.UTF_8));
        in.flush();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }, r -> Thread.ofVirtual().start(r));
        return new H2Client(p, line, stderr);
    }

    /** The result line, waiting at most {@code wait}. */
    public Result result(Duration wait) throws IOException, InterruptedException {
        String line;
        try {
            line = firstLine.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("h2client gave no result within " + wait + "; stderr: " + Files.readString(stderr));
        } catch (ExecutionException e) {
            throw new AssertionError("h2client output unreadable: " + e.getCause(), e);
        }
        if (line == null) {
            String err = Files.readString(stderr);
            if (err.contains("No module named 'h2'")) {
                throw new AssertionError(PYTHON + " lacks the h2 module: install python3-h2 (apt-get install python3-h2)");
            }
            throw new AssertionError("h2client ended without a result; stderr: " + err);
        }
        return JSON.readValue(line, Result.class);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        process.getOutputStream().close(); // the script holding its connection ends on stdin EOF
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        Files.deleteIfExists(stderr);
    }
}
