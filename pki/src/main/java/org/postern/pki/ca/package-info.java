@NullMarked
package org.postern.pki.ca;

import org.jspecify.annotations.NullMarked;
