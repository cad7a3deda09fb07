@NullMarked
package org.postern.gateway.gate;

import org.jspecify.annotations.NullMarked;
