@NullMarked
package org.postern.gateway.session;

import org.jspecify.annotations.NullMarked;
