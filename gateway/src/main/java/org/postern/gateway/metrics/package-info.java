@NullMarked
package org.postern.gateway.metrics;

import org.jspecify.annotations.NullMarked;
