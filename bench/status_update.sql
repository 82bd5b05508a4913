-- status_update.sql - pgbench script: the row work of one webhook POST of benchmark 4,
-- 100 messages found by wamid and moved to 'delivered' in one statement and one commit,
-- as its ceiling (same table, same indexes, same durability). :bodies is set by -D.
\set b random(0, :bodies - 1)
UPDATE whatsapp_messages
SET status = 'delivered', delivered_at = now(), updated_at = now()
WHERE wamid IN (SELECT 'wamid.bench.' || g FROM generate_series(:b * 100 + 1, :b * 100 + 100) g);
