@NullMarked
package org.postern.agent.tunnel;

import org.jspecify.annotations.NullMarked;
