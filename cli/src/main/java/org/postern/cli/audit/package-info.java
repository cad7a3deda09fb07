@NullMarked
package org.postern.cli.audit;

import org.jspecify.annotations.NullMarked;
