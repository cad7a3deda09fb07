package org.postern.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class GatewayCandidatesTest {
    private static final URI A = URI.create("https://gw-a.example.org:8443");
    private static final URI B = URI.create("https://gw-b.example.org:8443");

    /** A resolver over a table that the test may change between rounds; counts its lookups. */
    private static final class Table implements GatewayCandidates.Resolver {
        final Map<String, List<InetAddress>> names = new HashMap<>();
        int lookups;

        Table put(String host, String... addresses) throws UnknownHostException {
            List<InetAddress> list = new ArrayList<>();
            for (String a : addresses) {
                list.add(InetAddress.getByName(a)); // literals: no DNS
            }
            names.put(host, list);
            return this;
        }

        @Override
        public List<InetAddress> resolve(String host) throws UnknownHostException {
            lookups++;
            List<InetAddress> a = names.get(host);
            if (a == null) {
                throw new UnknownHostException(host);
            }
            return a;
        }
    }

    private static List<String> take(GatewayCandidates c, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(c.next().describe());
        }
        return out;
    }

    @Test
    void next_triesTheGatewaysInOrder_thenRoundRobin() throws UnknownHostException {
        GatewayCandidates c = new GatewayCandidates(List.of(A, B),
                new Table().put("gw-a.example.org", "192.0.2.1").put("gw-b.example.org", "192.0.2.2"));
        assertThat(take(c, 5)).containsExactly("gw-a.example.org:8443 at 192.0.2.1", "gw-b.example.org:8443 at 192.0.2.2",
                "gw-a.example.org:8443 at 192.0.2.1", "gw-b.example.org:8443 at 192.0.2.2", "gw-a.example.org:8443 at 192.0.2.1");
        assertThat(c.size()).isEqualTo(2);
    }

    @Test
    void next_oneNameWithSeveralAddresses_isOneCandidatePerAddress_keepingTheNameForTls() throws UnknownHostException {
        GatewayCandidates c = new GatewayCandidates(List.of(A),
                new Table().put("gw-a.example.org", "192.0.2.1", "192.0.2.7", "2001:db8::1"));
        List<GatewayCandidates.Candidate> round = List.of(c.next(), c.next(), c.next());
        assertThat(round).extracting(x -> x.address().getHostAddress())
                .containsExactly("192.0.2.1", "192.0.2.7", "2001:db8:0:0:0:0:0:1");
        assertThat(round).allSatisfy(x -> {
            assertThat(x.host()).isEqualTo("gw-a.example.org"); // SNI and the certificate check use the name
            assertThat(x.authority()).isEqualTo("gw-a.example.org:8443");
        });
        assertThat(c.size()).isEqualTo(3);
        assertThat(c.next().address().getHostAddress()).isEqualTo("192.0.2.1");
    }

    @Test
    void next_resolvesAgainAtEachWrap_soADnsChangeShowsWithinOneRound() throws UnknownHostException {
        Table dns = new Table().put("gw-a.example.org", "192.0.2.1").put("gw-b.example.org", "192.0.2.2");
        GatewayCandidates c = new GatewayCandidates(List.of(A, B), dns);
        take(c, 2);
        assertThat(dns.lookups).isEqualTo(2);
        dns.put("gw-b.example.org", "192.0.2.9");
        assertThat(take(c, 2)).containsExactly("gw-a.example.org:8443 at 192.0.2.1", "gw-b.example.org:8443 at 192.0.2.9");
        assertThat(dns.lookups).isEqualTo(4);
    }

    @Test
    void next_aNameThatDoesNotResolve_staysACandidateWithoutAddress_andTheOthersFollow() throws UnknownHostException {
        GatewayCandidates c = new GatewayCandidates(List.of(A, B), new Table().put("gw-b.example.org", "192.0.2.2"));
        GatewayCandidates.Candidate dead = c.next();
        assertThat(dead.address()).isNull();
        assertThat(dead.describe()).isEqualTo("gw-a.example.org:8443");
        assertThat(c.next().describe()).isEqualTo("gw-b.example.org:8443 at 192.0.2.2");
    }

    @Test
    void again_returnsTheSameCandidate_noFailoverAfterARefusal() throws UnknownHostException {
        GatewayCandidates c = new GatewayCandidates(List.of(A, B),
                new Table().put("gw-a.example.org", "192.0.2.1").put("gw-b.example.org", "192.0.2.2"));
        c.next();
        GatewayCandidates.Candidate b = c.next();
        c.again();
        assertThat(c.next()).isEqualTo(b);
        c.again();
        assertThat(c.next()).isEqualTo(b);
    }

    @Test
    void describe_anAddressLiteralIsNotRepeated() throws UnknownHostException {
        GatewayCandidates c = new GatewayCandidates(List.of(URI.create("https://127.0.0.1:8443")),
                GatewayCandidates.Resolver.SYSTEM);
        assertThat(c.next().describe()).isEqualTo("127.0.0.1:8443");
    }
}
