package org.postern.config.posture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.postern.config.InvalidValueException;

class VersionNumberTest {

    private static VersionNumber v(String s) {
        return VersionNumber.parse(s);
    }

    @Test
    void compare_isNumericPartByPart() {
        assertThat(v("14.10")).isGreaterThan(v("14.4"));
        assertThat(v("14.3.1")).isLessThan(v("14.4"));
        assertThat(v("10.0.19045.4292")).isGreaterThan(v("10.0.19045.4291"));
        assertThat(v("10.0.19045.4290")).isLessThan(v("10.0.19045.4291"));
        assertThat(v("10.0.22631.1")).isGreaterThan(v("10.0.19045.9999"));
    }

    @Test
    void compare_missingPartsCountAsZero() {
        assertThat(v("6.1").compareTo(v("6.1.0"))).isZero();
        assertThat(v("22.04").compareTo(v("22.4"))).isZero();
        assertThat(v("6.1.1")).isGreaterThan(v("6.1"));
    }

    @Test
    void parse_rejectsAnythingButDottedNumbers() {
        for (String bad : new String[] {"", "14.x", "14..4", ".14", "14.", "v14", "6.1.0-18-amd64", "1234567890"}) {
            assertThatThrownBy(() -> v(bad)).as(bad).isInstanceOf(InvalidValueException.class)
                    .hasMessageStartingWith("expected a version of dotted numbers like 14.4, found \"");
        }
    }

    @Test
    void leading_takesTheLeadingNumbersOnly() {
        assertThat(VersionNumber.leading("6.1.0-18-amd64").parts()).containsExactly(6, 1, 0);
        assertThat(VersionNumber.leading("6.1.0-18-amd64").text()).isEqualTo("6.1.0-18-amd64");
        assertThat(VersionNumber.leading("14.4.1 (a)").parts()).containsExactly(14, 4, 1);
        assertThat(VersionNumber.leading("0.3.0-SNAPSHOT").parts()).containsExactly(0, 3, 0);
        assertThat(VersionNumber.leading("6.8.0-rc1").parts()).containsExactly(6, 8, 0);
    }

    @Test
    void leading_withoutANumberInFront_isNull() {
        assertThat(VersionNumber.leading("rolling")).isNull();
        assertThat(VersionNumber.leading("")).isNull();
        assertThat(VersionNumber.leading(null)).isNull();
    }
}
