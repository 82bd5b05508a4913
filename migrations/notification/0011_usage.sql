-- 0011_usage: what WhatsApp costs each tenant per month (issue 20). A rate card (EUR per
-- delivered message by pricing category and recipient country), the recipient country
-- of a number, the counters one message adds to its tenant's month, and the monthly
-- rollup that retention writes in the statement that deletes the messages, so a month's
-- usage outlives the messages it counts.

-- Each PUT of the card adds a version; the newest is the card. Older ones are the
-- history of who changed the prices and when.
CREATE TABLE whatsapp_rate_cards (
    id bigserial PRIMARY KEY,
    effective_date date NOT NULL,
    source text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL
);
CREATE TABLE whatsapp_rates (
    card_id bigint NOT NULL REFERENCES whatsapp_rate_cards ON DELETE CASCADE,
    category text NOT NULL
        CHECK (category IN ('utility', 'marketing', 'authentication', 'service')),
    -- ISO 3166 alpha-2 of the recipient's number, or '*': every country without a row
    country text NOT NULL CHECK (country ~ '^([A-Z]{2}|\*)$'),
    price_eur numeric(10, 4) NOT NULL CHECK (price_eur >= 0),
    PRIMARY KEY (card_id, category, country)
);

-- Meta's published per-message rates for Spain and for its "Other" market (the '*' row),
-- from its rate card effective 2026-01-01. They are the figures of Meta's USD card: its
-- EUR card was not at hand; PUT /api/v1/admin/whatsapp/rate-card with the EUR figures.
WITH card AS (
    INSERT INTO whatsapp_rate_cards (effective_date, source, created_by)
    VALUES ('2026-01-01',
            'Meta, WhatsApp Business Platform per-message rate card effective 2026-01-01 '
            '(https://developers.facebook.com/docs/whatsapp/pricing): markets Spain (ES) and '
            'Other (*). Figures of the USD card; replace them with the EUR card''s.',
            'migration 0011')
    RETURNING id)
INSERT INTO whatsapp_rates (card_id, category, country, price_eur)
SELECT card.id, r.category, r.country, r.price
  FROM card, (VALUES ('marketing', 'ES', 0.0615), ('utility', 'ES', 0.0200),
                     ('authentication', 'ES', 0.0200), ('marketing', '*', 0.0604),
                     ('utility', '*', 0.0077), ('authentication', '*', 0.0077))
             AS r(category, country, price);

-- The country of an E.164 number by its longest known calling code, '*' when none is
-- known. Meta prices by the recipient's calling code; +1 is the United States and
-- Canada alike (one Meta market, "North America").
CREATE FUNCTION whatsapp_recipient_country(phone text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce((
        SELECT p.country FROM (VALUES
            ('34', 'ES'), ('351', 'PT'), ('33', 'FR'), ('49', 'DE'), ('39', 'IT'),
            ('44', 'GB'), ('353', 'IE'), ('31', 'NL'), ('32', 'BE'), ('41', 'CH'),
            ('43', 'AT'), ('376', 'AD'), ('212', 'MA'), ('1', 'US'), ('52', 'MX'),
            ('54', 'AR'), ('55', 'BR'), ('56', 'CL'), ('57', 'CO'), ('51', 'PE'))
            AS p(prefix, country)
         WHERE phone LIKE '+' || p.prefix || '%'
         ORDER BY length(p.prefix) DESC LIMIT 1), '*')
$$;

-- The counters one message adds to its tenant's month, by what it became:
--   accepted   Graph took it: sent, delivered or read, or failed after Graph gave it a
--              wamid (an asynchronous failure such as 131026)
--   delivered  delivered or read;  read  read;  failed  failed
--   skipped    by skip reason (key)
--   billable   delivered or read with a billed pricing (type regular, or the deprecated
--              billable true without a type), by category (key) and recipient country
--   free       delivered or read with a free pricing type (key: free_customer_service,
--              free_entry_point)
-- Only delivered messages are priced: Meta charges a template message when it is
-- delivered, and a failed one keeps the pricing of its earlier sent status.
CREATE FUNCTION whatsapp_usage_counters(status text, skip_reason text, wamid text,
                                        pricing jsonb, recipient_phone text)
RETURNS TABLE (counter text, key text, country text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'accepted', '', '' WHERE status IN ('sent', 'delivered', 'read')
                                 OR (status = 'failed' AND wamid IS NOT NULL)
    UNION ALL SELECT 'delivered', '', '' WHERE status IN ('delivered', 'read')
    UNION ALL SELECT 'read', '', '' WHERE status = 'read'
    UNION ALL SELECT 'failed', '', '' WHERE status = 'failed'
    UNION ALL SELECT 'skipped', coalesce(skip_reason, 'unknown'), '' WHERE status = 'skipped'
    UNION ALL SELECT 'billable', lower(coalesce(pricing ->> 'category', 'unknown')),
                     whatsapp_recipient_country(recipient_phone)
               WHERE status IN ('delivered', 'read')
                 AND (pricing ->> 'type' = 'regular'
                      OR (pricing ->> 'type' IS NULL AND pricing ->> 'billable' = 'true'))
    UNION ALL SELECT 'free', pricing ->> 'type', ''
               WHERE status IN ('delivered', 'read') AND pricing ->> 'type' LIKE 'free\_%'
$$;

-- The counters of messages retention deleted, per tenant and calendar month of their
-- created_at in BILLING_TIMEZONE. A month's usage is these rows plus the counters of
-- its messages still stored: a message is in exactly one of the two.
CREATE TABLE whatsapp_usage_rollup (
    tenant_id uuid NOT NULL,
    month date NOT NULL, -- the first day
    counter text NOT NULL
        CHECK (counter IN ('accepted', 'delivered', 'read', 'failed', 'skipped', 'billable',
                           'free')),
    key text NOT NULL,     -- skip reason, pricing category or free type; '' for the others
    country text NOT NULL, -- billable: the recipient's country ('*' unknown); else ''
    n bigint NOT NULL CHECK (n >= 0),
    PRIMARY KEY (month, tenant_id, counter, key, country)
);
