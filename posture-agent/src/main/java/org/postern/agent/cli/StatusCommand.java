package org.postern.agent.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.postern.agent.enroll.Enroller;
import org.postern.agent.session.SessionFile;
import org.postern.agent.state.AgentHome;
import org.postern.keys.Fingerprints;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code postern-agent status}: device id, certificate expiry, last decision. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "Show the device id, the certificate's expiry, the SSH certificate's validity, the session of postern-agent up (the gateway in use, connected since, failovers to another gateway), why the gateway refuses this laptop (revoked, suspended), recent tunnel closes with their reasons, the VPN (address, transport, routes, DNS, bytes) when vpn.enabled, the lease end and the last decision with its reasons.")
final class StatusCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParentCommand
    AgentCommand parent;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print the status as one JSON object (for scripts) instead of text.")
    boolean json;

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
        var ssh = new org.postern.agent.ssh.SshCertificates(home.sshDir(), Clock.systemUTC(), new java.security.SecureRandom())
                .current();
        JsonNode session = new SessionFile(home.dir()).running().orElse(null);
        JsonNode decision = readJson(home.decisionFile());
        JsonNode barred = readJson(home.barredFile());
        if (barred != null && !barred.path("certSerial").asText().equals(cert.getSerialNumber().toString(16))) {
            barred = null; // about a certificate this laptop no longer uses (enrolled again since)
        }
        if (json) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("device", e.device());
            m.put("gateway", e.gateway());
            m.put("key", e.key().describe());
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("serial", cert.getSerialNumber().toString(16));
            c.put("sha256", Fingerprints.sha256(cert));
            c.put("notAfter", cert.getNotAfter().toInstant().toString());
            c.put("renewalDue", Enroller.renewalDue(cert, now));
            m.put("certificate", c);
            m.put("sshCertificate", ssh.map(s -> {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("principals", s.principals());
                o.put("validBefore", s.validBefore().toString());
                o.put("file", home.sshDir().resolve("id_ecdsa-cert.pub").toString());
                return (Object) o;
            }).orElse(null));
            m.put("session", session);
            m.put("barred", barred);
            m.put("lastDecision", decision);
            m.put("recentCloses", session == null ? List.of() : session.path("recentCloses"));
            m.put("vpn", session == null || !session.hasNonNull("vpn") ? null : session.path("vpn"));
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(m));
            return 0;
        }
        out.println("device:       " + e.device());
        out.println("gateway:      " + e.gateway());
        out.println("key:          " + e.key().describe());
        out.println("certificate:  serial " + cert.getSerialNumber().toString(16) + ", SHA-256 " + Fingerprints.sha256(cert));
        out.println("valid until:  " + cert.getNotAfter().toInstant() + " (" + Duration.between(now, cert.getNotAfter().toInstant()).toDays() + " days left"
                + (Enroller.renewalDue(cert, now) ? "; renewal due" : "") + ")");
        if (ssh.isEmpty()) {
            out.println("ssh cert:     none (postern-agent up asks for one with each lease, when the gateway has a bastion)");
        } else {
            Instant end = ssh.get().validBefore();
            out.println("ssh cert:     " + String.join(",", ssh.get().principals()) + ", valid until " + end
                    + (end.isAfter(now) ? " (" + Duration.between(now, end).toSeconds() + " s left)" : " (expired)")
                    + ", " + home.sshDir().resolve("id_ecdsa-cert.pub"));
        }
        if (barred != null) {
            out.println("REFUSED:      " + barred.path("message").asText() + " (at " + barred.path("at").asText() + ")");
        }
        if (session == null) {
            out.println("session:      none (postern-agent up is not running)");
        } else {
            String since = session.path("connectedSince").asText(null);
            String address = session.path("address").asText(null);
            out.println("session:      " + session.path("state").asText() + " to " + session.path("gateway").asText()
                    + (address != null ? " (" + address + ")" : "")
                    + (since != null ? " since " + since : "") + " (postern-agent up, pid " + session.path("pid").asLong()
                    + (session.hasNonNull("transport") ? ", transport " + session.path("transport").asText() : "") + ")");
            failovers(out, session);
            for (JsonNode l : session.path("listeners")) {
                out.println("  " + l.path("what").asText() + " on " + l.path("address").asText());
            }
            vpn(out, session);
            JsonNode closes = session.path("recentCloses");
            if (closes.size() > 0) {
                out.println("recent tunnel closes:");
                for (JsonNode t : closes) {
                    out.println("  " + t.path("at").asText() + " " + t.path("destination").asText() + ": "
                            + t.path("reasonText").asText(t.path("reason").asText()) + " (" + t.path("bytesUp").asLong() + " B up, "
                            + t.path("bytesDown").asLong() + " B down, " + t.path("seconds").asLong() + " s)");
                }
            }
        }
        if (decision == null) {
            out.println("last decision: " + (Files.exists(home.decisionFile()) ? "unreadable" : "none yet"));
            return 0;
        }
        JsonNode d = decision;
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

    /** The file's JSON, or null when it is absent or unreadable. */
    private static JsonNode readJson(java.nio.file.Path file) {
        if (!Files.exists(file)) {
            return null;
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (java.io.IOException ex) {
            return null;
        }
    }

    /** With several gateways: which ones, and how often and when {@code up} moved to another. */
    private static void failovers(PrintWriter out, JsonNode session) {
        if (session.path("gateways").size() > 1) {
            out.println("  gateways:   " + join(session.path("gateways")));
        }
        JsonNode last = session.path("lastFailover");
        if (session.path("failovers").asInt(0) == 0 || !last.isObject()) {
            return;
        }
        out.println("  failovers:  " + session.path("failovers").asInt() + "; last at " + last.path("at").asText() + ": "
                + last.path("to").asText() + " took over from " + last.path("from").asText() + " in "
                + last.path("seconds").asDouble() + " s (" + last.path("reason").asText() + ")");
    }

    /** The VPN lines: only when {@code up} runs with vpn.enabled; figures as of the state file's updatedAt. */
    private static void vpn(PrintWriter out, JsonNode session) {
        if (!session.has("vpn")) {
            return;
        }
        JsonNode v = session.path("vpn");
        if (v.isNull() || v.isMissingNode()) {
            out.println("vpn:          down");
            return;
        }
        out.println("vpn:          up since " + v.path("since").asText() + " over " + v.path("transport").asText()
                + " as " + join(v.path("addresses")) + " (MTU " + v.path("mtu").asInt() + ")");
        out.println("  routes:     " + join(v.path("routes")));
        out.println("  dns:        " + join(v.path("dns")) + (v.path("search").size() > 0 ? " (search " + join(v.path("search")) + ")" : ""));
        out.println("  traffic:    " + v.path("bytesUp").asLong() + " B / " + v.path("packetsUp").asLong() + " packets up, "
                + v.path("bytesDown").asLong() + " B / " + v.path("packetsDown").asLong() + " packets down, "
                + v.path("dropped").asLong() + " dropped (as of " + session.path("updatedAt").asText() + ")");
    }

    private static String join(JsonNode array) {
        List<String> items = new java.util.ArrayList<>();
        array.forEach(n -> items.add(n.asText()));
        return items.isEmpty() ? "none" : String.join(", ", items);
    }
}
