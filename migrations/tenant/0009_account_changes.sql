-- 0009_account_changes: changes of the WhatsApp account told by notification-service
-- (POST /api/v1/internal/whatsapp/account-events, issue 22), kept only for the console's
-- live stream (console_events.c): a number's quality, a template's status or quality, the
-- account's pause and resume. No tenant's: admins' streams only.
--
-- Ids come from the audit log's sequence, so the stream's one position over the audit
-- log covers these rows too. The stream needs a row for seconds; the insert deletes those
-- older than a day.

CREATE TABLE whatsapp_account_changes (
    id bigint PRIMARY KEY DEFAULT nextval('whatsapp_assignment_audit_id_seq'),
    kind text NOT NULL CHECK (kind IN ('number_quality', 'template_status', 'template_quality',
                                       'paused', 'resumed')),
    detail jsonb NOT NULL CHECK (jsonb_typeof(detail) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whatsapp_account_changes_created_idx ON whatsapp_account_changes (created_at);

CREATE TRIGGER whatsapp_account_changes_notify AFTER INSERT ON whatsapp_account_changes
    FOR EACH STATEMENT EXECUTE FUNCTION whatsapp_audit_notify();
