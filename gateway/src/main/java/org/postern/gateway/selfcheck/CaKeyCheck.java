package org.postern.gateway.selfcheck;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Properties;

import org.postern.pki.ca.CaStore;

/**
 * How the CA keys are kept ({@code DATA/ca/ca.properties} {@code keys: file|pkcs11}, and each key
 * file's PEM type). A key in a PKCS#11 token is an info. Encrypted PKCS#8 files are a warning: the
 * passphrase's strength cannot be known from here, and whoever copies the file may guess it offline;
 * an HSM cannot be copied. A plain key file is critical: anyone who reads it is the CA.
 */
public final class CaKeyCheck implements Check {
    static final String NAME = "ca-keys";
    /** The CA key files {@code postern pki init} writes; the SSH user CA is a CA too. */
    static final List<String> KEY_FILES = List.of("root.key", "issuing.key", "ssh-user-ca.key");

    private final Path dataDir;

    public CaKeyCheck(Path dataDir) {
        this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Finding> run() throws IOException {
        CaStore store = new CaStore(dataDir);
        if (!store.exists()) {
            return List.of(new Finding(NAME, Severity.CRITICAL, "no CA in " + dataDir + " (expected "
                    + store.dir().resolve("ca.properties") + ")", "create one with: postern pki init --dir " + dataDir));
        }
        Properties props = new Properties();
        try (var in = Files.newBufferedReader(store.dir().resolve("ca.properties"), StandardCharsets.UTF_8)) {
            props.load(in);
        }
        boolean pkcs11 = "pkcs11".equals(props.getProperty("keys"));
        List<Finding> out = new ArrayList<>();
        List<String> encrypted = new ArrayList<>();
        for (String name : KEY_FILES) {
            Path f = store.dir().resolve(name);
            if (!Files.isRegularFile(f)) {
                if (name.equals("issuing.key") && !pkcs11) {
                    out.add(new Finding(NAME, Severity.CRITICAL, "the CA keeps its keys in files but " + f + " is missing",
                            "restore " + f + " from the CA's backup"));
                }
                continue;
            }
            switch (pemType(f)) {
                case "ENCRYPTED PRIVATE KEY" -> encrypted.add(name);
                case "PRIVATE KEY", "EC PRIVATE KEY" -> out.add(new Finding(NAME, Severity.CRITICAL, f
                        + " is an unencrypted private key: whoever reads the file can issue certificates",
                        "keep CA keys encrypted (postern pki init writes them under $POSTERN_CA_PASSPHRASE) or in a"
                                + " PKCS#11 token (postern pki init --pkcs11 CONFIG)"));
                default -> out.add(new Finding(NAME, Severity.WARNING, f + ": expected a PEM private key, found "
                        + (pemType(f).isEmpty() ? "no PEM block" : "a " + pemType(f) + " block"),
                        "restore " + f + " from the CA's backup"));
            }
        }
        if (!encrypted.isEmpty()) {
            boolean root = encrypted.contains("root.key");
            out.add(new Finding(NAME, Severity.WARNING, "CA keys encrypted with a passphrase in " + store.dir() + " ("
                    + String.join(", ", encrypted) + "): the passphrase's strength cannot be checked, and a copied file"
                    + " can be attacked offline", "prefer a PKCS#11 token or HSM (postern pki init --pkcs11 CONFIG);"
                    + " else use a long random passphrase" + (root ? " and keep root.key off the gateway host (it is"
                    + " needed only to renew the issuing CA)" : "")));
        }
        if (pkcs11) {
            out.add(Finding.info(NAME, "the CA keys are held in a PKCS#11 token (" + props.getProperty("pkcs11.config", "?")
                    + ")"));
        }
        return out.isEmpty() ? List.of(Finding.info(NAME, "no CA key file in " + store.dir())) : out;
    }

    /** The type of the file's first PEM block ({@code ENCRYPTED PRIVATE KEY}, ...), or "" when it has none. */
    static String pemType(Path f) throws IOException {
        try (var lines = Files.lines(f, StandardCharsets.US_ASCII)) {
            return lines.map(String::strip).filter(l -> l.startsWith("-----BEGIN ") && l.endsWith("-----")).findFirst()
                    .map(l -> l.substring("-----BEGIN ".length(), l.length() - 5)).orElse("");
        } catch (java.io.UncheckedIOException e) {
            return "";
        }
    }
}
