-- 0014_channels: every order reaches its supplier (issue 21). A message row is one
-- delivery attempt of one channel: WhatsApp, or email over SMTP. The rows of one
-- purchase-order event share its order_event_id (the event's, its email and fallback
-- rows', its resends'); follows_id links a row to the one it follows: an email sent
-- because the WhatsApp message failed or was skipped ('fallback'), or a message sent
-- again, maybe to a corrected address ('resend'). 'canceled' ends a message stopped
-- before Graph (or the mail server) accepted it.
ALTER TABLE whatsapp_messages DROP CONSTRAINT whatsapp_messages_status_check;
ALTER TABLE whatsapp_messages ADD CONSTRAINT whatsapp_messages_status_check
    CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped',
                      'canceled'));

ALTER TABLE whatsapp_messages
    ADD COLUMN channel text NOT NULL DEFAULT 'whatsapp' CHECK (channel IN ('whatsapp', 'email')),
    ADD COLUMN recipient_email text,
    ADD COLUMN order_event_id text,
    ADD COLUMN follows_id uuid,
    ADD COLUMN follows_reason text CHECK (follows_reason IN ('fallback', 'resend')),
    ADD CONSTRAINT whatsapp_messages_follows_check
        CHECK ((follows_id IS NULL) = (follows_reason IS NULL));

-- An order's story, and a fallback or resend found by the row it follows.
CREATE INDEX whatsapp_messages_order_event ON whatsapp_messages (tenant_id, order_event_id)
    WHERE order_event_id IS NOT NULL;
CREATE INDEX whatsapp_messages_follows ON whatsapp_messages (follows_id)
    WHERE follows_id IS NOT NULL;

-- A canceled message is final, like failed and skipped: a late report never moves it.
CREATE OR REPLACE FUNCTION whatsapp_status_rank(status text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE status
        WHEN 'queued' THEN 0
        WHEN 'sending' THEN 1
        WHEN 'sent' THEN 2
        WHEN 'delivered' THEN 3
        WHEN 'read' THEN 4
        WHEN 'failed' THEN 100
        WHEN 'skipped' THEN 100
        WHEN 'canceled' THEN 100
    END
$$;
