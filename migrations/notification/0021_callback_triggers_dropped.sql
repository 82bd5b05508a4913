-- 0021_callback_triggers_dropped: while order callbacks are off, their triggers do not
-- exist, instead of existing disabled.
--
-- 0015 assumed a disabled trigger costs nothing. It does not for the statement trigger:
-- PostgreSQL decides whether an UPDATE keeps transition tables from the triggers the
-- table has, enabled or not (SetTriggerFlags in its trigger.c), so every UPDATE of
-- whatsapp_messages copied each old and each new row into two tuplestores that nothing
-- read: a quarter of a plain 20,000-row UPDATE's time, on every claim, result and status.
-- order_callbacks_switch() now creates both triggers when callbacks go on and drops them
-- when they go off; "on" is "the triggers exist".

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_trigger
                WHERE tgrelid = 'whatsapp_messages'::regclass
                  AND tgname IN ('order_callbacks_created', 'order_callbacks_changed')
                  AND tgenabled = 'D') THEN
        DROP TRIGGER IF EXISTS order_callbacks_created ON whatsapp_messages;
        DROP TRIGGER IF EXISTS order_callbacks_changed ON whatsapp_messages;
    END IF;
END
$$;

-- How many of the two triggers exist.
CREATE FUNCTION order_callbacks_triggers() RETURNS integer
LANGUAGE sql STABLE
AS $$
    SELECT count(*)::integer FROM pg_trigger
     WHERE tgrelid = 'whatsapp_messages'::regclass
       AND tgname IN ('order_callbacks_created', 'order_callbacks_changed')
$$;

-- Creates or drops both triggers; true when that changed anything. Only an actual change
-- takes the table's lock (briefly, at start; at most 5 s of waiting, then an error), and
-- the state is read again under it, so instances starting together change it once.
CREATE OR REPLACE FUNCTION order_callbacks_switch(enable boolean) RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    wanted integer := CASE WHEN enable THEN 2 ELSE 0 END;
BEGIN
    IF order_callbacks_triggers() = wanted THEN
        RETURN false;
    END IF;
    SET LOCAL lock_timeout = '5s';
    LOCK TABLE whatsapp_messages IN SHARE ROW EXCLUSIVE MODE;
    IF order_callbacks_triggers() = wanted THEN
        RETURN false;
    END IF;
    DROP TRIGGER IF EXISTS order_callbacks_created ON whatsapp_messages;
    DROP TRIGGER IF EXISTS order_callbacks_changed ON whatsapp_messages;
    IF enable THEN
        CREATE TRIGGER order_callbacks_created AFTER INSERT ON whatsapp_messages
            FOR EACH ROW WHEN (NEW.kind = 'purchase_order')
            EXECUTE FUNCTION order_callbacks_created();
        CREATE TRIGGER order_callbacks_changed AFTER UPDATE ON whatsapp_messages
            REFERENCING OLD TABLE AS order_callbacks_old NEW TABLE AS order_callbacks_new
            FOR EACH STATEMENT EXECUTE FUNCTION order_callbacks_changed();
    END IF;
    RETURN true;
END
$$;
