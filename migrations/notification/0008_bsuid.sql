-- 0008_bsuid: business-scoped user ids (BSUID). Since 2026 Meta may name a WhatsApp user
-- by a user_id (statuses: recipient_user_id; inbound messages: from_user_id) and, for
-- users with usernames, omit the phone number. Each message keeps the user id its
-- statuses named, so that a STOP from a user known only by user id opts out the phone
-- that user id was last seen with.
ALTER TABLE whatsapp_messages ADD COLUMN recipient_user_id text;
ALTER TABLE whatsapp_pending_statuses ADD COLUMN recipient_user_id text;
CREATE INDEX whatsapp_messages_recipient_user_idx
    ON whatsapp_messages (recipient_user_id, updated_at DESC)
    WHERE recipient_user_id IS NOT NULL;
