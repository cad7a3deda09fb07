package org.postern.gateway.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;
import org.postern.config.ConfigReader;
import org.postern.config.gateway.AccessRules;
import org.postern.gateway.admin.AdminIdentity;
import org.postern.gateway.admin.AdminRole;
import org.postern.pki.registry.Device;
import org.postern.pki.registry.DeviceStatus;
import org.postern.pki.testing.MutableClock;

/** The console's pure parts: CSRF tokens, the cross-site check, chart geometry, the policy preview. */
class ConsolePartsTest {
    static final AdminIdentity SAM = new AdminIdentity("sam", AdminRole.SECURITY_ADMIN, "1a", "aa".repeat(32));
    static final AdminIdentity SUE = new AdminIdentity("sue", AdminRole.SECURITY_ADMIN, "1b", "bb".repeat(32));

    @Test
    void csrf_isPerAdmin_acceptsTodayAndYesterday_andNothingElse() {
        MutableClock clock = new MutableClock(Instant.parse("2026-12-07T23:59:00Z"));
        CsrfTokens tokens = new CsrfTokens(new SecureRandom(), clock);
        String t = tokens.token(SAM);
        assertThat(tokens.valid(SAM, t)).isTrue();
        assertThat(tokens.valid(SUE, t)).as("another admin's token").isFalse();
        assertThat(tokens.valid(SAM, "")).isFalse();
        assertThat(tokens.valid(SAM, null)).isFalse();
        assertThat(tokens.valid(SAM, t.substring(1) + "A")).isFalse();
        clock.advance(Duration.ofMinutes(2)); // past midnight: yesterday's token still works
        assertThat(tokens.valid(SAM, t)).isTrue();
        clock.advance(Duration.ofDays(1));
        assertThat(tokens.valid(SAM, t)).as("two days old").isFalse();
        assertThat(new CsrfTokens(new SecureRandom(), clock).valid(SAM, tokens.token(SAM))).as("another gateway start").isFalse();
    }

    @Test
    void crossSite_fetchMetadataFirst_thenOriginAgainstHost() {
        assertThat(ConsoleRoutes.crossSite(req(Map.of("Sec-Fetch-Site", "same-origin")))).isFalse();
        assertThat(ConsoleRoutes.crossSite(req(Map.of("Sec-Fetch-Site", "none")))).isFalse();
        assertThat(ConsoleRoutes.crossSite(req(Map.of("Sec-Fetch-Site", "cross-site")))).isTrue();
        assertThat(ConsoleRoutes.crossSite(req(Map.of("Sec-Fetch-Site", "same-site")))).isTrue();
        assertThat(ConsoleRoutes.crossSite(req(Map.of("Origin", "https://127.0.0.1:9443", "Host", "127.0.0.1:9443")))).isFalse();
        assertThat(ConsoleRoutes.crossSite(req(Map.of("Origin", "https://evil.example", "Host", "127.0.0.1:9443")))).isTrue();
        assertThat(ConsoleRoutes.crossSite(req(Map.of("Origin", "null", "Host", "127.0.0.1:9443")))).isTrue();
        assertThat(ConsoleRoutes.crossSite(req(Map.of()))).as("curl sends neither; the token decides").isFalse();
    }

    private static FullHttpRequest req(Map<String, String> headers) {
        FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/console/x", Unpooled.EMPTY_BUFFER);
        headers.forEach((k, v) -> r.headers().set(k, v));
        return r;
    }

    @Test
    void barChart_scalesToTheLargest_andKeepsOrder() {
        Map<String, Double> v = new LinkedHashMap<>();
        v.put("a", 10.0);
        v.put("b", 5.0);
        v.put("c", 0.0);
        ConsoleViews.BarChart c = ConsoleViews.BarChart.of("t", "u", v, d -> String.valueOf((long) d));
        assertThat(c.bars()).extracting(ConsoleViews.Bar::label).containsExactly("a", "b", "c");
        double room = ConsoleViews.BarChart.HEIGHT - ConsoleViews.BarChart.AXIS;
        assertThat(c.bars().get(0).height()).isEqualTo(room);
        assertThat(c.bars().get(1).height()).isEqualTo(room / 2);
        assertThat(c.bars().get(2).height()).isZero();
        assertThat(c.bars().get(1).x()).isGreaterThan(c.bars().get(0).x());
        assertThat(ConsoleViews.BarChart.of("t", "u", Map.of(), d -> "").bars()).isEmpty();
    }

    @Test
    void accessYaml_readsBackAsTheSameRules() {
        AccessRules rules = ConfigReader.parse("""
                access:
                  rules:
                    - name: admins-ssh
                      groups: [admins, "dba"]
                      to: ["10.20.0.0/16:22", "db1.admin.internal:5432", "[2001:db8::/32]:443", "10.30.0.5:8000-8100"]
                    - name: dns
                      groups: [admins]
                      protocols: [udp, icmp]
                      to: ["10.20.0.53:53"]
                """, "t", Path.of("."), c -> c.section("access", AccessRules::read));
        String yaml = ConsolePages.accessYaml(rules);
        AccessRules back = ConfigReader.parse(yaml, "t", Path.of("."), c -> c.section("access", AccessRules::read));
        assertThat(back).isEqualTo(rules);
        assertThat(org.postern.gateway.policy.AccessPolicyVersion.digest(back))
                .isEqualTo(org.postern.gateway.policy.AccessPolicyVersion.digest(rules));
        AccessRules none = AccessRules.denyAll();
        AccessRules noneBack = ConfigReader.parse(ConsolePages.accessYaml(none), "t", Path.of("."),
                c -> c.section("access", AccessRules::read));
        assertThat(noneBack).isEqualTo(none);
    }

    @Test
    void reach_listsWhatEachDeviceGainsAndLoses_andSkipsRevokedOnes() {
        AccessRules before = ConfigReader.parse("access:\n  rules:\n    - name: a\n      groups: [admins]\n      to: [\"10.0.0.1:22\"]\n",
                "t", Path.of("."), c -> c.section("access", AccessRules::read));
        AccessRules after = ConfigReader.parse("access:\n  rules:\n    - name: b\n      groups: [admins]\n      to: [\"10.0.0.2:22\"]\n",
                "t", Path.of("."), c -> c.section("access", AccessRules::read));
        Instant now = Instant.parse("2026-12-07T10:00:00Z");
        List<Device> devices = List.of(
                new Device("l1", "alice", List.of("admins"), DeviceStatus.ACTIVE, null, now, now, now, "compliant"),
                new Device("l2", "bob", List.of("staff"), DeviceStatus.ACTIVE, null, now, now, now, "compliant"),
                new Device("l3", "carol", List.of("admins"), DeviceStatus.REVOKED, null, now, now, now, null));
        List<ConsoleViews.ReachRow> rows = ConsolePages.reach(after, before, devices);
        assertThat(rows).extracting(ConsoleViews.ReachRow::device).containsExactly("l1", "l2");
        assertThat(rows.get(0).gained()).containsExactly("10.0.0.2:22 (tcp)");
        assertThat(rows.get(0).lost()).containsExactly("10.0.0.1:22 (tcp)");
        assertThat(rows.get(1).destinations()).isEmpty();
    }
}
