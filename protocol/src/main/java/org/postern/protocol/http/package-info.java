@NullMarked
package org.postern.protocol.http;

import org.jspecify.annotations.NullMarked;
