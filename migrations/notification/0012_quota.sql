-- 0012_quota: each tenant's WhatsApp messages of a month against its plan's quota
-- (issue 20). A message takes a unit before its send and gives it back unless Graph
-- accepts it, so the count is of accepted messages; the take locks the tenant's month
-- row, so any number of workers and instances never overshoot.
CREATE TABLE whatsapp_quota_usage (
    tenant_id uuid    NOT NULL,
    month     date    NOT NULL, -- the first day, in BILLING_TIMEZONE
    used      integer NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (tenant_id, month)
);

-- The month of the unit a message holds: set when its unit is taken, cleared when the
-- unit goes back (a result other than sent), kept when Graph accepted it.
ALTER TABLE whatsapp_messages ADD COLUMN quota_month date;

-- Grants up to want units of quota to a tenant's month: how many it granted (0 when
-- the quota is reached), and the units used before.
CREATE FUNCTION whatsapp_quota_take(t uuid, m date, want integer, quota integer,
                                    OUT granted integer, OUT used_before integer)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO whatsapp_quota_usage (tenant_id, month) VALUES (t, m)
    ON CONFLICT (tenant_id, month) DO NOTHING;
    SELECT u.used INTO used_before FROM whatsapp_quota_usage u
     WHERE u.tenant_id = t AND u.month = m FOR UPDATE;
    granted := least(want, greatest(quota - used_before, 0));
    IF granted > 0 THEN
        UPDATE whatsapp_quota_usage SET used = used + granted
         WHERE tenant_id = t AND month = m;
    END IF;
END $$;
