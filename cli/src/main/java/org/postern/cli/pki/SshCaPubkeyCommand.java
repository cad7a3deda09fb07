package org.postern.cli.pki;

import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.Callable;

import org.postern.cli.Exit;
import org.postern.pki.ssh.SshUserCa;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern pki ssh-ca-pubkey}: the SSH user CA's public key, one OpenSSH line. */
@Command(name = "ssh-ca-pubkey", mixinStandardHelpOptions = true,
        description = {"Print the public key of the SSH user CA (DATA/ca/ssh-user-ca.pub) as one OpenSSH line,"
                + " e.g. for a TrustedUserCAKeys file or an @cert-authority line.",
                "The gateway creates the SSH user CA the first time it starts; --create makes it now (unlocking the CA:"
                        + " its passphrase also encrypts the SSH CA key).",
                "Exit codes: 0 printed, 2 usage, 3 no SSH user CA yet (or the CA cannot be unlocked)."})
public final class SshCaPubkeyCommand implements Callable<Integer> {
    @Mixin
    PkiOptions options;

    @Option(names = "--create", description = "Create the SSH user CA if there is none yet (needs the CA passphrase).")
    boolean create;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Path dir = PkiContext.dataDir(options);
        String line;
        try {
            line = SshUserCa.readPublicLine(dir);
        } catch (IOException missing) {
            if (!create) {
                throw new Exit(Exit.CA, missing.getMessage());
            }
            try (PkiContext ctx = PkiContext.open(options)) {
                ctx.ca(); // the passphrase must unlock the CA before it encrypts the SSH CA key
                line = SshUserCa.loadOrCreate(dir, ctx.protection(), new SecureRandom()).publicLine();
            }
        }
        spec.commandLine().getOut().println(line);
        return 0;
    }
}
