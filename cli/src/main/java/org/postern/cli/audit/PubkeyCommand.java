package org.postern.cli.audit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.postern.audit.trail.AuditKeys;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern audit pubkey}: the public half of the audit signing key, for auditors. */
@Command(name = "pubkey", mixinStandardHelpOptions = true,
        description = "Print the audit public key (PEM) of an audit signing key file, for auditors to verify checkpoints with.")
final class PubkeyCommand implements Callable<Integer> {
    @Parameters(paramLabel = "KEYFILE", description = "The gateway's audit signing key (audit.key, PKCS#8 PEM, 0600).")
    Path keyFile;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        spec.commandLine().getOut().print(AuditKeys.load(keyFile).publicKeyPem());
        return 0;
    }
}
