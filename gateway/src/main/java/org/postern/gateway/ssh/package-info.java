@NullMarked
package org.postern.gateway.ssh;

import org.jspecify.annotations.NullMarked;
