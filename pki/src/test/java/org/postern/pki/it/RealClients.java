package org.postern.pki.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.postern.pki.testing.Proc;
import org.postern.pki.testing.TestPki;

/** openssl and curl, the way an administrator would type them, against a {@link TestPki}'s server. */
final class RealClients {
    private final TestPki pki;
    final Path dir;

    RealClients(TestPki pki, Path dir) {
        this.pki = pki;
        this.dir = dir;
    }

    Proc.Result openssl(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        return Proc.run(dir, cmd.toArray(String[]::new));
    }

    /** A P-256 key ({@code openssl ecparam}) and a CSR for it as DER and base64 ({@code NAME.key/.der/.b64}). */
    Path keyAndCsr(String name, String cn) {
        return keyAndCsr(name, cn, "prime256v1");
    }

    Path keyAndCsr(String name, String cn, String curve) {
        openssl("ecparam", "-name", curve, "-genkey", "-noout", "-out", name + ".key").ok();
        return csr(name, name + ".key", cn);
    }

    Path rsaKeyAndCsr(String name, String cn, int bits) {
        openssl("genrsa", "-out", name + ".key", String.valueOf(bits)).ok();
        return csr(name, name + ".key", cn);
    }

    /** CSR with an existing key: {@code NAME.der} and {@code NAME.b64} (the EST body). */
    Path csr(String name, String keyFile, String cn) {
        openssl("req", "-new", "-key", keyFile, "-subj", "/CN=" + cn, "-outform", "DER", "-out", name + ".der").ok();
        openssl("base64", "-in", name + ".der", "-out", name + ".b64").ok();
        return dir.resolve(name + ".b64");
    }

    /** What curl saw: status, headers (lower-case names) and body. */
    record Response(int status, List<String> headers, byte[] body) {
        String header(String name) {
            String prefix = name.toLowerCase(Locale.ROOT) + ":";
            return headers.stream().filter(h -> h.toLowerCase(Locale.ROOT).startsWith(prefix))
                    .map(h -> h.substring(prefix.length()).strip()).reduce((a, b) -> b).orElse(null);
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** {@code curl --cacert chain.pem -D headers -o body ARGS URL}, trusting the test CA. */
    Response curl(String path, String... args) {
        Path headers = dir.resolve("curl.headers");
        Path body = dir.resolve("curl.body");
        try {
            Files.deleteIfExists(headers);
            Files.deleteIfExists(body);
            List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "--cacert", pki.chainFile().toString(),
                    "-D", headers.toString(), "-o", body.toString(), "-w", "%{http_code}"));
            cmd.addAll(List.of(args));
            cmd.add(pki.url(path));
            Proc.Result r = Proc.run(dir, cmd.toArray(String[]::new)).ok();
            List<String> lines = Files.exists(headers) ? Files.readAllLines(headers, StandardCharsets.ISO_8859_1) : List.of();
            byte[] bytes = Files.exists(body) ? Files.readAllBytes(body) : new byte[0];
            return new Response(Integer.parseInt(r.stdout().strip()), lines, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes an EST answer (base64 PKCS#7) and converts it: {@code openssl base64 -d | openssl pkcs7 -print_certs}. */
    Path certificatesFrom(Response r, String name) {
        assertThat(r.status()).as("EST answer: %s %s", r.headers(), r.text()).isEqualTo(200);
        try {
            Files.write(dir.resolve(name + ".p7.b64"), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // RFC 8951: base64 without line breaks, so openssl needs -A
        openssl("base64", "-d", "-A", "-in", name + ".p7.b64", "-out", name + ".p7").ok();
        openssl("pkcs7", "-inform", "DER", "-in", name + ".p7", "-print_certs", "-out", name + ".crt").ok();
        return dir.resolve(name + ".crt");
    }

    /** {@code openssl verify -CAfile root.crt -untrusted issuing.crt CERT}. */
    Proc.Result verify(Path cert) {
        return openssl("verify", "-CAfile", pki.rootFile().toString(), "-untrusted", pki.issuingFile().toString(), cert.toString());
    }

    String subject(Path cert) {
        return openssl("x509", "-in", cert.toString(), "-noout", "-subject", "-nameopt", "RFC2253").ok().stdout().strip();
    }

    String serialHex(Path cert) {
        return openssl("x509", "-in", cert.toString(), "-noout", "-serial").ok().stdout().strip().replace("serial=", "");
    }

    String pubkey(Path certOrKey, boolean isKey) {
        return isKey
                ? openssl("pkey", "-in", certOrKey.toString(), "-pubout").ok().stdout()
                : openssl("x509", "-in", certOrKey.toString(), "-noout", "-pubkey").ok().stdout();
    }
}
