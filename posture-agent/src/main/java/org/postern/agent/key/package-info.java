@NullMarked
package org.postern.agent.key;

import org.jspecify.annotations.NullMarked;
