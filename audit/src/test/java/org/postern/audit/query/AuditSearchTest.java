package org.postern.audit.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Pages over several trails merged by time: each page continues exactly where the last one ended. */
class AuditSearchTest {
    private static final Instant T0 = Instant.parse("2026-11-30T08:00:00Z");
    private static final String[] TYPES = {"session.start", "flow.open", "flow.close", "access.denied", "posture.decision", "session.end"};

    @TempDir
    Path tmp;
    TestTrail a;
    TestTrail b;
    TestTrail c;
    final List<String> warnings = new ArrayList<>();

    /**
     * Three gateways' trails, 60 records each, times interleaved with ties across trails (whole
     * seconds drawn from a small range), and a clock step back in the middle of gw-b.
     */
    @BeforeEach
    void writeTrails() {
        a = new TestTrail(tmp.resolve("a"), "gw-a");
        b = new TestTrail(tmp.resolve("b"), "gw-b");
        c = new TestTrail(tmp.resolve("c"), "gw-c");
        Random random = new Random(15);
        for (TestTrail t : List.of(a, b, c)) {
            int second = 0;
            for (int i = 0; i < 60; i++) {
                second += random.nextInt(3); // 0 makes ties within and across trails
                if (t == b && i == 30) {
                    second -= 40; // the clock stepped back
                }
                if (i == 25) {
                    t.rotate();
                }
                String type = TYPES[random.nextInt(TYPES.length)];
                t.add(T0.plusSeconds(second).toString(), type, "device", "laptop-" + random.nextInt(4), "user", "u" + i,
                        "reason", type.equals("access.denied") ? "policy.no_rule" : "client_closed");
            }
        }
    }

    private Trails trails() {
        return TestTrail.open(warnings, a.dir, b.dir, c.dir);
    }

    private static String key(AuditRecord r) {
        return r.text("gateway") + "#" + r.number("seq");
    }

    /** Every matching record in one read: what the pages must add up to. */
    private List<String> expected(AuditFilter filter) {
        return TestTrail.all(trails().stream()).stream().filter(filter).map(AuditSearchTest::key).toList();
    }

    /** All pages of {@code limit}, the cursor passed on as the browser would, as a token. */
    private List<String> paged(AuditSearch search, AuditFilter filter, int limit) {
        List<String> got = new ArrayList<>();
        PageCursor after = null;
        for (int pages = 0; pages < 1000; pages++) {
            AuditSearch.Page p = search.page(filter, after, limit);
            assertThat(p.records()).hasSizeLessThanOrEqualTo(limit);
            p.records().forEach(r -> got.add(key(r)));
            if (!p.more()) {
                assertThat(p.next()).isNull();
                return got;
            }
            assertThat(p.records()).hasSize(limit);
            after = PageCursor.parse(p.next().token());
        }
        throw new AssertionError("more than 1000 pages");
    }

    @ParameterizedTest(name = "limit {0}")
    @ValueSource(ints = {1, 2, 3, 7, 50, 1000})
    void pages_ofAMergedMultiTrailInput_addUpToOneRead_withoutDuplicatesOrGaps(int limit) {
        List<String> all = expected(AuditFilter.ALL);
        assertThat(all).hasSize(180).doesNotHaveDuplicates();
        assertThat(paged(new AuditSearch(trails()), AuditFilter.ALL, limit)).containsExactlyElementsOf(all);
    }

    @ParameterizedTest(name = "limit {0}")
    @ValueSource(ints = {1, 4, 9})
    void pages_withAFilter_addUpToTheFilteredRead(int limit) {
        AuditFilter flows = new AuditFilter(T0.plusSeconds(10), null, null, null, List.of("flow.", "access"), null, null, null, false);
        List<String> all = expected(flows);
        assertThat(all).isNotEmpty();
        assertThat(paged(new AuditSearch(trails()), flows, limit)).containsExactlyElementsOf(all);
        AuditFilter noRule = new AuditFilter(null, null, null, null, List.of(), Outcome.DENIED, null, "policy.no_rule", false);
        assertThat(paged(new AuditSearch(trails()), noRule, limit)).containsExactlyElementsOf(expected(noRule)).isNotEmpty();
    }

