-- 0002_status_order: the one-way order of a message's status, shared by the webhook's
-- status updates and the sender's send results, so that neither a late 'sent' nor a
-- duplicate ever moves a message backwards.

-- queued < sending < sent < delivered < read; failed and skipped are terminal.
CREATE FUNCTION whatsapp_status_rank(status text) RETURNS int
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
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

-- The status after `incoming` is reported for a message whose status is `current`:
-- a terminal status never changes; 'failed' wins over everything except 'read' (a read
-- message was delivered, whatever a later error says); anything else only moves forward.
-- A NULL incoming status changes nothing.
CREATE FUNCTION whatsapp_status_merge(current text, incoming text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN incoming IS NULL THEN current
        WHEN current IN ('failed', 'skipped') THEN current
        WHEN incoming = 'failed' THEN CASE WHEN current = 'read' THEN current ELSE incoming END
        WHEN whatsapp_status_rank(incoming) > whatsapp_status_rank(current) THEN incoming
        ELSE current
    END
$$;
