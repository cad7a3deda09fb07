@NullMarked
package org.postern.pki.registry;

import org.jspecify.annotations.NullMarked;
