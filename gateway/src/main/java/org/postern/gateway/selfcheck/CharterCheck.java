package org.postern.gateway.selfcheck;

import java.util.List;

import org.jspecify.annotations.Nullable;
import org.postern.config.gateway.Charter;

/**
 * The remote-work charter ({@code charter:}): the guide asks each remote worker to accept one before
 * working remotely, so a gateway without one is a warning; with one, the version and the text's hash
 * the devices must have accepted, so the operator sees which text is in force.
 */
public final class CharterCheck implements Check {
    static final String NAME = "charter";

    private final @Nullable Charter charter;

    public CharterCheck(@Nullable Charter charter) {
        this.charter = charter;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<Finding> run() {
        if (charter == null) {
            return List.of(new Finding(NAME, Severity.WARNING, "no remote-work charter (charter:): sessions are admitted"
                    + " without any accepted charter",
                    "set charter.version: 1 and charter.file: /etc/postern/charter.txt; each laptop then accepts it"
                            + " (postern-agent charter) before its next session"));
        }
        return List.of(Finding.info(NAME, "charter version " + charter.version() + " in force (sha256 "
                + charter.sha256().substring(0, 16) + "…" + (charter.file() == null ? ", inline" : ", from " + charter.file())
                + "): a device that has not accepted it is refused (charter.not_accepted)"));
    }
}
