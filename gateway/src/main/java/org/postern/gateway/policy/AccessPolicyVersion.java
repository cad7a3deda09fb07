package org.postern.gateway.policy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;
import org.postern.config.gateway.Protocol;

/**
 * The version of an access policy as the audit trail names it ({@code accessPolicy} on
 * {@code session.start}, {@code flow.open} and {@code admin.reload}): {@code DIGEST-gN}, e.g.
 * {@code 3f9a0c12be47-g2}.
 *
 * <ul>
 *   <li>{@code DIGEST}, the first 12 hex digits of the SHA-256 of the rules' canonical text
 *       ({@link #canonical}): the same rules give the same digest on every gateway and after every
 *       restart, whatever the YAML's layout, comments or key order; any change that can change a
 *       decision changes it;</li>
 *   <li>{@code N}, the generation of the access policy in this gateway process: 1 at start, one more
 *       at each reload that changed the digest (a reload that leaves the rules as they were keeps the
 *       version). Rules changed and then changed back get their old digest with a new generation, so
 *       the trail still shows that two changes happened.</li>
 * </ul>
 */
public final class AccessPolicyVersion {

    /** Hex digits of the SHA-256 kept: 48 bits, enough to tell a gateway's policies apart, short to read. */
    static final int DIGEST_HEX = 12;

    private AccessPolicyVersion() {
    }

    /** {@code DIGEST-gN} of {@code rules} at {@code generation} (1 or more). */
    public static String of(AccessRules rules, long generation) {
        if (generation < 1) {
            throw new IllegalArgumentException("access policy generation: expected 1 or more, found " + generation);
        }
        return digest(rules) + "-g" + generation;
    }

    /** The first {@value #DIGEST_HEX} hex digits of the SHA-256 of {@link #canonical}{@code (rules)}. */
    public static String digest(AccessRules rules) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(canonical(rules).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d).substring(0, DIGEST_HEX);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JDK", e);
        }
    }

    /**
     * The canonical text of {@code rules}: one line per rule, in the file's order (the order names
     * the rule a decision reports), each {@code name|groups|protocols|destinations} with the groups,
     * protocols and destinations sorted and without repeats (their order decides nothing), and every
     * destination in its normal spelling ({@link Destination#toString()}: {@code 10.20.0.0/16:22},
     * {@code [2001:db8::/32]:443}, {@code db1.admin.internal:5432}). Each item is written
     * {@code LENGTH:TEXT}, so a group named {@code a,b} is not the groups {@code a} and {@code b}.
     */
    static String canonical(AccessRules rules) {
        Objects.requireNonNull(rules, "rules");
        StringBuilder b = new StringBuilder("postern-access-rules/1\n");
        // Hours are written only where set, so rules without hours keep the digest they had before hours existed.
        boolean anyHours = rules.rules().stream().anyMatch(r -> r.hours() != null);
        if (anyHours || rules.endSessionsAtWindowEnd()) {
            b.append("hours|").append(item(rules.timeZone().getId())).append('|')
                    .append(rules.endSessionsAtWindowEnd() ? "end-at-window-end" : "admission-only").append('\n');
        }
        for (AccessRules.Rule r : rules.rules()) {
            b.append(item(r.name())).append('|')
                    .append(items(r.groups().stream().toList())).append('|')
                    .append(items(r.protocols().stream().map(Protocol::spelling).toList())).append('|')
                    .append(items(r.to().stream().map(Destination::toString).toList()));
            if (r.hours() != null) {
                b.append('|').append(items(r.hours().windows().stream().map(Object::toString).toList()))
                        .append('|').append(items(r.hours().except().stream().map(Object::toString).toList()));
            }
            b.append('\n');
        }
        return b.toString();
    }

    private static String items(java.util.List<String> values) {
        return new TreeSet<>(values).stream().map(AccessPolicyVersion::item).collect(Collectors.joining(","));
    }

    private static String item(String value) {
        return value.length() + ":" + value;
    }
}
