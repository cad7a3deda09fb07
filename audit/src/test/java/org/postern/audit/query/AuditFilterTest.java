package org.postern.audit.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** Each criterion of {@link AuditFilter} on its own, and the checks of its values. */
class AuditFilterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static AuditRecord rec(String time, String type, String... fields) {
        ObjectNode o = JSON.createObjectNode().put("seq", 1).put("time", time).put("type", type).put("gateway", "gw-1");
        for (int i = 0; i < fields.length; i += 2) {
            o.put(fields[i], fields[i + 1]);
        }
        return new AuditRecord(o, "segment-000001.jsonl:1", Instant.parse(time));
    }

    static AuditFilter with(Instant since, Instant until, String device, String user, List<String> types, Outcome outcome, String dest,
                            String reason, boolean checkpoints) {
        return new AuditFilter(since, until, device, user, types, outcome, dest, reason, checkpoints);
    }

    private final AuditRecord denied = rec("2026-11-30T11:00:00Z", "access.denied", "device", "laptop-1", "user", "alice",
            "dest", "Secret.Internal:22", "destAddress", "10.0.0.9:22", "reason", "policy.no_rule");
    private final AuditRecord flow = rec("2026-11-30T10:05:00Z", "flow.open", "device", "laptop-2", "user", "bob",
            "dest", "db1.internal:5432", "destAddress", "[2001:db8::5]:5432");
    private final AuditRecord end = rec("2026-11-30T12:00:00Z", "session.end", "device", "laptop-1", "user", "alice", "reason", "non_compliant");
    private final AuditRecord checkpoint = rec("2026-11-30T11:30:00Z", "audit.checkpoint", "reason", "interval");

    @Test
    void all_keepsEverythingButCheckpoints() {
        assertThat(List.of(denied, flow, end, checkpoint)).filteredOn(AuditFilter.ALL).containsExactly(denied, flow, end);
        assertThat(with(null, null, null, null, List.of(), null, null, null, true).test(checkpoint)).isTrue();
    }

    @Test
    void since_isInclusive_until_isExclusive() {
        Instant t = denied.time();
        assertThat(with(t, null, null, null, List.of(), null, null, null, false).test(denied)).isTrue();
        assertThat(with(t.plusMillis(1), null, null, null, List.of(), null, null, null, false).test(denied)).isFalse();
        assertThat(with(null, t, null, null, List.of(), null, null, null, false).test(denied)).isFalse();
        assertThat(with(null, t.plusMillis(1), null, null, List.of(), null, null, null, false).test(denied)).isTrue();
    }

    @Test
    void device_and_user_matchExactly() {
        assertThat(List.of(denied, flow, end)).filteredOn(with(null, null, "laptop-1", null, List.of(), null, null, null, false))
                .containsExactly(denied, end);
        assertThat(List.of(denied, flow, end)).filteredOn(with(null, null, null, "bob", List.of(), null, null, null, false))
                .containsExactly(flow);
        assertThat(with(null, null, "laptop", null, List.of(), null, null, null, false).test(denied)).isFalse();
    }

    @Test
    void typePrefixes_anyOfThem() {
        assertThat(List.of(denied, flow, end)).filteredOn(with(null, null, null, null, List.of("flow.", "session"), null, null, null, false))
                .containsExactly(flow, end);
    }

    @Test
    void outcome_followsTheDocumentedRule() {
        assertThat(List.of(denied, flow, end)).filteredOn(with(null, null, null, null, List.of(), Outcome.DENIED, null, null, false))
                .containsExactly(denied, end);
        assertThat(List.of(denied, flow, end)).filteredOn(with(null, null, null, null, List.of(), Outcome.ALLOWED, null, null, false))
                .containsExactly(flow);
    }

    @Test
    void dest_matchesHostWithOrWithoutPort_ofDestOrDestAddress_ignoringCase() {
        assertThat(with(null, null, null, null, List.of(), null, "secret.internal", null, false).test(denied)).isTrue();
        assertThat(with(null, null, null, null, List.of(), null, "secret.internal:22", null, false).test(denied)).isTrue();
        assertThat(with(null, null, null, null, List.of(), null, "10.0.0.9", null, false).test(denied)).isTrue();
        assertThat(with(null, null, null, null, List.of(), null, "2001:db8::5", null, false).test(flow)).isTrue();
        assertThat(with(null, null, null, null, List.of(), null, "secret", null, false).test(denied)).isFalse();
    }

    @Test
    void reason_matchesTheReasonFieldExactly() {
        AuditFilter noRule = with(null, null, null, null, List.of(), null, null, "policy.no_rule", false);
        assertThat(List.of(denied, flow, end)).filteredOn(noRule).containsExactly(denied);
        assertThat(List.of(denied, flow, end)).filteredOn(with(null, null, null, null, List.of(), null, null, "non_compliant", false))
                .containsExactly(end);
        assertThat(with(null, null, null, null, List.of(), null, null, "policy", false).test(denied)).isFalse();
        assertThat(with(null, null, null, null, List.of(), null, null, "POLICY.NO_RULE", false).test(denied)).isFalse();
        // a posture decision's codes are in reasons, not reason
        AuditRecord posture = new AuditRecord(JSON.createObjectNode().put("time", "2026-11-30T10:00:00Z").put("type", "posture.decision")
                .put("result", "non_compliant").set("reasons", JSON.createArrayNode().add("os.too_old")), "x:1", Instant.parse("2026-11-30T10:00:00Z"));
        assertThat(with(null, null, null, null, List.of(), null, null, "os.too_old", false).test(posture)).isFalse();
    }

    @Test
    void everyCriterionMustHold() {
        AuditFilter f = with(Instant.parse("2026-11-30T00:00:00Z"), Instant.parse("2026-12-01T00:00:00Z"), "laptop-1", "alice",
                List.of("access"), Outcome.DENIED, "secret.internal", "policy.no_rule", false);
        assertThat(List.of(denied, flow, end, checkpoint)).filteredOn(f).containsExactly(denied);
    }

    @Test
    void constructor_refusesAnEmptyPeriod_andNullPrefixes_andCopiesTheList() {
        Instant t = Instant.parse("2026-11-30T00:00:00Z");
        assertThatThrownBy(() -> with(t, t, null, null, List.of(), null, null, null, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("since 2026-11-30T00:00:00Z is not before until 2026-11-30T00:00:00Z: expected a non-empty period");
        assertThatThrownBy(() -> with(null, null, null, null, Arrays.asList("pki.", null), null, null, null, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("found null in [pki., null]");
        java.util.ArrayList<String> types = new java.util.ArrayList<>(List.of("flow"));
        AuditFilter f = with(null, null, null, null, types, null, null, null, false);
        types.add("access");
        assertThat(f.typePrefixes()).containsExactly("flow");
        assertThat(with(null, null, null, null, null, null, null, null, false).typePrefixes()).isEmpty();
    }

    @Test
    void outcomeAndTimes_parseForTheConsoleAsForTheCli() {
        assertThat(Outcome.parse("outcome", "DENIED")).isEqualTo(Outcome.DENIED);
        assertThatThrownBy(() -> Outcome.parse("outcome", "maybe")).hasMessage("outcome: expected allowed or denied, found \"maybe\"");
        Clock clock = Clock.fixed(Instant.parse("2026-12-01T04:30:00Z"), ZoneOffset.UTC);
        assertThat(Times.since("since", "-24h", clock)).isEqualTo(Instant.parse("2026-11-30T04:30:00Z"));
        assertThat(Times.until("until", "2026-11-30", clock)).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
        assertThat(Times.since("since", null, clock)).isNull();
        assertThatThrownBy(() -> Times.since("since", "yesterday", clock)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("since: expected " + Times.EXPECTED + ", found \"yesterday\"");
    }
}
