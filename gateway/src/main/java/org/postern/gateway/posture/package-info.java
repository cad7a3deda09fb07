@NullMarked
package org.postern.gateway.posture;

import org.jspecify.annotations.NullMarked;
