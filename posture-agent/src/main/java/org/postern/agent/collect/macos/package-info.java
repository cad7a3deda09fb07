@NullMarked
package org.postern.agent.collect.macos;

import org.jspecify.annotations.NullMarked;
