package org.postern.agent.collect.osquery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class OsqueryRowsTest {

    @Test
    void parse_allValuesAreStrings_integersConvertedOnDemand() {
        var rows = OsqueryFixtures.rows("windows-bitlocker_info.json");

        assertThat(rows).hasSize(2);
        assertThat(rows.getFirst().get("protection_status")).isEqualTo("1");
        assertThat(OsqueryRows.integer(rows.getFirst(), "protection_status")).isEqualTo(1L);
        assertThat(OsqueryRows.integer(Map.of("x", "-1"), "x")).isEqualTo(-1L);
        assertThat(OsqueryRows.integer(Map.of("x", ""), "x")).isNull();
        assertThat(OsqueryRows.integer(Map.of("x", "encrypted"), "x")).isNull();
        assertThat(OsqueryRows.text(Map.of("x", " "), "x")).isNull();
    }

    @Test
    void parse_emptyArray_isNoRows() {
        assertThat(OsqueryRows.parse("[\n\n]\n")).isEmpty();
    }

    @Test
    void parse_notJson_isRejectedQuotingIt() {
        assertThatThrownBy(() -> OsqueryRows.parse("Error: no such table: bitlocker_info"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected a JSON array of rows, found \"Error: no such table: bitlocker_info\"");
        assertThatThrownBy(() -> OsqueryRows.parse("")).hasMessage("expected a JSON array of rows, found nothing");
    }
}
