-- 0005_hot_status_updates: a message's status changes become HOT updates.
--
-- PostgreSQL writes a changed row in place on its page, with no new index entries (a
-- heap-only tuple), only when no column that an index uses changes, predicates of
-- partial indexes included. status was in two index definitions (the claim index's
-- predicate and the listing index), so each of a message's status changes (sent,
-- delivered, read) wrote a new entry into every index of the table: most of
-- PostgreSQL's time in benchmark 3 of docs/BENCHMARKS.md.
--
-- From here on, the queue is next_attempt_at alone: it is set exactly while a message
-- waits to be sent or is being sent, and NULL once the message is final (sent,
-- delivered, read, failed, skipped). A queued message's next_attempt_at is when it is
-- due; a claimed (sending) one's is the end of its lease, when another worker may take
-- it over. The claim index is on that column, for the rows that have it, and a CHECK
-- keeps the two columns agreeing. Listing by status now walks the tenant's or the
-- table's created_at index and filters.
--
-- fillfactor leaves room on each page for the versions the statuses write, since a HOT
-- update needs space on the row's own page.

-- The default stays now(): the default row is queued and due at once.
ALTER TABLE whatsapp_messages ALTER COLUMN next_attempt_at DROP NOT NULL;

UPDATE whatsapp_messages SET next_attempt_at = NULL
 WHERE status NOT IN ('queued', 'sending');
UPDATE whatsapp_messages SET next_attempt_at = greatest(next_attempt_at, lease_expires_at)
 WHERE status = 'sending' AND lease_expires_at IS NOT NULL;

ALTER TABLE whatsapp_messages ADD CONSTRAINT whatsapp_messages_queue_check
    CHECK ((next_attempt_at IS NOT NULL) = (status IN ('queued', 'sending')));

DROP INDEX whatsapp_messages_due_idx;
CREATE INDEX whatsapp_messages_due_idx ON whatsapp_messages (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
DROP INDEX whatsapp_messages_status_created_idx;

ALTER TABLE whatsapp_messages SET (fillfactor = 70);
