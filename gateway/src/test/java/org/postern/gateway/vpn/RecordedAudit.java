package org.postern.gateway.vpn;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.postern.audit.AuditEvent;
import org.postern.audit.AuditSink;

/** An audit trail that keeps every record in memory, so a test can check what was audited. */
final class RecordedAudit implements AuditSink {
    final List<AuditEvent> records = new CopyOnWriteArrayList<>();

    @Override
    public void record(AuditEvent e) {
        records.add(e);
    }

    @Override
    public void close() {
    }
}
