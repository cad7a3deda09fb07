@NullMarked
package org.postern.gateway.reload;

import org.jspecify.annotations.NullMarked;
