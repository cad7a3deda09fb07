/**
 * {@code postern selfcheck}: the checks IT security runs on a deployment before opening it. Each
 * {@link org.postern.cli.selfcheck.Check} gets its inputs (paths, settings, a clock, a probe of the
 * host) in its constructor, so a test provokes each finding alone; {@link org.postern.cli.selfcheck.Selfcheck}
 * builds them from a {@code gateway.yaml}. See docs/selfcheck.md.
 */
@NullMarked
package org.postern.cli.selfcheck;

import org.jspecify.annotations.NullMarked;
