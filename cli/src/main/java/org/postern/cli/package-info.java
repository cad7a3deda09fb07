@NullMarked
package org.postern.cli;

import org.jspecify.annotations.NullMarked;
