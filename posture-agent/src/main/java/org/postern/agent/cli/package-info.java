@NullMarked
package org.postern.agent.cli;

import org.jspecify.annotations.NullMarked;
