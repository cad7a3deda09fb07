package org.postern.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

    @ParameterizedTest
    @CsvSource({
            "500ms, PT0.5S",
            "30s, PT30S",
            "10m, PT10M",
            "24h, PT24H",
            "90d, PT2160H",
            "1h30m, PT1H30M",
            "1d12h, PT36H",
            "1m30s250ms, PT1M30.25S",
            "0s, PT0S",
    })
    void parse_validText_givesDuration(String text, Duration expected) {
        assertThat(Durations.parse(text)).isEqualTo(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ten", "-5m", "10", "", "10 m", " 10m", "1.5h", "10M", "m", "10mm",
            "30m1h", "1h1h", "99999999999999999d", "10m-"})
    void parse_garbage_isRejectedNamingTheText(String text) {
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(InvalidValueException.class)
                .hasMessage("expected a duration like 10m, found " + Found.quote(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"500ms", "30s", "10m", "90d", "1h30m", "1d12h", "1m30s250ms", "0s"})
    void format_readsBackAsTheSameText(String text) {
        assertThat(Durations.format(Durations.parse(text))).isEqualTo(text);
    }

    @ParameterizedTest
    @CsvSource({"24h, 1d", "90m, 1h30m", "1000ms, 1s", "36h, 1d12h"})
    void format_carriesIntoTheLargestUnit(String text, String formatted) {
        assertThat(Durations.format(Durations.parse(text))).isEqualTo(formatted);
    }

    @ParameterizedTest
    @CsvSource({"PT-1S, PT-1S", "PT0.000001S, PT0.000001S"})
    void format_withoutShortForm_fallsBackToIso(Duration d, String expected) {
        assertThat(Durations.format(d)).isEqualTo(expected);
    }
}
