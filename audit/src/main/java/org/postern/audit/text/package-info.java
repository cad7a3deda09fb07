/**
 * Text a peer chose (a CONNECT target, a certificate subject), made safe to show a person:
 * {@link org.postern.audit.text.TerminalText} turns every character a terminal would act on, or that hides or
 * reorders text, into a visible escape. Used by the {@code postern} command tables and by the
 * CSV and CEF exports.
 */
@NullMarked
package org.postern.audit.text;

import org.jspecify.annotations.NullMarked;
