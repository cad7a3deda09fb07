@NullMarked
package org.postern.audit;

import org.jspecify.annotations.NullMarked;
