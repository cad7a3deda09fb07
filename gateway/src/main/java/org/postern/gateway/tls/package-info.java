@NullMarked
package org.postern.gateway.tls;

import org.jspecify.annotations.NullMarked;
