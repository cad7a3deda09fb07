@NullMarked
package org.postern.pki.ssh;

import org.jspecify.annotations.NullMarked;
