package org.postern.agent.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;

import org.postern.agent.enroll.Enroller;
import org.postern.agent.state.AgentHome;
import org.postern.pki.ca.Fingerprints;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern-agent status}: device id, certificate expiry, last decision. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show the device id, the certificate's expiry and the last decision.")
final class StatusCommand implements Callable<Integer> {
    @ParentCommand
    AgentCommand parent;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        AgentHome home = parent.home();
        if (!home.enrolled()) {
            throw new AgentCommand.AgentExit(2, "not enrolled (no certificate in " + home.dir() + "); run: postern-agent enroll --gateway URL --token T --ca-sha256 FP");
        }
        AgentHome.Enrollment e = home.enrollment().orElseThrow();
        X509Certificate cert = home.certificate();
        Instant now = Clock.systemUTC().instant();
        PrintWriter out = spec.commandLine().getOut();
        out.println("device:       " + e.device());
        out.println("gateway:      " + e.gateway());
        out.println("key:          " + e.key().describe());
        out.println("certificate:  serial " + cert.getSerialNumber().toString(16) + ", SHA-256 " + Fingerprints.sha256(cert));
        out.println("valid until:  " + cert.getNotAfter().toInstant() + " (" + Duration.between(now, cert.getNotAfter().toInstant()).toDays() + " days left"
                + (Enroller.renewalDue(cert, now) ? "; renewal due" : "") + ")");
        out.println("last decision: " + (Files.exists(home.decisionFile()) ? Files.readString(home.decisionFile()).strip() : "none yet"));
        return 0;
    }
}
