package org.postern.agent.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.agent.enroll.Enroller;
import org.postern.agent.session.SessionFile;
import org.postern.agent.state.AgentHome;
import org.postern.keys.Fingerprints;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern-agent status}: device id, certificate expiry, last decision. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show the device id, the certificate's expiry, the SSH certificate's validity, the session of postern-agent up (gateway, connected since), the lease end and the last decision with its reasons.")
final class StatusCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

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
        var ssh = new org.postern.agent.ssh.SshCertificates(home.sshDir(), Clock.systemUTC(), new java.security.SecureRandom())
                .current();
        if (ssh.isEmpty()) {
            out.println("ssh cert:     none (postern-agent up asks for one with each lease, when the gateway has a bastion)");
        } else {
            Instant end = ssh.get().validBefore();
            out.println("ssh cert:     " + String.join(",", ssh.get().principals()) + ", valid until " + end
                    + (end.isAfter(now) ? " (" + Duration.between(now, end).toSeconds() + " s left)" : " (expired)")
                    + ", " + home.sshDir().resolve("id_ecdsa-cert.pub"));
        }
        var session = new SessionFile(home.dir()).running();
        if (session.isEmpty()) {
            out.println("session:      none (postern-agent up is not running)");
        } else {
            JsonNode n = session.get();
            String since = n.path("connectedSince").asText(null);
            out.println("session:      " + n.path("state").asText() + " to " + n.path("gateway").asText()
                    + (since != null ? " since " + since : "") + " (postern-agent up, pid " + n.path("pid").asLong() + ")");
            for (JsonNode l : n.path("listeners")) {
                out.println("  " + l.path("what").asText() + " on " + l.path("address").asText());
            }
        }
        if (!Files.exists(home.decisionFile())) {
            out.println("last decision: none yet");
            return 0;
        }
        JsonNode d;
        try {
            d = JSON.readTree(home.decisionFile().toFile());
        } catch (java.io.IOException ex) {
            out.println("last decision: unreadable (" + ex.getMessage() + ")");
            return 0;
        }
        boolean compliant = d.path("compliant").asBoolean(false);
        String lease = d.path("leaseUntil").asText(null);
        out.println("last decision: " + (compliant ? "compliant" : "NOT compliant") + ", mode " + d.path("mode").asText("?")
                + (d.hasNonNull("policyVersion") ? ", policy " + d.path("policyVersion").asText() : "")
                + (d.hasNonNull("at") ? ", at " + d.path("at").asText() : ""));
        if (lease != null) {
            Instant until = Instant.parse(lease);
            out.println("lease until:  " + until + (until.isAfter(now) ? " (" + Duration.between(now, until).toSeconds() + " s left)" : " (ended)"));
        }
        for (JsonNode r : d.path("reasons")) {
            out.println("  " + r.path("code").asText() + ": " + r.path("message").asText());
            if (!r.path("remediation").asText("").isBlank()) {
                out.println("    → " + r.path("remediation").asText());
            }
        }
        return 0;
    }
}
