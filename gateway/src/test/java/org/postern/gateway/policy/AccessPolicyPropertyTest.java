package org.postern.gateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;
import org.postern.config.gateway.AccessRules;
import org.postern.config.gateway.Destination;

/**
 * The access policy against an independent model: a destination, written in any encoding, is
 * allowed iff some rule for the owner's groups covers the port and contains the address that
 * will be connected to, and either no forbidden range holds that address or the rule's network
 * lies inside every forbidden range that does (a name never opens one). The forbidden ranges of an
 * IPv6 form carrying an IPv4 address are the images of the IPv4's ranges ({@code docs/gateway.md}).
 * The model knows the IPv4 it put in; it shares no code with {@code ForbiddenAddresses}.
 */
class AccessPolicyPropertyTest {

    private static final int OWN4 = v4("10.20.0.1");
    private static final BigInteger OWN6 = v6("fd00::1");
    private static final Set<String> ADMINS = Set.of("admins");
    private static final ForbiddenAddresses FORBIDDEN = new ForbiddenAddresses(
            Set.of(InetAddress.ofLiteral("10.20.0.1"), InetAddress.ofLiteral("fd00::1")));
    private static final DestinationResolver RESOLVER = new DestinationResolver(FORBIDDEN, AccessPolicyPropertyTest::inetAton);

    /** Forbidden IPv4 ranges of the model: {network, prefix}. */
    private static final long[][] V4_RANGES = {
        {v4("0.0.0.0"), 8}, {v4("127.0.0.0"), 8}, {v4("169.254.0.0"), 16}, {v4("169.254.169.254"), 32},
        {v4("224.0.0.0"), 4}, {v4("255.255.255.255"), 32}, {OWN4 & 0xffffffffL, 32}};
    private static final Object[][] V6_RANGES = {
        {v6("::"), 128}, {v6("::1"), 128}, {v6("fe80::"), 10}, {v6("fd00:ec2::254"), 128}, {v6("ff00::"), 8},
        {OWN6, 128}};

    /** How the destination is written, and what that means. */
    enum Kind {
        /** resolves to the IPv4 address itself (dotted, IPv4-mapped) */
        V4,
        /** an IPv6 address carrying the IPv4 address at {@link Target#offset} (and Teredo's client) */
        EMBEDDED,
        /** a plain IPv6 address */
        V6,
        /** a host name that the system resolver would read as the IPv4 address (0x7f000001) */
        NAME,
        /** refused as malformed: integer, octal, short and zero-padded dotted forms */
        BAD
    }

    /**
     * @param text    what the client asks for
     * @param kind    how to read it
     * @param address the address connected to, as 32 or 128 bits
     * @param bits    32 or 128
     * @param carried the IPv4 addresses it carries with their bit offsets (EMBEDDED)
     */
    record Target(String text, Kind kind, BigInteger address, int bits, List<int[]> carried) {
        @Override
        public String toString() {
            return text + " (" + kind + ")";
        }
    }

    record Rule(List<String> groups, BigInteger network, int prefix, int bits, int low, int high) {
        Destination destination() {
            String net = bits == 32 ? text4(network.intValue()) : text6(network);
            String cidr = prefix == bits ? net : net + "/" + prefix;
            return Destination.parse((bits == 32 ? cidr : "[" + cidr + "]") + ":" + low + "-" + high);
        }
    }

