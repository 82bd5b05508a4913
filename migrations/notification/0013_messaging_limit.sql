-- 0013_messaging_limit: the business portfolio's messaging limit (unique recipients per
-- rolling 24 h, shared by every number of the account) shared fairly between tenants
-- (issue 20). A message to a recipient the account has not reached in the last 24 h
-- takes a place before its send and gives it back unless Graph accepts it; the take
-- locks one row, so any number of workers and instances never pass the limit.

-- Each recipient the account reached in the last 24 h: the tenant and the message that
-- made it new in the window, and its last send. Rows older than 24 h are deleted by
-- the next take.
CREATE TABLE whatsapp_reach (
    recipient_phone text        PRIMARY KEY,
    tenant_id       uuid        NOT NULL,
    message_id      uuid,
    reached_at      timestamptz NOT NULL
);
CREATE INDEX whatsapp_reach_reached_at ON whatsapp_reach (reached_at);
CREATE INDEX whatsapp_reach_tenant ON whatsapp_reach (tenant_id);

-- The limit as Meta last reported it (a phone-number read, a business_capability_update
-- webhook) to any instance: null while unknown, 0 when unlimited. Every take locks
-- this one row, so takes of the whole account go one at a time.
CREATE TABLE whatsapp_messaging_limit (
    one         boolean     PRIMARY KEY DEFAULT true CHECK (one),
    reported    integer     CHECK (reported >= 0),
    source      text,
    reported_at timestamptz
);
INSERT INTO whatsapp_messaging_limit (one) VALUES (true);

-- Set when a message took a new recipient's place; cleared by its result (the place
-- stays when Graph accepted it, else it goes back).
ALTER TABLE whatsapp_messages ADD COLUMN reach_taken boolean NOT NULL DEFAULT false;

-- Takes places for a batch of messages, in the order given: a recipient reached in the
-- last 24 h costs nothing (its last send moves on); a new one takes a place while the
-- account has fewer than lim, and, once the account has lim - share or more, only for a
-- tenant with fewer than share of them: the last share places are kept for the tenants
-- under their share. Answers, per message, whether it may go and whether it took a
-- new place, with the account's count so far and the milliseconds until its oldest
-- place frees (null when it has none).
CREATE FUNCTION whatsapp_reach_take(tenants uuid[], recipients text[], ids uuid[],
                                    lim integer, share integer)
RETURNS TABLE (message_id uuid, granted boolean, taken boolean, used integer,
               frees_in_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n_used integer;
    seen uuid[] := '{}';
    counts integer[] := '{}';
    k integer;
    t_used integer;
    took uuid[] := '{}';
BEGIN
    PERFORM 1 FROM whatsapp_messaging_limit FOR UPDATE;
    DELETE FROM whatsapp_reach r WHERE r.reached_at < now() - interval '24 hours';
    SELECT count(*), (extract(epoch FROM min(r.reached_at) + interval '24 hours' - now())
                      * 1000)::bigint
      INTO n_used, frees_in_ms FROM whatsapp_reach r;
    FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
        message_id := ids[i];
        taken := false;
        UPDATE whatsapp_reach r SET reached_at = now() WHERE r.recipient_phone = recipients[i];
        IF FOUND THEN
            granted := true;
        ELSE
            k := array_position(seen, tenants[i]);
            IF k IS NULL THEN
                SELECT count(*) INTO t_used FROM whatsapp_reach r WHERE r.tenant_id = tenants[i];
                seen := seen || tenants[i];
                counts := counts || t_used;
                k := array_length(seen, 1);
            END IF;
            granted := n_used < lim AND (n_used < lim - share OR counts[k] < share);
            IF granted THEN
                INSERT INTO whatsapp_reach VALUES (recipients[i], tenants[i], ids[i], now());
                n_used := n_used + 1;
                counts[k] := counts[k] + 1;
                taken := true;
                took := took || ids[i];
            END IF;
        END IF;
        used := n_used;
        RETURN NEXT;
    END LOOP;
    UPDATE whatsapp_messages m SET reach_taken = true WHERE m.id = ANY (took);
END $$;
