package org.postern.audit.index;

import java.io.IOException;

/**
 * The trail no longer holds, at an index entry's place, the record the index names: the trail was
 * replaced, cut or rewritten since it was indexed. The index is marked for a rebuild at the next
 * {@link AuditIndex#catchUp()}; nothing from that place is shown.
 */
public final class StaleIndexException extends IOException {
    StaleIndexException(String message) {
        super(message);
    }
}
