-- 0015_order_callbacks: every change of a purchase order's delivery state is posted to
-- the order service (ORDER_CALLBACK_URL, issue 21) from this durable queue.
--
-- A trigger on whatsapp_messages writes one row per change, in the transaction that
-- makes the change, so a change and its callback commit or vanish together and the send
-- path pays one plain INSERT (nothing at all while callbacks are off: the service
-- disables the triggers at start then, order_callbacks_switch()). The trigger takes no
-- lock of the order: rows only get their place in their order's sequence when the
-- deliverer first sees them committed (order_callbacks_sequence()), so the sequence is
-- the order the changes committed in, and the deliverer posts one order's rows strictly
-- by it, one order at a time per instance (its row in order_callback_orders is leased).

CREATE TABLE order_callbacks (
    id bigserial PRIMARY KEY,
    -- sent as Idempotency-Key and callback_id: the same on every attempt
    idempotency_key uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL,
    event_id text NOT NULL,
    message_id uuid NOT NULL,
    channel text NOT NULL,
    status text NOT NULL,
    reason text,
    error_code integer,
    error_message text,
    follows_id uuid,
    follows_reason text,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- NULL until sequenced: the order's row and the place in it (1, 2, ...)
    order_id bigint,
    sequence bigint,
    attempts integer NOT NULL DEFAULT 0,
    last_error text
);
CREATE INDEX order_callbacks_unsequenced ON order_callbacks (id) WHERE sequence IS NULL;
CREATE INDEX order_callbacks_order ON order_callbacks (order_id, sequence)
    WHERE sequence IS NOT NULL;

-- One row per order that ever had a callback: its sequence so far, what is done (posted,
-- or dropped after ORDER_CALLBACK_MAX_AGE_SECONDS), and the queue: next_attempt_at is
-- set while rows wait (when due, or the lease's end while an instance posts them).
CREATE TABLE order_callback_orders (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL,
    event_id text NOT NULL,
    last_sequence bigint NOT NULL DEFAULT 0,
    done_sequence bigint NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    lease_owner text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, event_id)
);
CREATE INDEX order_callback_orders_due ON order_callback_orders (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;

-- The changes: a purchase-order row created (queued, or already skipped; a fallback row
-- is first announced as 'fallback'), and its status reaching sent, delivered, read,
-- failed, skipped or canceled. queued <-> sending (claims, retries) is not a change of
-- the order's state.
CREATE FUNCTION order_callbacks_enqueue() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.follows_reason = 'fallback' THEN
        INSERT INTO order_callbacks (tenant_id, event_id, message_id, channel, status,
                                     follows_id, follows_reason)
        VALUES (NEW.tenant_id, coalesce(NEW.order_event_id, NEW.idempotency_key), NEW.id,
                NEW.channel, 'fallback', NEW.follows_id, NEW.follows_reason);
        IF NEW.status IN ('queued', 'sending') THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO order_callbacks (tenant_id, event_id, message_id, channel, status, reason,
                                 error_code, error_message, follows_id, follows_reason)
    VALUES (NEW.tenant_id, coalesce(NEW.order_event_id, NEW.idempotency_key), NEW.id,
            NEW.channel, NEW.status,
            CASE WHEN NEW.status = 'skipped' THEN NEW.skip_reason END,
            CASE WHEN NEW.status IN ('failed', 'canceled') THEN NEW.error_code END,
            CASE WHEN NEW.status IN ('failed', 'canceled') THEN NEW.error_message END,
            NEW.follows_id, NEW.follows_reason);
    RETURN NULL;
END
$$;

CREATE TRIGGER order_callbacks_created AFTER INSERT ON whatsapp_messages
    FOR EACH ROW WHEN (NEW.kind = 'purchase_order')
    EXECUTE FUNCTION order_callbacks_enqueue();
CREATE TRIGGER order_callbacks_changed AFTER UPDATE OF status ON whatsapp_messages
    FOR EACH ROW WHEN (NEW.kind = 'purchase_order' AND OLD.status IS DISTINCT FROM NEW.status
                       AND NEW.status IN ('sent', 'delivered', 'read', 'failed', 'skipped',
                                          'canceled'))
    EXECUTE FUNCTION order_callbacks_enqueue();
-- Off until an instance starts with ORDER_CALLBACK_URL.
ALTER TABLE whatsapp_messages DISABLE TRIGGER order_callbacks_created;
ALTER TABLE whatsapp_messages DISABLE TRIGGER order_callbacks_changed;

-- Turns both triggers on or off; true when that changed anything. Only an actual change
-- takes the table's lock (briefly, at start; at most 5 s of waiting, then an error).
CREATE FUNCTION order_callbacks_switch(enable boolean) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    changed boolean := false;
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['order_callbacks_created', 'order_callbacks_changed'] LOOP
        IF EXISTS (SELECT 1 FROM pg_trigger
                    WHERE tgrelid = 'whatsapp_messages'::regclass AND tgname = t
                      AND (tgenabled <> 'D') IS DISTINCT FROM enable) THEN
            SET LOCAL lock_timeout = '5s';
            EXECUTE format('ALTER TABLE whatsapp_messages %s TRIGGER %I',
                           CASE WHEN enable THEN 'ENABLE' ELSE 'DISABLE' END, t);
            changed := true;
        END IF;
    END LOOP;
    RETURN changed;
END
$$;

-- Gives up to max_rows committed, unsequenced callbacks their order's next places, by
-- id within what it sees, and makes their orders due. One instance at a time (the
-- others return -1 at once); returns how many it sequenced.
CREATE FUNCTION order_callbacks_sequence(max_rows integer) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    done integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('order_callbacks_sequence')) THEN
        RETURN -1;
    END IF;
    WITH fresh AS (
        SELECT f.id, f.tenant_id, f.event_id,
               row_number() OVER (PARTITION BY f.tenant_id, f.event_id ORDER BY f.id) AS k
          FROM (SELECT c.id, c.tenant_id, c.event_id FROM order_callbacks c
                 WHERE c.sequence IS NULL ORDER BY c.id LIMIT max_rows) f),
    counts AS (
        SELECT fr.tenant_id, fr.event_id, max(fr.k) AS added FROM fresh fr GROUP BY 1, 2),
    orders AS (
        INSERT INTO order_callback_orders AS o (tenant_id, event_id, last_sequence,
                                                next_attempt_at)
        SELECT ct.tenant_id, ct.event_id, ct.added, now() FROM counts ct
         ORDER BY ct.tenant_id, ct.event_id
        ON CONFLICT (tenant_id, event_id) DO UPDATE
           SET last_sequence = o.last_sequence + EXCLUDED.last_sequence,
               next_attempt_at = coalesce(o.next_attempt_at, now()), updated_at = now()
        RETURNING o.id, o.tenant_id, o.event_id, o.last_sequence)
    UPDATE order_callbacks c
       SET order_id = od.id, sequence = od.last_sequence - ct.added + fr.k
      FROM fresh fr
      JOIN counts ct ON ct.tenant_id = fr.tenant_id AND ct.event_id = fr.event_id
      JOIN orders od ON od.tenant_id = fr.tenant_id AND od.event_id = fr.event_id
     WHERE c.id = fr.id;
    GET DIAGNOSTICS done = ROW_COUNT;
    RETURN done;
END
$$;
