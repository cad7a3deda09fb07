package org.postern.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.AccessRules.Rule;
import org.postern.config.gateway.Destination;

class DestinationResolverTest {

    private static final InetAddress OWN = ip("10.20.0.1");
    private static final Map<String, List<InetAddress>> DNS = Map.of(
            "db1.admin.internal", List.of(ip("10.20.5.5"), ip("10.20.5.6")),
            "evil.example", List.of(ip("127.0.0.1")),
            "mixed.example", List.of(ip("10.20.5.7"), ip("169.254.169.254")),
            "mapped.example", List.of(ip("::ffff:127.0.0.1")),
            "gw.admin.internal", List.of(OWN));

    private final List<String> lookedUp = new ArrayList<>();
    private final ForbiddenAddresses forbidden = new ForbiddenAddresses(Set.of(OWN));
    private final DestinationResolver resolver = new DestinationResolver(forbidden, host -> {
        lookedUp.add(host);
        List<InetAddress> a = DNS.get(host);
        if (a == null) {
            throw new UnknownHostException(host);
        }
        return a;
    });

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    private static void assertRefused(DestinationResolver.Resolution r, String reason, String... detailParts) {
        assertThat(r).isInstanceOf(DestinationResolver.Refused.class);
        AccessDecision.Denied d = ((DestinationResolver.Refused) r).denial();
        assertThat(d.reason()).as(d.detail()).isEqualTo(reason);
        for (String part : detailParts) {
            assertThat(d.detail()).contains(part);
        }
    }

    @Test
    void resolve_name_returnsTheFirstAddressAndAsksDnsOnce() {
        assertThat(resolver.resolve("DB1.admin.internal", 5432))
                .isEqualTo(new DestinationResolver.Resolved("db1.admin.internal", 5432, ip("10.20.5.5")));
        assertThat(lookedUp).containsExactly("db1.admin.internal");
    }

    @Test
    void resolve_literal_neverAsksDns() {
        assertThat(resolver.resolve("10.20.5.5", 22))
                .isEqualTo(new DestinationResolver.Resolved("10.20.5.5", 22, ip("10.20.5.5")));
        assertThat(resolver.resolve("[2001:db8::1]", 443))
                .isEqualTo(new DestinationResolver.Resolved("2001:db8::1", 443, ip("2001:db8::1")));
        assertThat(lookedUp).isEmpty();
    }

    @Test
    void resolve_literalLoopback_isLeftToThePolicy() {
        // A rule may name 127.0.0.1 by address; the policy decides.
        assertThat(resolver.resolve("::ffff:127.0.0.1", 8080))
                .isEqualTo(new DestinationResolver.Resolved("::ffff:127.0.0.1", 8080, ip("127.0.0.1")));
    }

    @Test
    void resolve_nameResolvingToLoopback_isRefused() {
        assertRefused(resolver.resolve("evil.example", 22), AccessDecision.FORBIDDEN_ADDRESS,
                "evil.example:22 resolves to 127.0.0.1, which is loopback");
        assertRefused(resolver.resolve("mapped.example", 22), AccessDecision.FORBIDDEN_ADDRESS,
                "resolves to 127.0.0.1, which is loopback");
    }

    @Test
    void resolve_nameWithAnyForbiddenAddress_isRefused() {
        assertRefused(resolver.resolve("mixed.example", 80), AccessDecision.FORBIDDEN_ADDRESS,
                "resolves to 169.254.169.254, which is link-local, cloud metadata");
    }

    @Test
    void resolve_nameOfTheGateway_isRefused() {
        assertRefused(resolver.resolve("gw.admin.internal", 22), AccessDecision.FORBIDDEN_ADDRESS,
                "which is the gateway's own address");
    }

    @Test
    void resolve_unknownName_isUnresolvedNotDenied() {
        assertThat(resolver.resolve("nowhere.example", 22)).isInstanceOf(DestinationResolver.Unresolved.class);
    }

    @Test
    void resolve_badPortOrHost_isBadDestination() {
        assertRefused(resolver.resolve("db1.admin.internal", 0), AccessDecision.BAD_DESTINATION,
                "expected a port between 1 and 65535, found 0");
        assertRefused(resolver.resolve("db1.admin.internal", 65536), AccessDecision.BAD_DESTINATION, "65536");
        assertRefused(resolver.resolve("bad host", 22), AccessDecision.BAD_DESTINATION, "found \"bad host\"");
        assertThat(lookedUp).isEmpty();
    }

    @Test
    void resolveThenDecide_usesTheSameAddressForCheckAndConnect() {
        AccessPolicy policy = AccessPolicy.of(new AccessRules(List.of(new Rule("db", List.of("dba"),
                List.of(Destination.parse("10.20.5.5:5432"))))), Set.of(OWN));
        DestinationResolver.Resolved r = (DestinationResolver.Resolved) resolver.resolve("db1.admin.internal", 5432);
        assertThat(policy.decide(Set.of("dba"), r.host(), r.port(), r.address()))
                .isEqualTo(new AccessDecision.Allowed("db"));
    }
}
