package org.postern.cli.pki;

import java.nio.file.Path;

import picocli.CommandLine.Option;

/** Options every {@code postern pki} command shares: where the data directory is, and the optional pki.yaml. */
public final class PkiOptions {
    @Option(names = "--dir", paramLabel = "DATA", defaultValue = "${env:POSTERN_DATA}",
            description = "Data directory holding the CA, the registry and the audit log (default: $POSTERN_DATA).")
    Path dir;

    @Option(names = "--config", paramLabel = "pki.yaml",
            description = "PKI settings (lifetimes, URLs, token TTL, listen address); embedded defaults when absent.")
    Path config;

    @Option(names = "--passphrase-file", paramLabel = "FILE",
            description = "File whose first line is the CA passphrase (or the PKCS#11 PIN). Default: $POSTERN_CA_PASSPHRASE.")
    Path passphraseFile;

    @Option(names = "--pkcs11", paramLabel = "CONFIG",
            description = "SunPKCS11 configuration of the token holding the CA keys (init only; later commands read it from the CA).")
    Path pkcs11;
}
