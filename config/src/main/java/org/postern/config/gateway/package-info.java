@NullMarked
package org.postern.config.gateway;

import org.jspecify.annotations.NullMarked;
