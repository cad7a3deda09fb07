package org.postern.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class DataSizeTest {

    @ParameterizedTest
    @CsvSource({
            "512B, 512",
            "16KiB, 16384",
            "64KiB, 65536",
            "1MiB, 1048576",
            "2GiB, 2147483648",
            "1TiB, 1099511627776",
            "1KB, 1000",
            "1kB, 1000",
            "5MB, 5000000",
            "1GB, 1000000000",
            "0B, 0",
    })
    void parse_validText_givesBytes(String text, long bytes) {
        assertThat(DataSize.parse(text).bytes()).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"64k", "64", "-1KiB", "1.5MiB", "KiB", "64 KiB", "64kib", "", "64KiBs",
            "99999999999999999999B", "9999999999TiB"})
    void parse_garbage_isRejectedNamingTheText(String text) {
        assertThatThrownBy(() -> DataSize.parse(text))
                .isInstanceOf(InvalidValueException.class)
                .hasMessage("expected a size like 64KiB, found " + Found.quote(text));
    }

    @ParameterizedTest
    @CsvSource({"65536, 64KiB", "1048576, 1MiB", "2147483648, 2GiB", "1000, 1000B", "1536, 1536B", "0, 0B"})
    void toString_usesLargestExactBinaryUnit(long bytes, String text) {
        assertThat(DataSize.ofBytes(bytes)).hasToString(text);
        assertThat(DataSize.parse(text).bytes()).isEqualTo(bytes);
    }

    @Test
    void constructor_negative_isRejected() {
        assertThatThrownBy(() -> new DataSize(-1))
                .hasMessage("expected a size of 0 bytes or more, found -1 bytes");
    }

    @Test
    void compareTo_ordersByBytes() {
        assertThat(DataSize.ofKiB(1)).isLessThan(DataSize.parse("1025B"));
        assertThat(DataSize.ofMiB(1)).isEqualByComparingTo(DataSize.parse("1024KiB"));
    }
}
