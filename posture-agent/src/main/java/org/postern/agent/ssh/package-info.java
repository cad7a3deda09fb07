@NullMarked
package org.postern.agent.ssh;

import org.jspecify.annotations.NullMarked;
