@NullMarked
package org.postern.agent.enroll;

import org.jspecify.annotations.NullMarked;
