@NullMarked
package org.postern.agent.session;

import org.jspecify.annotations.NullMarked;
