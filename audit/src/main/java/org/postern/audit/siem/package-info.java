@NullMarked
package org.postern.audit.siem;

import org.jspecify.annotations.NullMarked;
