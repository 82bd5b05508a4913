-- 0020_user_phones: the first status of a message that names its user id is a HOT
-- update too (0005 explains why that matters).
--
-- Since 0008 the phone a user id was last seen with (what a STOP from a user known only by
-- user id opts out) was looked up through an index of whatsapp_messages on
-- recipient_user_id. Setting that column, which the first status naming the user does on
-- each message, therefore wrote a new entry into every index of the table: with the
-- insert, the claim and the send's result, the fourth such write of every message.
-- The lookup now has a table of its own, one row per user id, written only when a message
-- names a user id it did not have (an insert for a new user, an update when a newer
-- message names the user); the messages keep their recipient_user_id, unindexed.
-- Retention deletes a row once the message it came from is older than the retention.
CREATE TABLE whatsapp_user_phones (
    user_id text PRIMARY KEY,
    phone text NOT NULL,
    message_created_at timestamptz NOT NULL -- of the newest message that named the user
);

INSERT INTO whatsapp_user_phones (user_id, phone, message_created_at)
SELECT DISTINCT ON (recipient_user_id) recipient_user_id, recipient_phone, created_at
  FROM whatsapp_messages
 WHERE recipient_user_id IS NOT NULL
 ORDER BY recipient_user_id, created_at DESC;

DROP INDEX whatsapp_messages_recipient_user_idx;
