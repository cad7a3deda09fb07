@NullMarked
package org.postern.audit.trail;

import org.jspecify.annotations.NullMarked;
