@NullMarked
package org.postern.agent.collect.windows;

import org.jspecify.annotations.NullMarked;
