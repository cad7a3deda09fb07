/**
 * The checks IT security runs on a deployment before opening it, shared by {@code postern selfcheck}
 * and the console's selfcheck page. Each {@link org.postern.gateway.selfcheck.Check} gets its inputs
 * (paths, settings, a clock, a probe of the host) in its constructor, so a test provokes each finding
 * alone; {@link org.postern.gateway.selfcheck.Selfcheck} builds them from a {@code gateway.yaml}'s
 * settings. See docs/selfcheck.md.
 */
@NullMarked
package org.postern.gateway.selfcheck;

import org.jspecify.annotations.NullMarked;