    @Property(tries = 1000)
    void allowedIffARuleCoversItAndNoForbiddenRangeHoldsIt(@ForAll("cases") Tuple.Tuple3<Target, Integer, List<Rule>> c) {
        Target t = c.get1();
        int port = c.get2();
        List<Rule> rules = c.get3();
        List<AccessRules.Rule> config = new ArrayList<>();
        for (int i = 0; i < rules.size(); i++) {
            config.add(new AccessRules.Rule("r" + i, rules.get(i).groups(), List.of(rules.get(i).destination())));
        }
        AccessPolicy policy = AccessPolicy.of(new AccessRules(config), FORBIDDEN);

        AccessDecision actual = switch (RESOLVER.resolve(t.text(), port)) {
            case DestinationResolver.Resolved r -> policy.decide(ADMINS, t.text(), port, r.address());
            case DestinationResolver.Refused r -> r.denial();
            case DestinationResolver.Unresolved u -> new AccessDecision.Denied("unresolved", u.detail());
        };

        List<Integer> ranges = forbiddenPrefixes(t);
        boolean forbidden = !ranges.isEmpty();
        boolean expected = t.kind() != Kind.BAD && rules.stream().anyMatch(r -> r.groups().contains("admins")
                && port >= r.low() && port <= r.high() && contains(r, t)
                && (!forbidden || t.kind() != Kind.NAME && ranges.stream().allMatch(p -> r.prefix() >= p)));
        Statistics.label("kind").collect(t.kind());
        Statistics.label("outcome").collect(expected ? "allowed" : forbidden ? "forbidden" : "denied");

        String why = t + " port " + port + " rules " + rules + " forbidden prefixes " + ranges + " -> " + actual;
        assertThat(actual instanceof AccessDecision.Allowed).as(why).isEqualTo(expected);
        if (!expected && actual instanceof AccessDecision.Denied d) {
            String reason = t.kind() == Kind.BAD ? AccessDecision.BAD_DESTINATION
                    : forbidden ? AccessDecision.FORBIDDEN_ADDRESS : AccessDecision.NO_RULE;
            assertThat(d.reason()).as(why).isEqualTo(reason);
        }
    }

    // ---- the model ----------------------------------------------------------------------------

    /** The prefix lengths, in the connected address's family, of every forbidden range holding it. */
    static List<Integer> forbiddenPrefixes(Target t) {
        List<Integer> out = new ArrayList<>();
        switch (t.kind()) {
            case V4, NAME, BAD -> out.addAll(v4Prefixes(t.address().intValue()));
            case V6 -> {
                for (Object[] r : V6_RANGES) {
                    int p = (int) r[1];
                    if (prefixMatch(t.address(), (BigInteger) r[0], p, 128)) {
                        out.add(p);
                    }
                }
            }
            case EMBEDDED -> {
                for (int[] c : t.carried()) {
                    for (int p : v4Prefixes(c[0])) {
                        out.add(c[1] + p);
                    }
                }
            }
        }
        return out;
    }

    static List<Integer> v4Prefixes(int v) {
        List<Integer> out = new ArrayList<>();
        for (long[] r : V4_RANGES) {
            if (prefixMatch(BigInteger.valueOf(v & 0xffffffffL), BigInteger.valueOf(r[0] & 0xffffffffL), (int) r[1], 32)) {
                out.add((int) r[1]);
            }
        }
        return out;
    }

    static boolean contains(Rule r, Target t) {
        return r.bits() == t.bits() && prefixMatch(t.address(), r.network(), r.prefix(), r.bits());
    }

    static boolean prefixMatch(BigInteger a, BigInteger network, int prefix, int bits) {
        return a.shiftRight(bits - prefix).equals(network.shiftRight(bits - prefix));
    }

    // ---- generators ---------------------------------------------------------------------------

    @Provide
    Arbitrary<Tuple.Tuple3<Target, Integer, List<Rule>>> cases() {
        return target().flatMap(t -> Combinators.combine(Arbitraries.just(t), Arbitraries.integers().between(1, 65535),
                rule(t).list().ofMaxSize(3)).as(Tuple::of));
    }

