package org.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code postern pki serve} as an operator starts it, probed with curl and openssl. */
class PkiServeIT {

    @TempDir
    Path tmp;

    @Test
    void serve_withoutConfig_issuesItselfACertificateAndServesCrlAndCacerts() throws Exception {
        Path data = tmp.resolve("data");
        Path pass = tmp.resolve("pass");
        Files.writeString(pass, "serve test passphrase\n");
        assertThat(PosternCliIT.run("pki", "init", "--dir", data.toString(), "--passphrase-file", pass.toString()).code()).isZero();
        // pki init signed the first CRL; without it (deleted, or a directory made otherwise) serve signs one as it starts
        Path stored = data.resolve("ca/crl.der");
        Files.delete(stored);
        int port;
        port = org.postern.pki.testing.FreePorts.next();
        StringWriter out = new StringWriter();
        Thread server = Thread.ofPlatform().name("pki-serve-test").start(() -> {
            CommandLine cl = PosternCommand.commandLine();
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(out, true));
            cl.execute("pki", "serve", "--dir", data.toString(), "--passphrase-file", pass.toString(), "--listen", "127.0.0.1:" + port);
        });
        try {
            awaitListening(port, Duration.ofSeconds(30));
            // the banner is printed just after the listener is up: wait for it rather than race it
            org.awaitility.Awaitility.await("pki serve banner").atMost(Duration.ofSeconds(10))
                    .until(() -> out.toString().contains("root SHA-256"));
            assertThat(out.toString()).contains("CRL   https://127.0.0.1:" + port + "/pki/crl").contains("root SHA-256");
            assertThat(Files.exists(data.resolve("server/127.0.0.1.crt"))).isTrue();
            assertThat(stored).as("crl.der signed before the banner, before anyone asked for it").isNotEmptyFile();

            String chain = data.resolve("ca/chain.pem").toString();
            Path crl = tmp.resolve("crl.der");
            Process curl = new ProcessBuilder(List.of("curl", "-sS", "--fail", "--cacert", chain, "-o", crl.toString(),
                    "https://127.0.0.1:" + port + "/pki/crl")).redirectErrorStream(true).start();
            assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(curl.exitValue()).as(new String(curl.getInputStream().readAllBytes())).isZero();
            Process text = new ProcessBuilder(List.of("openssl", "crl", "-inform", "DER", "-in", crl.toString(), "-noout", "-issuer"))
                    .redirectErrorStream(true).start();
            assertThat(text.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(new String(text.getInputStream().readAllBytes())).contains("Postern Issuing CA");
        } finally {
            server.interrupt();
            server.join(10_000);
        }
        assertThat(server.isAlive()).isFalse();
    }

    private static void awaitListening(int port, Duration bound) throws InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (java.io.IOException e) {
                Thread.sleep(100);
            }
        }
        throw new AssertionError("pki serve did not listen on 127.0.0.1:" + port + " within " + bound);
    }
}
