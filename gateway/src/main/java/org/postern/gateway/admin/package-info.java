@NullMarked
package org.postern.gateway.admin;

import org.jspecify.annotations.NullMarked;