    Arbitrary<Integer> ipv4() {
        return Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.integers().between(Integer.MIN_VALUE, Integer.MAX_VALUE)),
                Tuple.of(2, Arbitraries.integers().between(0, 0xffffff).map(x -> 0x7f000000 | x)),
                Tuple.of(1, Arbitraries.integers().between(0, 0xffff).map(x -> 0xa9fe0000 | x)),
                Tuple.of(1, Arbitraries.of(v4("169.254.169.254"), v4("255.255.255.255"), OWN4, v4("0.0.0.0"))),
                Tuple.of(1, Arbitraries.integers().between(0, 0xffffff)),
                Tuple.of(1, Arbitraries.integers().between(0, 0x0fffffff).map(x -> 0xe0000000 | x)),
                Tuple.of(1, Arbitraries.integers().between(0, 0xffff).map(x -> 0x0a140000 | x)));
    }

    Arbitrary<Target> target() {
        Arbitrary<Target> v4 = Combinators.combine(ipv4(), Arbitraries.integers().between(0, 5)).as((v, form) -> {
            String dotted = text4(v);
            String hex = hex16(v >>> 16) + ":" + hex16(v & 0xffff);
            String text = switch (form) {
                case 0 -> dotted;
                case 1 -> "::ffff:" + dotted;
                case 2 -> "[::ffff:" + hex + "]";
                case 3 -> "0:0:0:0:0:FFFF:" + dotted;
                case 4 -> "0000:0000:0000:0000:0000:ffff:" + hex;
                default -> "[" + dotted + "]"; // brackets are stripped whatever is inside
            };
            return new Target(text, Kind.V4, u32(v), 32, List.of());
        });
        Arbitrary<Target> embedded = Combinators.combine(ipv4(), ipv4(), Arbitraries.integers().between(0, 8))
                .as((v, other, form) -> {
                    String hex = hex16(v >>> 16) + ":" + hex16(v & 0xffff);
                    int w = v == 0 || v == 1 ? 2 : v; // ::0.0.0.0 and ::0.0.0.1 are :: and ::1, plain IPv6
                    return switch (form) {
                        case 0 -> embed("::" + text4(w), w, 96);
                        case 1 -> embed("[::" + hex16(w >>> 16) + ":" + hex16(w & 0xffff) + "]", w, 96);
                        case 2 -> embed("64:ff9b::" + text4(v), v, 96);
                        case 3 -> embed("[0064:ff9b:0000:0000:0000:0000:" + hex + "]", v, 96);
                        case 4 -> embed("64:ff9b:1::" + hex16(v >>> 16) + ":" + hex16((v | 1) & 0xffff), v | 1, 96);
                        case 5 -> embed("2002:" + hex + "::1", v, 16);
                        case 6 -> embed("::ffff:0:" + text4(v), v, 96);
                        default -> teredo(v, other);
                    };
                });
        Arbitrary<Target> v6 = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.bigIntegers().between(v6("2001:db8::"), v6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"))),
                Tuple.of(2, Arbitraries.bigIntegers().between(v6("2a00::"), v6("2aff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))),
                Tuple.of(2, Arbitraries.bigIntegers().between(v6("fe80::"), v6("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))),
                Tuple.of(2, Arbitraries.bigIntegers().between(v6("ff00::"), v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))),
                Tuple.of(2, Arbitraries.of(v6("::1"), v6("::"), v6("fd00:ec2::254"), OWN6, v6("fd00::2"))))
                .flatMap(a -> Arbitraries.of(true, false).map(full -> new Target(
                        full ? "[" + full6(a) + "]" : text6(a), Kind.V6, a, 128, List.of())));
        Arbitrary<Target> other = Combinators.combine(ipv4(), Arbitraries.integers().between(0, 4)).as((v, form) -> {
            long u = v & 0xffffffffL;
            return switch (form) {
                case 0 -> new Target(Long.toString(u), Kind.BAD, u32(v), 32, List.of());
                case 1 -> new Target("0" + Integer.toOctalString(v >>> 24) + "." + ((v >>> 16) & 0xff) + "."
                        + ((v >>> 8) & 0xff) + "." + (v & 0xff), Kind.BAD, u32(v), 32, List.of());
                case 2 -> new Target(((v >>> 24) & 0xff) + "." + (u & 0xffffff), Kind.BAD, u32(v), 32, List.of());
                case 3 -> {
                    String padded = String.format("%03d.%03d.%03d.%03d", (v >>> 24) & 0xff, (v >>> 16) & 0xff,
                            (v >>> 8) & 0xff, v & 0xff);
                    yield new Target(padded, padded.equals(text4(v)) ? Kind.V4 : Kind.BAD, u32(v), 32, List.of());
                }
                default -> new Target("0x" + Long.toHexString(u), Kind.NAME, u32(v), 32, List.of());
            };
        });
        return Arbitraries.frequencyOf(Tuple.of(3, v4), Tuple.of(4, embedded), Tuple.of(2, v6), Tuple.of(2, other));
    }

    private static Target embed(String text, int v, int offset) {
        InetAddress a = InetAddress.ofLiteral(text.replace("[", "").replace("]", ""));
        return new Target(text, Kind.EMBEDDED, new BigInteger(1, a.getAddress()), 128, List.of(new int[] {v, offset}));
    }

    private static Target teredo(int server, int client) {
        String text = "2001:0:" + hex16(server >>> 16) + ":" + hex16(server & 0xffff) + ":0:0:"
                + hex16((~client >>> 16) & 0xffff) + ":" + hex16(~client & 0xffff);
        InetAddress a = InetAddress.ofLiteral(text);
        return new Target(text, Kind.EMBEDDED, new BigInteger(1, a.getAddress()), 128,
                List.of(new int[] {server, 32}, new int[] {client, 96}));
    }

    /** Rules around the target: its own address, the IPv4 it carries, or elsewhere; wide, narrow, exact. */
    Arbitrary<Rule> rule(Target t) {
        Arbitrary<List<String>> groups = Arbitraries.of(List.of("admins"), List.of("ops"), List.of("ops", "admins"));
        Arbitrary<int[]> ports = Arbitraries.integers().between(1, 65535).list().ofSize(2)
                .map(l -> new int[] {Math.min(l.get(0), l.get(1)), Math.max(l.get(0), l.get(1))});
        Arbitrary<Object[]> where = Arbitraries.frequencyOf(
                Tuple.of(5, Arbitraries.integers().between(0, t.bits()).map(p -> new Object[] {t.address(), p, t.bits()})),
                Tuple.of(2, Arbitraries.just(new Object[] {t.address(), t.bits(), t.bits()})),
                Tuple.of(2, Arbitraries.integers().between(0, 32).map(p -> new Object[] {carried(t), p, 32})),
                Tuple.of(1, Arbitraries.integers().between(0, 128).map(p -> new Object[] {v6("2001:db8::"), p, 128})));
        return Combinators.combine(groups, where, ports, Arbitraries.integers().between(0, 2))
                .as((g, w, p, portChoice) -> {
                    BigInteger a = (BigInteger) w[0];
                    int prefix = (int) w[1];
                    int bits = (int) w[2];
                    BigInteger network = a.shiftRight(bits - prefix).shiftLeft(bits - prefix);
                    int[] range = portChoice == 0 ? new int[] {1, 65535} : p;
                    return new Rule(g, network, prefix, bits, range[0], range[1]);
                });
    }

    private static BigInteger carried(Target t) {
        return t.carried().isEmpty() ? (t.bits() == 32 ? t.address() : u32(OWN4)) : u32(t.carried().get(0)[0]);
    }

    // ---- text and numbers ---------------------------------------------------------------------

    /** What glibc's resolver makes of a hex host name (inet_aton): the system lookup the gateway uses. */
    private static List<InetAddress> inetAton(String host) throws UnknownHostException {
        if (host.startsWith("0x")) {
            long v = Long.parseLong(host.substring(2), 16);
            return List.of(InetAddress.getByAddress(new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v}));
        }
        throw new UnknownHostException(host + ": no such name (test)");
    }

    private static int v4(String dotted) {
        byte[] b = InetAddress.ofLiteral(dotted).getAddress();
        return ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
    }

    private static BigInteger v6(String literal) {
        return new BigInteger(1, InetAddress.ofLiteral(literal).getAddress());
    }

    private static BigInteger u32(int v) {
        return BigInteger.valueOf(v & 0xffffffffL);
    }

    private static String text4(int v) {
        return ((v >>> 24) & 0xff) + "." + ((v >>> 16) & 0xff) + "." + ((v >>> 8) & 0xff) + "." + (v & 0xff);
    }

    private static String hex16(int v) {
        return Integer.toHexString(v & 0xffff);
    }

    private static byte[] bytes16(BigInteger a) {
        byte[] raw = a.toByteArray();
        byte[] out = new byte[16];
        int n = Math.min(raw.length, 16);
        System.arraycopy(raw, raw.length - n, out, 16 - n, n);
        return out;
    }

    /** Compressed, as the JDK writes it but with the longest zero run as "::". */
    private static String text6(BigInteger a) {
        try {
            String full = InetAddress.getByAddress(bytes16(a)).getHostAddress();
            return full.replaceFirst("(^|:)0(:0)+(:|$)", "::").replaceFirst(":::", "::");
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** All eight groups, four digits each, upper case. */
    private static String full6(BigInteger a) {
        String hex = HexFormat.of().withUpperCase().formatHex(bytes16(a));
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 32; i += 4) {
            sb.append(i == 0 ? "" : ":").append(hex, i, i + 4);
        }
        return sb.toString();
    }
}
