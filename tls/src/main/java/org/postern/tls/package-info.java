@NullMarked
package org.postern.tls;

import org.jspecify.annotations.NullMarked;
