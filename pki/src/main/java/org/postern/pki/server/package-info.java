@NullMarked
package org.postern.pki.server;

import org.jspecify.annotations.NullMarked;
