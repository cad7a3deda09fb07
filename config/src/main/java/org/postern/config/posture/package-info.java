@NullMarked
package org.postern.config.posture;

import org.jspecify.annotations.NullMarked;
