/** The remote-work charter: serving its text to enrolled devices and recording their acceptances. */
@NullMarked
package org.postern.gateway.charter;

import org.jspecify.annotations.NullMarked;
