package org.postern.pki.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FreePortsTest {

    @Test
    void neverGivesTheSamePortTwice() {
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            assertThat(seen.add(FreePorts.next())).as("port %d given twice", i).isTrue();
        }
        assertThat(seen).allSatisfy(p -> assertThat(p).isBetween(1, 65535));
    }
}
