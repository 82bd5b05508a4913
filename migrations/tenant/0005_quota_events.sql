-- 0005_quota_events: notification-service's quota crossings in the audit log (issue 20).
-- quota_warning (80%) and quota_reached (100%) of a tenant's monthly WhatsApp quota, told
-- by POST /api/v1/internal/tenants/{id}/quota-events. reason starts with the month
-- ("2026-12: 400 of 500"); the index keeps one row per tenant, event and month, however
-- often or by however many instances it is told.

ALTER TABLE whatsapp_assignment_audit
    DROP CONSTRAINT whatsapp_assignment_audit_action_check,
    ADD CONSTRAINT whatsapp_assignment_audit_action_check
        CHECK (action IN ('assign', 'unassign', 'plan_change', 'quota_override',
                          'quota_warning', 'quota_reached'));

CREATE UNIQUE INDEX whatsapp_assignment_audit_quota_event_key
    ON whatsapp_assignment_audit (tenant_id, action, left(reason, 7))
    WHERE action IN ('quota_warning', 'quota_reached');
