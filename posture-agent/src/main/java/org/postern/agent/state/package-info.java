@NullMarked
package org.postern.agent.state;

import org.jspecify.annotations.NullMarked;
