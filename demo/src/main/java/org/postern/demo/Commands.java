package org.postern.demo;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.stream.Stream;

import org.postern.agent.cli.AgentCommand;
import org.postern.cli.PosternCommand;
import picocli.CommandLine;

/** The commands a user would type, run by the demo: {@code postern} and {@code postern-agent} in this process, ssh as a process. */
final class Commands {
    private Commands() {
    }

    record Run(int code, String out) {
    }

    /** {@code postern-agent} on this JVM and class path, as a script for ssh's ProxyCommand. */
    static Path agentWrapper(Path dir) throws IOException {
        String jvm = ProcessHandle.current().info().command().orElse("java");
        // absolute entries: ssh runs the ProxyCommand in another directory
        String classPath = Stream.of(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .map(e -> Path.of(e).toAbsolutePath().toString()).collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
        Path wrapper = Files.writeString(dir.resolve("postern-agent"), "#!/bin/sh\nexec '" + jvm + "' -cp '" + classPath
                + "' -Dlogback.configurationFile=postern-agent-logback.xml org.postern.agent.cli.AgentCommand \"$@\"\n");
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
        return wrapper;
    }

    static String agent(String... args) {
        StringWriter o = new StringWriter();
        CommandLine cl = AgentCommand.commandLine();
        cl.setOut(new PrintWriter(o, true));
        cl.setErr(new PrintWriter(o, true));
        int code = cl.execute(args);
        if (code != 0) {
            throw new DemoFailed("postern-agent " + String.join(" ", args) + " exited " + code + ": " + o);
        }
        return o.toString();
    }

    static String postern(String... args) {
        StringWriter o = new StringWriter();
        CommandLine cl = PosternCommand.commandLine();
        cl.setOut(new PrintWriter(o, true));
        cl.setErr(new PrintWriter(o, true));
        int code = cl.execute(args);
        if (code != 0) {
            throw new DemoFailed("postern " + String.join(" ", args) + " exited " + code + ": " + o);
        }
        return o.toString();
    }

    static Run run(Path dir, Duration within, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        java.util.concurrent.CompletableFuture<String> output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
        if (!p.waitFor(within.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new DemoFailed(command[0] + " did not finish within " + within.toSeconds() + " s");
        }
        return new Run(p.exitValue(), output.join());
    }
}
