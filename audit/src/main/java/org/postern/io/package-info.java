@NullMarked
package org.postern.io;

import org.jspecify.annotations.NullMarked;
