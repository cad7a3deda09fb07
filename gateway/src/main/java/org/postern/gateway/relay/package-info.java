@NullMarked
package org.postern.gateway.relay;

import org.jspecify.annotations.NullMarked;