    @Test
    void page_exactlyFull_saysMoreOnlyWhenARecordFollows() {
        AuditSearch search = new AuditSearch(trails());
        AuditSearch.Page all = search.page(AuditFilter.ALL, null, 180);
        assertThat(all.records()).hasSize(180);
        assertThat(all.more()).isFalse();
        AuditSearch.Page first = search.page(AuditFilter.ALL, null, 179);
        assertThat(first.more()).isTrue();
        AuditSearch.Page last = search.page(AuditFilter.ALL, first.next(), 179);
        assertThat(last.records()).hasSize(1);
        assertThat(last.more()).isFalse();
        assertThat(search.page(AuditFilter.ALL, PageCursor.of(last.records().getFirst()), 10).records()).isEmpty();
    }

    @Test
    void nextPage_afterTheTrailsGrew_continuesWithoutRepeating() {
        AuditSearch search = new AuditSearch(trails());
        AuditSearch.Page first = search.page(AuditFilter.ALL, null, 50);
        List<String> got = new ArrayList<>(first.records().stream().map(AuditSearchTest::key).toList());
        // the gateways go on writing between the two requests
        a.add(T0.plusSeconds(3600).toString(), "flow.open", "device", "laptop-9");
        c.add(T0.plusSeconds(3601).toString(), "flow.close", "device", "laptop-9");
        PageCursor after = first.next();
        for (int i = 0; i < 100 && after != null; i++) {
            AuditSearch.Page p = search.page(AuditFilter.ALL, after, 40);
            p.records().forEach(r -> got.add(key(r)));
            after = p.next();
        }
        assertThat(got).containsExactlyElementsOf(expected(AuditFilter.ALL)).hasSize(182).doesNotHaveDuplicates();
        assertThat(got.subList(180, 182)).containsExactly("gw-a#61", "gw-c#61");
    }

    @Test
    void cursorOfARecordNoLongerThere_continuesAfterItsKey() {
        List<AuditRecord> all = TestTrail.all(trails().stream());
        PageCursor gone = new PageCursor(T0.plusSeconds(20).plusMillis(500), "gw-b", 999);
        List<String> rest = new AuditSearch(trails()).page(AuditFilter.ALL, gone, 1000).records().stream().map(AuditSearchTest::key).toList();
        List<String> later = all.stream().filter(r -> PageCursor.ORDER.compare(PageCursor.of(r), gone) > 0).map(AuditSearchTest::key).toList();
        assertThat(rest).isNotEmpty().containsExactlyElementsOf(later);
    }

    @Test
    void searchReadsThroughTheRecordSourceSeam_andTestsTheFilterOnWhatItGets() {
        List<AuditRecord> all = TestTrail.all(trails().stream());
        List<AuditFilter> asked = new ArrayList<>();
        // a source that hands out every second record as "candidates", as an index would hand out its hits
        RecordSource candidates = (filter, after) -> {
            asked.add(filter);
            List<AuditRecord> some = new ArrayList<>();
            boolean passed = after == null;
            for (int i = 0; i < all.size(); i++) {
                if (passed && i % 2 == 0) {
                    some.add(all.get(i));
                }
                passed |= after != null && after.names(all.get(i));
            }
            return stream(some);
        };
        AuditFilter denied = new AuditFilter(null, null, null, null, List.of(), Outcome.DENIED, null, null, false);
        AuditSearch.Page p = new AuditSearch(candidates).page(denied, null, 1000);
        assertThat(asked).containsExactly(denied);
        assertThat(p.records()).isNotEmpty().allMatch(denied).allMatch(r -> all.indexOf(r) % 2 == 0);
    }

    private static RecordStream stream(List<AuditRecord> list) {
        return new RecordStream() {
            int i;

            @Override
            public @Nullable AuditRecord next() {
                return i < list.size() ? list.get(i++) : null;
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void limit_andCursorTokens_areChecked() {
        AuditSearch search = new AuditSearch(trails());
        assertThatThrownBy(() -> search.page(AuditFilter.ALL, null, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("limit: expected 1 to 1000, found 0");
        assertThatThrownBy(() -> search.page(AuditFilter.ALL, null, 1001)).hasMessage("limit: expected 1 to 1000, found 1001");
        assertThatThrownBy(() -> PageCursor.parse("%%%")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("page cursor: expected a token from a previous page, found \"%%%\" (not base64url)");
        assertThatThrownBy(() -> PageCursor.parse("bm9wZQ")).hasMessageContaining("(expected time, seq and gateway)");
        PageCursor odd = new PageCursor(T0, "gw with spaces & ünicode", 7);
        assertThat(PageCursor.parse(odd.token())).isEqualTo(odd);
        assertThat(odd.token()).matches("[A-Za-z0-9_-]+");
    }
}
