@NullMarked
package org.postern.agent.collect;

import org.jspecify.annotations.NullMarked;
