@NullMarked
package org.postern.config;

import org.jspecify.annotations.NullMarked;
