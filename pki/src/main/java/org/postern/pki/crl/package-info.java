@NullMarked
package org.postern.pki.crl;

import org.jspecify.annotations.NullMarked;
