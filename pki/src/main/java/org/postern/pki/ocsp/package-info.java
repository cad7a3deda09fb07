@NullMarked
package org.postern.pki.ocsp;

import org.jspecify.annotations.NullMarked;
