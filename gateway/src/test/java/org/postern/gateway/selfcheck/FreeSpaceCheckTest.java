package org.postern.gateway.selfcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postern.config.DataSize;

class FreeSpaceCheckTest {
    @TempDir
    Path tmp;

    private List<Finding> run(long free) throws Exception {
        // the trail directory does not exist yet: the nearest existing parent is measured
        return new FreeSpaceCheck(tmp.resolve("audit/trail"), DataSize.ofMiB(64), p -> {
            assertThat(p).isEqualTo(tmp.toAbsolutePath());
            return free;
        }).run();
    }

    @Test
    void belowMinFree_isCritical() throws Exception {
        Finding c = Findings.only(run(10L << 20), Severity.CRITICAL);
        assertThat(c.message()).isEqualTo("10.0MiB free for audit.dir " + tmp.resolve("audit/trail") + " (on "
                + tmp.toAbsolutePath() + "), audit.minFree 64MiB: below audit.minFree the trail counts as unwritable and"
                + " the gateway refuses new sessions");
    }

    @Test
    void belowTwiceMinFree_isWarning() throws Exception {
        Finding w = Findings.only(run(100L << 20), Severity.WARNING);
        assertThat(w.message()).endsWith(": less than twice audit.minFree left");
    }

    @Test
    void plenty_isInfo() throws Exception {
        assertThat(run(5L << 30)).singleElement().extracting(Finding::severity).isEqualTo(Severity.INFO);
    }

    @Test
    void realFileStore_answers() throws Exception {
        List<Finding> f = new FreeSpaceCheck(tmp, DataSize.ofBytes(0), FreeSpaceCheck.fileStore()).run();
        assertThat(f).singleElement().extracting(Finding::message).asString().contains("free for audit.dir " + tmp);
    }
}
