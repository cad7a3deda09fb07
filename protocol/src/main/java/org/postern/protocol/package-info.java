@NullMarked
package org.postern.protocol;

import org.jspecify.annotations.NullMarked;
