-- 0015_order_callbacks: every change of a purchase order's delivery state is posted to
-- the order service (ORDER_CALLBACK_URL, issue 21) from this durable queue.
--
-- Triggers on whatsapp_messages write one row per change into an inbox, in the
-- transaction that makes the change, so a change and its callback commit or vanish
-- together and the send path pays one heap insert (nothing at all while callbacks are
-- off: the service disables the triggers at start then, order_callbacks_switch()). They
-- take no lock of the order: changes only get their place in their order's sequence
-- when the deliverer first sees them committed (order_callbacks_sequence()), so the
-- sequence is the order the changes committed in, and the deliverer posts one order's
-- callbacks strictly by it, one order at a time (its row in order_callback_orders is
-- leased to one instance).

-- What the triggers write: the change alone, in a table without any index (a heap
-- insert is the whole cost), drained at once by the sequencer. id is the order the
-- changes were made in (a later change of one message always has a greater id: it waits
-- for the row lock of the earlier one's transaction).
CREATE SEQUENCE order_callback_inbox_id;
CREATE TABLE order_callback_inbox (
    id bigint NOT NULL DEFAULT nextval('order_callback_inbox_id'),
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
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The sequenced callbacks of each order, waiting to be posted (deleted once posted).
CREATE TABLE order_callbacks (
    order_id bigint NOT NULL,
    sequence bigint NOT NULL,
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
    at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    PRIMARY KEY (order_id, sequence)
);

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
-- the order's state. An INSERT is one row (intake): a row trigger. An UPDATE is a
-- batch (the writer's results, a webhook's statuses): one INSERT per statement from
-- its transition tables costs a third of a row trigger's per row (docs/decisions.md).
CREATE FUNCTION order_callbacks_created() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.follows_reason = 'fallback' THEN
        INSERT INTO order_callback_inbox (tenant_id, event_id, message_id, channel, status,
                                          follows_id, follows_reason)
        VALUES (NEW.tenant_id, coalesce(NEW.order_event_id, NEW.idempotency_key), NEW.id,
                NEW.channel, 'fallback', NEW.follows_id, NEW.follows_reason);
        IF NEW.status IN ('queued', 'sending') THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO order_callback_inbox (tenant_id, event_id, message_id, channel, status, reason,
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

CREATE FUNCTION order_callbacks_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO order_callback_inbox (tenant_id, event_id, message_id, channel, status, reason,
                                      error_code, error_message, follows_id, follows_reason)
    SELECT n.tenant_id, coalesce(n.order_event_id, n.idempotency_key), n.id, n.channel,
           n.status,
           CASE WHEN n.status = 'skipped' THEN n.skip_reason END,
           CASE WHEN n.status IN ('failed', 'canceled') THEN n.error_code END,
           CASE WHEN n.status IN ('failed', 'canceled') THEN n.error_message END,
           n.follows_id, n.follows_reason
      FROM order_callbacks_new n JOIN order_callbacks_old o ON o.id = n.id
     WHERE n.kind = 'purchase_order' AND o.status IS DISTINCT FROM n.status
       AND n.status IN ('sent', 'delivered', 'read', 'failed', 'skipped', 'canceled')
     ORDER BY n.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER order_callbacks_created AFTER INSERT ON whatsapp_messages
    FOR EACH ROW WHEN (NEW.kind = 'purchase_order')
    EXECUTE FUNCTION order_callbacks_created();
CREATE TRIGGER order_callbacks_changed AFTER UPDATE ON whatsapp_messages
    REFERENCING OLD TABLE AS order_callbacks_old NEW TABLE AS order_callbacks_new
    FOR EACH STATEMENT EXECUTE FUNCTION order_callbacks_changed();
-- Off until an instance starts with ORDER_CALLBACK_URL (a disabled trigger costs
-- nothing: not even the transition tables are kept).
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

-- Moves up to max_rows committed changes from the inbox to their orders' next places
-- (by id within what it sees) and makes their orders due. One instance at a time (the
-- others return -1 at once); returns how many it moved.
CREATE FUNCTION order_callbacks_sequence(max_rows integer) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    done integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('order_callbacks_sequence')) THEN
        RETURN -1;
    END IF;
    WITH taken AS (
        DELETE FROM order_callback_inbox i
         WHERE i.ctid = ANY (ARRAY(SELECT b.ctid FROM order_callback_inbox b
                                    ORDER BY b.id LIMIT max_rows))
        RETURNING i.*),
    fresh AS (
        SELECT t.*, row_number() OVER (PARTITION BY t.tenant_id, t.event_id ORDER BY t.id) AS k
          FROM taken t),
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
    INSERT INTO order_callbacks (order_id, sequence, tenant_id, event_id, message_id, channel,
                                 status, reason, error_code, error_message, follows_id,
                                 follows_reason, at)
    SELECT od.id, od.last_sequence - ct.added + fr.k, fr.tenant_id, fr.event_id, fr.message_id,
           fr.channel, fr.status, fr.reason, fr.error_code, fr.error_message, fr.follows_id,
           fr.follows_reason, fr.at
      FROM fresh fr
      JOIN counts ct ON ct.tenant_id = fr.tenant_id AND ct.event_id = fr.event_id
      JOIN orders od ON od.tenant_id = fr.tenant_id AND od.event_id = fr.event_id;
    GET DIAGNOSTICS done = ROW_COUNT;
    RETURN done;
END
$$;
