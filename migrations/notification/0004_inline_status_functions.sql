-- 0004_inline_status_functions: whatsapp_status_rank() of 0002, same answers, no longer
-- STRICT. PostgreSQL inlines a SQL function into the statement that calls it only when
-- it can prove the same NULL behaviour, and it cannot for a STRICT function whose body
-- is a CASE; so every call ran as a SQL function of its own, several per row in the
-- outbox's result update and the webhook's status update (fmgr_sql in a profile of
-- benchmark 4). A CASE of NULL is NULL, so nothing changes but the speed.
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
    END
$$;
