@NullMarked
package org.postern.agent.collect.osquery;

import org.jspecify.annotations.NullMarked;
