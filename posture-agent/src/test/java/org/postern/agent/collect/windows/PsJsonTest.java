package org.postern.agent.collect.windows;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class PsJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            // Windows PowerShell 5.1
            "\"\\/Date(1712682765000)\\/\"                                           | 2024-04-09T17:12:45Z",
            "\"\\/Date(1712682765000+0200)\\/\"                                      | 2024-04-09T17:12:45Z",
            "{\"value\":\"\\/Date(1712682765000)\\/\",\"DateTime\":\"Dienstag, 9. April 2024 17:12:45\"} | 2024-04-09T17:12:45Z",
            "{\"value\":\"\\/Date(1712682765000)\\/\",\"DisplayHint\":2,\"DateTime\":\"mardi 9 avril 2024 17:12:45\"} | 2024-04-09T17:12:45Z",
            // PowerShell 7
            "\"2024-04-09T17:12:45Z\"                                                | 2024-04-09T17:12:45Z",
            "\"2024-04-09T17:12:45.1234567Z\"                                        | 2024-04-09T17:12:45.1234567Z",
            "\"2024-04-09T19:12:45+02:00\"                                           | 2024-04-09T17:12:45Z",
            "\"2024-04-09T17:12:45\"                                                 | 2024-04-09T17:12:45Z",
            "1712682765000                                                           | 2024-04-09T17:12:45Z",
    })
    void instant_everyConvertToJsonShape_givesTheSameInstant(String json, Instant expected) throws Exception {
        assertThat(PsJson.instant(JSON.readTree(json))).isEqualTo(expected);
    }

    @Test
    void instant_nullOrAbsent_isNull() throws Exception {
        assertThat(PsJson.instant(JSON.readTree("null"))).isNull();
        assertThat(PsJson.instant(null)).isNull();
        assertThat(PsJson.instant(JSON.readTree("{}").path("date"))).isNull();
    }

    @Test
    void instant_localizedTextOnly_isRejectedNamingTheText() throws Exception {
        assertThatThrownBy(() -> PsJson.instant(JSON.readTree("\"Dienstag, 9. April 2024 17:12:45\"")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected a date like \\/Date(1712345678000)\\/ or 2024-04-05T17:34:38Z, found \"Dienstag, 9. April 2024 17:12:45\"");
    }

    @Test
    void integer_acceptsNumbersAndNumericStrings_only() throws Exception {
        assertThat(PsJson.integer(JSON.readTree("3447"))).isEqualTo(3447L);
        assertThat(PsJson.integer(JSON.readTree("\"3447\""))).isEqualTo(3447L);
        assertThat(PsJson.integer(JSON.readTree("-2147217405"))).isEqualTo(-2147217405L);
        assertThat(PsJson.integer(JSON.readTree("\"drei\""))).isNull();
        assertThat(PsJson.integer(JSON.readTree("null"))).isNull();
    }
}
