package org.postern.protocol.posture;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What the agent proves, in the spirit of the IETF Entity Attestation Token: the gateway's nonce,
 * the device id ({@code ueid}), when ({@code iat}), the profile, the agent, and the facts — OS,
 * disk, patch level — with the collector used and the checks that could not run. Nothing else
 * about the user or the machine. JSON names: {@code eat_nonce}, {@code ueid}, {@code iat}
 * (seconds), {@code eat_profile}, {@code agent}, {@code os}, {@code disk}, {@code patch},
 * {@code collector}, {@code errors}.
 */
public record PostureClaims(
        String eatNonce,
        String ueid,
        Instant iat,
        String eatProfile,
        AgentInfo agent,
        OsFacts os,
        DiskFacts disk,
        PatchFacts patch,
        String collector,
        List<CheckError> errors) {

    /** The only profile this version speaks. */
    public static final String PROFILE = "urn:postern:posture:1";
    public static final String NATIVE = "native";
    public static final String OSQUERY = "osquery";

    public PostureClaims {
        Objects.requireNonNull(ueid, "ueid");
        Objects.requireNonNull(iat, "iat");
        Objects.requireNonNull(eatProfile, "eatProfile");
        errors = errors == null ? List.of() : List.copyOf(errors);
    }

    /** The facts as one collection, before a nonce and a time are bound to them. */
    public record Facts(OsFacts os, DiskFacts disk, PatchFacts patch, String collector, List<CheckError> errors) {
        public Facts {
            errors = errors == null ? List.of() : List.copyOf(errors);
        }
    }

    public static PostureClaims of(String nonce, String deviceId, Instant now, AgentInfo agent, Facts facts) {
        return new PostureClaims(nonce, deviceId, now, PROFILE, agent, facts.os(), facts.disk(), facts.patch(), facts.collector(), facts.errors());
    }
}
