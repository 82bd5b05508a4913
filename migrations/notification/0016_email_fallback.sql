-- 0016_email_fallback: a purchase order whose WhatsApp message ends failed or skipped
-- goes by email when its event gave an address (issue 21). The email row is made in the
-- same transaction as the status that calls for it, whatever wrote that status (the
-- sender, a webhook's asynchronous failure, the TTL), and at most once per order: the
-- order's one email row, whether made here or as the second channel of an order sent
-- both ways (outbox). Whether it goes out is the sender's decision (PO_EMAIL_FALLBACK,
-- the tenant's channels); a fallback not wanted ends skipped and says so. Workers find
-- the row at their next look (at least every second): no NOTIFY, whose commit-time lock
-- would serialize the writes that end messages.
CREATE FUNCTION whatsapp_email_fallback() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    order_id text := coalesce(NEW.order_event_id, NEW.idempotency_key);
BEGIN
    IF EXISTS (SELECT 1 FROM whatsapp_messages e
                WHERE e.tenant_id = NEW.tenant_id AND e.order_event_id = order_id
                  AND e.channel = 'email') THEN
        RETURN NULL;
    END IF;
    INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,
                                   recipient_phone, template_name, template_language,
                                   template_parameters, payload, status, next_attempt_at,
                                   channel, recipient_email, order_event_id, follows_id,
                                   follows_reason)
    VALUES (gen_random_uuid(), NEW.tenant_id, order_id || '#email', 'purchase_order',
            NEW.request_hash, NEW.recipient_phone, NEW.template_name, NEW.template_language,
            '[]', NEW.payload, 'queued', now(), 'email', NEW.payload ->> 'supplier_email',
            order_id, NEW.id, 'fallback')
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER whatsapp_email_fallback
    AFTER UPDATE OF status ON whatsapp_messages
    FOR EACH ROW
    WHEN (NEW.status IN ('failed', 'skipped') AND OLD.status IS DISTINCT FROM NEW.status
          AND NEW.channel = 'whatsapp' AND NEW.kind = 'purchase_order'
          AND NEW.payload ? 'supplier_email')
    EXECUTE FUNCTION whatsapp_email_fallback();

-- Intake stores an order skipped at once when WhatsApp is off for the whole platform.
CREATE TRIGGER whatsapp_email_fallback_at_intake
    AFTER INSERT ON whatsapp_messages
    FOR EACH ROW
    WHEN (NEW.status IN ('failed', 'skipped') AND NEW.channel = 'whatsapp'
          AND NEW.kind = 'purchase_order' AND NEW.payload ? 'supplier_email')
    EXECUTE FUNCTION whatsapp_email_fallback();
