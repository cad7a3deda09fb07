package org.postern.protocol.posture;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The JSON of {@link PostureClaims} inside evidence. Times are NumericDate (whole seconds since
 * the epoch), as {@code iat} is in every JWT. Absent and null members are the same: not known.
 * Reading is strict: a member this profile does not define, or a value of the wrong JSON type,
 * makes the whole claims set malformed — the profile fixes the shape, and nothing beyond these
 * facts is accepted about a user's machine.
 */
final class ClaimsJson {

    private static final ObjectMapper JSON = new ObjectMapper()
            // {"eat_nonce":"a","eat_nonce":"b"} is ambiguous between parsers: refuse it.
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private static final Set<String> TOP = Set.of("eat_nonce", "ueid", "iat", "eat_profile", "agent", "os", "disk",
            "patch", "collector", "errors");
    private static final Set<String> AGENT = Set.of("name", "version");
    private static final Set<String> OS = Set.of("family", "name", "version", "build", "kernel");
    private static final Set<String> DISK = Set.of("volume", "encrypted", "method", "protectionOn", "conversion",
            "conversionPercent");
    private static final Set<String> PATCH = Set.of("lastUpdate", "securityPending", "oldestPendingSince",
            "rebootRequired");
    private static final Set<String> ERROR = Set.of("check", "why");

    private ClaimsJson() {
    }

