@NullMarked
package org.postern.agent.collect.linux;

import org.jspecify.annotations.NullMarked;
