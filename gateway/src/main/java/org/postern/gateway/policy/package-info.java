@NullMarked
package org.postern.gateway.policy;

import org.jspecify.annotations.NullMarked;
