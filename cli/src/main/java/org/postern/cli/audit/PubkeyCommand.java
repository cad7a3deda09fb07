package org.postern.cli.audit;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import org.postern.audit.trail.AuditKeys;
import org.postern.cli.Exit;
import org.postern.audit.text.TerminalText;
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
    public Integer call() {
        AuditKeys keys;
        try {
            keys = AuditKeys.load(keyFile);
        } catch (NoSuchFileException e) {
            throw new Exit(Exit.USAGE, "expected KEYFILE to be the audit signing key (DATA/audit.key, PKCS#8 PEM), found nothing at " + keyFile);
        } catch (IOException | IllegalArgumentException e) {
            throw new Exit(Exit.USAGE, keyFile + ": expected the audit signing key (PKCS#8 PEM), found something else: " + TerminalText.escape(e.getMessage()));
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(keys.publicKeyPem());
        out.flush(); // print() is not flushed by an auto-flushing PrintWriter, and System.exit does not flush
        return 0;
    }
}
