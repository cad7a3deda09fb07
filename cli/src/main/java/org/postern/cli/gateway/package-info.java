@NullMarked
package org.postern.cli.gateway;

import org.jspecify.annotations.NullMarked;
