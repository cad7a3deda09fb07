@NullMarked
package org.postern.agent.socks;

import org.jspecify.annotations.NullMarked;
