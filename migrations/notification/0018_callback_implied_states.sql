-- 0018_callback_implied_states: an order's callbacks tell every state of the way out,
-- even the ones its message passed in one step.
--
-- Statuses of one message can land in one statement: Meta's delivered and read in one
-- webhook POST, or read before delivered (delivered is then older and ignored), or a
-- status that came before the send's own answer. The row then goes from sent to read (or
-- from sending to delivered) in one UPDATE, and 0015's trigger told only where it ended.
-- A read message was delivered and a delivered one was sent, as Meta documents, so the
-- trigger now tells the states in between too, in their order, before the last one: the
-- order service always sees queued, sent, delivered, read.
CREATE OR REPLACE FUNCTION order_callbacks_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO order_callback_inbox (tenant_id, event_id, message_id, channel, status, reason,
                                      error_code, error_message, follows_id, follows_reason)
    SELECT n.tenant_id, coalesce(n.order_event_id, n.idempotency_key), n.id, n.channel,
           s.status,
           CASE WHEN s.status = 'skipped' THEN n.skip_reason END,
           CASE WHEN s.status IN ('failed', 'canceled') THEN n.error_code END,
           CASE WHEN s.status IN ('failed', 'canceled') THEN n.error_message END,
           n.follows_id, n.follows_reason
      FROM order_callbacks_new n JOIN order_callbacks_old o ON o.id = n.id
     CROSS JOIN LATERAL (
           -- on the way out (queued, sending, sent, delivered, read): each state passed
           SELECT way.status, way.step
             FROM (VALUES ('sent', 1), ('delivered', 2), ('read', 3)) AS way (status, step)
            WHERE o.status IN ('queued', 'sending', 'sent', 'delivered')
              AND n.status IN ('sent', 'delivered', 'read')
              AND way.step > CASE o.status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 ELSE 0 END
              AND way.step <= CASE n.status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 ELSE 3 END
           UNION ALL
           -- any other change: where it ended
           SELECT n.status, 0
            WHERE NOT (o.status IN ('queued', 'sending', 'sent', 'delivered')
                       AND n.status IN ('sent', 'delivered', 'read'))) AS s
     WHERE n.kind = 'purchase_order' AND o.status IS DISTINCT FROM n.status
       AND n.status IN ('sent', 'delivered', 'read', 'failed', 'skipped', 'canceled')
     ORDER BY n.id, s.step;
    RETURN NULL;
END
$$;
