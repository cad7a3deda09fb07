@NullMarked
package org.postern.pki.est;

import org.jspecify.annotations.NullMarked;
