@NullMarked
package org.postern.config.agent;

import org.jspecify.annotations.NullMarked;
