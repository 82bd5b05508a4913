-- 0019_status_updates_hot_again: a message's delivered and read are HOT updates again
-- (0005 explains why that matters).
--
-- 0008's index of the user ids that statuses named had updated_at as its second key,
-- and every status change sets updated_at, so since then no update of whatsapp_messages
-- was HOT: each wrote a new entry into every index of the table, and in benchmark 3
-- PostgreSQL spent its time there. The phone a user id was last seen with is now the one
-- of its newest message (created_at, which never changes).
DROP INDEX whatsapp_messages_recipient_user_idx;
CREATE INDEX whatsapp_messages_recipient_user_idx
    ON whatsapp_messages (recipient_user_id, created_at DESC)
    WHERE recipient_user_id IS NOT NULL;
