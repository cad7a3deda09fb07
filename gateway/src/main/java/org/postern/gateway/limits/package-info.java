@NullMarked
package org.postern.gateway.limits;

import org.jspecify.annotations.NullMarked;
