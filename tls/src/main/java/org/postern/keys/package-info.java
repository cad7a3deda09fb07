@NullMarked
package org.postern.keys;

import org.jspecify.annotations.NullMarked;
