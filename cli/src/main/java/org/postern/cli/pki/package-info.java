@NullMarked
package org.postern.cli.pki;

import org.jspecify.annotations.NullMarked;
