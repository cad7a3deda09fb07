/**
 * The release build's own tool: {@link org.postern.packaging.DocGen} writes the man pages and shell
 * completion of {@code postern} and {@code postern-agent} for {@code packaging/build.sh}
 * (docs/packaging.md). Nothing here is shipped.
 */
@NullMarked
package org.postern.packaging;

import org.jspecify.annotations.NullMarked;
