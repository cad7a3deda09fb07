@NullMarked
package org.postern.pki;

import org.jspecify.annotations.NullMarked;
