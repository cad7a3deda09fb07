/**
 * {@code postern selfcheck}: prints what the checks of {@link org.postern.gateway.selfcheck} find on a
 * deployment, as lines or JSON, with an exit code by the worst severity. See docs/selfcheck.md.
 */
@NullMarked
package org.postern.cli.selfcheck;

import org.jspecify.annotations.NullMarked;
