-- 0003_webhook_indexes: what the webhook and the retention job look rows up by.

-- An inbound STOP names the receiving number only; its tenant is the one that last
-- sent from that number.
CREATE INDEX whatsapp_messages_phone_created_idx
    ON whatsapp_messages (phone_number_id, created_at DESC)
    WHERE phone_number_id IS NOT NULL;

-- Pending statuses nobody claimed are pruned by age.
CREATE INDEX whatsapp_pending_statuses_received_idx
    ON whatsapp_pending_statuses (received_at);
