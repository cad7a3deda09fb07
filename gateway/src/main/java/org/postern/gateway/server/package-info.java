@NullMarked
package org.postern.gateway.server;

import org.jspecify.annotations.NullMarked;
