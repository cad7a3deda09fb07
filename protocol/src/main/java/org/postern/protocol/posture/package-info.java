@NullMarked
package org.postern.protocol.posture;

import org.jspecify.annotations.NullMarked;
