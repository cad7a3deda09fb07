@NullMarked
package org.postern.demo;

import org.jspecify.annotations.NullMarked;
