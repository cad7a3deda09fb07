package org.postern.pki.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.Secret;
import org.postern.keys.KeyFiles;

class CaStoreTest {
    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    private static final KeyProtection.Passphrase PASS = new KeyProtection.Passphrase(Secret.of("s3cret-passphrase"));

    @TempDir
    Path data;

    private CertificateAuthority init(CaStore store) throws Exception {
        return store.init("T", PASS, NOW, new SecureRandom(), Duration.ofDays(30));
    }

    @Test
    void init_keysAre0600_andDirectoryIs0700() throws Exception {
        CaStore store = new CaStore(data);
        init(store);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(store.dir()))).isEqualTo("rwx------");
        for (String key : new String[] {"root.key", "issuing.key", "ocsp.key"}) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(store.dir().resolve(key)))).as(key).isEqualTo("rw-------");
        }
        assertThat(Files.readString(store.dir().resolve("issuing.key"))).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----");
        assertThat(Files.readString(store.dir().resolve("root.key"))).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----");
    }

    @Test
    void init_existingCa_isRefusedAndLeftUntouched() throws Exception {
        CaStore store = new CaStore(data);
        init(store);
        byte[] before = Files.readAllBytes(store.dir().resolve("issuing.key"));

        assertThatThrownBy(() -> init(store))
                .hasMessageContaining("a CA already exists in " + store.dir())
                .hasMessageContaining("refusing to overwrite");
        assertThat(Files.readAllBytes(store.dir().resolve("issuing.key"))).isEqualTo(before);
    }

    @Test
    void load_wrongPassphrase_isWrongPassphraseExceptionNamingTheFile() throws Exception {
        CaStore store = new CaStore(data);
        init(store);
        assertThatThrownBy(() -> store.load(new KeyProtection.Passphrase(Secret.of("not-the-passphrase")), NOW, new SecureRandom(), Duration.ofDays(30)))
                .isInstanceOf(KeyFiles.WrongPassphraseException.class)
                .hasMessage("the CA passphrase is wrong: it does not decrypt " + store.dir().resolve("issuing.key"));
    }

    @Test
    void load_rightPassphrase_unlocksTheSameCa() throws Exception {
        CaStore store = new CaStore(data);
        CertificateAuthority created = init(store);
        CertificateAuthority loaded = store.load(PASS, NOW.plusSeconds(60), new SecureRandom(), Duration.ofDays(30));
        assertThat(loaded.root()).isEqualTo(created.root());
        assertThat(loaded.issuing().certificate()).isEqualTo(created.issuing().certificate());
        assertThat(loaded.ocsp().certificate()).as("OCSP responder kept while fresh").isEqualTo(created.ocsp().certificate());
    }

    @Test
    void load_noCa_saysHowToCreateOne() {
        assertThatThrownBy(() -> new CaStore(data).load(PASS, NOW, new SecureRandom(), Duration.ofDays(30)))
                .hasMessageContaining("no CA in " + data)
                .hasMessageContaining("postern pki init --dir " + data);
    }
}
