package org.postern.agent.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.security.SecureRandom;

import org.postern.agent.collect.Collectors;
import org.postern.agent.enroll.Enroller;
import org.postern.agent.state.AgentHome;
import org.postern.config.posture.PosturePolicy;
import org.postern.protocol.posture.AgentInfo;
import org.postern.protocol.posture.CheckResult;
import org.postern.protocol.posture.PostureClaims;
import org.postern.protocol.posture.PostureEvaluator;
import org.postern.protocol.posture.PostureVerdict;
import org.postern.protocol.posture.ReasonDetail;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code postern-agent check}: collect this laptop's facts and judge them with the same evaluator
 * the gateway uses, so the user learns here, with remediations, what the gateway will decide.
 */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Check this laptop against the posture policy and say what to fix.",
                "Exit 0: compliant. 1: not compliant (each failed check says how to fix it). 2: error."})
final class CheckCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @ParentCommand
    AgentCommand parent;

    @Option(names = "--policy", paramLabel = "FILE",
            description = {"Posture policy (posture-policy.yaml). Default: policy.yaml in the agent directory if present,",
                    "else the policy the gateway publishes (GET /v1/posture/policy, with this laptop's certificate)."})
    Path policyFile;

    @Option(names = "--collector", paramLabel = "BACKEND", defaultValue = "native",
            description = "native (the OS's own tools), osquery, or auto (osquery when osqueryi is installed). Default: ${DEFAULT-VALUE}.")
    Collectors.Backend backend;

    @Option(names = "--json", description = "Print the verdict as JSON.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        AgentHome home = parent.home();
        PosturePolicy policy = policy(home);
        Clock clock = Clock.systemUTC();
        renewIfDue(home, clock);
        PostureClaims.Facts facts = Collectors.forThisMachine(backend, home.stateDir()).collect();
        String device = home.enrolled() ? home.enrollment().map(AgentHome.Enrollment::device).orElse("unenrolled") : "unenrolled";
        Instant certNotAfter = home.enrolled() ? home.certificate().getNotAfter().toInstant() : null;
        Instant now = clock.instant();
        PostureClaims claims = PostureClaims.of("local-check", device, now, new AgentInfo(AgentCommand.NAME, AgentCommand.VERSION), facts);
        PostureVerdict verdict = new PostureEvaluator().evaluate(claims, policy, certNotAfter, now);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(JSON.writeValueAsString(toJson(verdict)));
        } else {
            print(out, verdict);
        }
        return verdict.compliant() ? 0 : 1;
    }

    /** The agent renews its certificate by itself once two thirds of its lifetime have passed. */
    private void renewIfDue(AgentHome home, Clock clock) {
        if (!home.enrolled()) {
            return;
        }
        try {
            new Enroller(home, clock, new SecureRandom()).renewIfDue().ifPresent(c ->
                    spec.commandLine().getErr().println(AgentCommand.NAME + ": certificate renewed, valid until " + c.getNotAfter().toInstant()));
        } catch (java.io.IOException | InterruptedException | RuntimeException e) {
            // the current certificate still works; say so and try again next time
            spec.commandLine().getErr().println(AgentCommand.NAME + ": certificate renewal failed, will retry: " + e.getMessage());
        }
    }

    private PosturePolicy policy(AgentHome home) {
        Path file = policyFile != null ? policyFile : home.dir().resolve("policy.yaml");
        if (policyFile == null && !Files.exists(file)) {
            if (!home.enrolled()) {
                throw new AgentCommand.AgentExit(2, "no posture policy: expected --policy FILE, " + file
                        + ", or an enrolled laptop to ask its gateway (run postern-agent enroll first)");
            }
            try {
                org.postern.agent.enroll.PublishedPolicy.Fetched f = org.postern.agent.enroll.PublishedPolicy.fetch(home, System.getenv());
                spec.commandLine().getErr().println(AgentCommand.NAME + ": policy " + f.policy().version() + " from " + f.from());
                return f.policy();
            } catch (java.io.IOException e) {
                throw new AgentCommand.AgentExit(2, "no posture policy: expected --policy FILE, " + file
                        + ", or the gateway's, which could not be read: " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AgentCommand.AgentExit(2, "no posture policy: interrupted while asking the gateway");
            }
        }
        return PosturePolicy.load(file);
    }

    static void print(PrintWriter out, PostureVerdict v) {
        for (CheckResult c : v.checks()) {
            out.println(c.line());
            for (ReasonDetail r : c.reasons()) {
                out.println("    " + r.message() + " [" + r.code() + "]");
                out.println("    → " + r.remediation());
            }
        }
        out.println();
        if (v.compliant()) {
            out.println("Compliant with policy " + v.policyVersion() + ".");
        } else {
            out.println("NOT compliant with policy " + v.policyVersion() + ": " + v.reasons().size() + " problem"
                    + (v.reasons().size() == 1 ? "" : "s") + " to fix"
                    + (v.allowed() ? " (the gateway runs in report-only mode and would still let you in)." : "; the gateway will refuse access."));
        }
    }

    static Map<String, Object> toJson(PostureVerdict v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("compliant", v.compliant());
        m.put("mode", v.mode().spelling());
        m.put("policyVersion", v.policyVersion());
        m.put("leaseUntil", v.leaseUntil() == null ? null : v.leaseUntil().toString());
        m.put("reasons", v.reasons().stream().map(r -> Map.of("code", r.code(), "message", r.message(), "remediation", r.remediation())).toList());
        m.put("checks", v.checks().stream().map(c -> {
            Map<String, Object> cm = new LinkedHashMap<>();
            cm.put("check", c.check());
            cm.put("passed", c.passed());
            cm.put("found", c.found());
            cm.put("reasons", c.reasons().stream().map(ReasonDetail::code).toList());
            return cm;
        }).toList());
        return m;
    }
}
