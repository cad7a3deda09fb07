package org.postern.gateway.selfcheck;

import java.util.Locale;

/**
 * How much a finding matters before the gateway is opened, mildest first.
 * {@code info}: how the deployment is, nothing to do; {@code warning}: weaker than it should be,
 * fix it or accept it knowingly; {@code critical}: do not open the gateway like this.
 */
public enum Severity {
    INFO, WARNING, CRITICAL;

    /** As printed and in JSON: {@code info}, {@code warning}, {@code critical}. */
    public String spelling() {
        return name().toLowerCase(Locale.ROOT);
    }
}