    static String write(PostureClaims c) {
        ObjectNode o = JSON.createObjectNode();
        put(o, "eat_nonce", c.eatNonce());
        o.put("ueid", c.ueid());
        o.put("iat", c.iat().getEpochSecond());
        o.put("eat_profile", c.eatProfile());
        if (c.agent() != null) {
            ObjectNode a = o.putObject("agent");
            put(a, "name", c.agent().name());
            put(a, "version", c.agent().version());
        }
        if (c.os() != null) {
            ObjectNode s = o.putObject("os");
            put(s, "family", c.os().family());
            put(s, "name", c.os().name());
            put(s, "version", c.os().version());
            put(s, "build", c.os().build());
            put(s, "kernel", c.os().kernel());
        }
        if (c.disk() != null) {
            DiskFacts d = c.disk();
            ObjectNode s = o.putObject("disk");
            put(s, "volume", d.volume());
            if (d.encrypted() != null) {
                s.put("encrypted", d.encrypted());
            }
            put(s, "method", d.method());
            if (d.protectionOn() != null) {
                s.put("protectionOn", d.protectionOn());
            }
            put(s, "conversion", d.conversion());
            if (d.conversionPercent() != null) {
                s.put("conversionPercent", d.conversionPercent());
            }
        }
        if (c.patch() != null) {
            PatchFacts p = c.patch();
            ObjectNode s = o.putObject("patch");
            if (p.lastUpdate() != null) {
                s.put("lastUpdate", p.lastUpdate().getEpochSecond());
            }
            if (p.securityPending() != null) {
                s.put("securityPending", p.securityPending());
            }
            if (p.oldestPendingSince() != null) {
                s.put("oldestPendingSince", p.oldestPendingSince().getEpochSecond());
            }
            if (p.rebootRequired() != null) {
                s.put("rebootRequired", p.rebootRequired());
            }
        }
        put(o, "collector", c.collector());
        if (!c.errors().isEmpty()) {
            ArrayNode errors = o.putArray("errors");
            for (CheckError e : c.errors()) {
                errors.addObject().put("check", e.check()).put("why", e.why());
            }
        }
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("writing a JSON tree cannot fail", e);
        }
    }

    private static void put(ObjectNode o, String key, String value) {
        if (value != null) {
            o.put(key, value);
        }
    }

    /** @throws EvidenceException {@code evidence.malformed}, naming the member at fault */
    static PostureClaims read(String json) throws EvidenceException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw malformed("claims: expected a JSON object, found invalid JSON ("
                    + e.getOriginalMessage().lines().findFirst().orElse("") + ")");
        }
        Obj top = new Obj("claims", root, TOP);
        String ueid = top.string("ueid");
        Long iat = top.seconds("iat");
        String profile = top.string("eat_profile");
        if (ueid == null || iat == null || profile == null) {
            throw malformed("claims: expected ueid, iat and eat_profile, found "
                    + (ueid == null ? "no ueid" : iat == null ? "no iat" : "no eat_profile"));
        }
        AgentInfo agent = null;
        Obj a = top.object("agent", AGENT);
        if (a != null) {
            agent = new AgentInfo(a.string("name"), a.string("version"));
        }
        OsFacts os = null;
        Obj s = top.object("os", OS);
        if (s != null) {
            os = new OsFacts(s.string("family"), s.string("name"), s.string("version"), s.string("build"),
                    s.string("kernel"));
        }
        DiskFacts disk = null;
        Obj d = top.object("disk", DISK);
        if (d != null) {
            disk = new DiskFacts(d.string("volume"), d.bool("encrypted"), d.string("method"), d.bool("protectionOn"),
                    d.string("conversion"), d.integer("conversionPercent"));
        }
        PatchFacts patch = null;
        Obj p = top.object("patch", PATCH);
        if (p != null) {
            patch = new PatchFacts(instant(p.seconds("lastUpdate")), p.integer("securityPending"),
                    instant(p.seconds("oldestPendingSince")), p.bool("rebootRequired"));
        }
        List<CheckError> errors = new ArrayList<>();
        JsonNode list = top.member("errors");
        if (list != null) {
            if (!list.isArray()) {
                throw malformed("claims.errors: expected an array, found " + list.getNodeType());
            }
            for (int i = 0; i < list.size(); i++) {
                Obj e = new Obj("claims.errors[" + i + "]", list.get(i), ERROR);
                String check = e.string("check");
                String why = e.string("why");
                if (check == null || why == null) {
                    throw malformed("claims.errors[" + i + "]: expected check and why");
                }
                errors.add(new CheckError(check, why));
            }
        }
        return new PostureClaims(top.string("eat_nonce"), ueid, Instant.ofEpochSecond(iat), profile, agent, os, disk,
                patch, top.string("collector"), errors);
    }

    private static Instant instant(Long seconds) {
        return seconds == null ? null : Instant.ofEpochSecond(seconds);
    }

    private static EvidenceException malformed(String message) {
        return new EvidenceException(Reason.EVIDENCE_MALFORMED, message);
    }

    /** A JSON object of known members; every accessor checks the member's JSON type. */
    private static final class Obj {
        final String path;
        final JsonNode node;

        Obj(String path, JsonNode node, Set<String> members) throws EvidenceException {
            if (node == null || !node.isObject()) {
                throw malformed(path + ": expected a JSON object, found " + (node == null ? "nothing" : node.getNodeType()));
            }
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                if (!members.contains(name)) {
                    throw malformed(path + "." + name + ": not a member of profile " + PostureClaims.PROFILE);
                }
            }
            this.path = path;
            this.node = node;
        }

        JsonNode member(String name) {
            JsonNode v = node.get(name);
            return v == null || v.isNull() ? null : v;
        }

        String string(String name) throws EvidenceException {
            JsonNode v = member(name);
            if (v == null) {
                return null;
            }
            if (!v.isTextual()) {
                throw wrongType(name, "a string", v);
            }
            return v.textValue();
        }

        Boolean bool(String name) throws EvidenceException {
            JsonNode v = member(name);
            if (v == null) {
                return null;
            }
            if (!v.isBoolean()) {
                throw wrongType(name, "true or false", v);
            }
            return v.booleanValue();
        }

        Integer integer(String name) throws EvidenceException {
            JsonNode v = member(name);
            if (v == null) {
                return null;
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw wrongType(name, "an integer", v);
            }
            return v.intValue();
        }

        /** A NumericDate: whole, non-negative seconds since the epoch. */
        Long seconds(String name) throws EvidenceException {
            JsonNode v = member(name);
            if (v == null) {
                return null;
            }
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0
                    || v.longValue() > Instant.MAX.getEpochSecond()) {
                throw wrongType(name, "a NumericDate (whole seconds since 1970)", v);
            }
            return v.longValue();
        }

        Obj object(String name, Set<String> members) throws EvidenceException {
            JsonNode v = member(name);
            return v == null ? null : new Obj(path + "." + name, v, members);
        }

        private EvidenceException wrongType(String name, String expected, JsonNode found) {
            String text = found.toString();
            return malformed(path + "." + name + ": expected " + expected + ", found "
                    + (text.length() > 40 ? text.substring(0, 40) + "…" : text));
        }
    }
}
