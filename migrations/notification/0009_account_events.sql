-- 0009_account_events: the account-level webhooks Meta sends besides message statuses
-- (template status, quality and category changes, number quality, account restrictions,
-- capability changes), kept as they came so that the admin can read the history. Meta
-- delivers at least once: a delivery repeated byte for byte has the same digest and is
-- stored once. Retention deletes them with the messages (RETENTION_DAYS).
CREATE TABLE whatsapp_account_events (
    id          bigserial PRIMARY KEY,
    field       text        NOT NULL,
    waba_id     text,
    event_time  timestamptz NOT NULL,  -- entry.time, Meta's clock
    received_at timestamptz NOT NULL DEFAULT now(),
    value       jsonb       NOT NULL,
    digest      bytea       NOT NULL UNIQUE  -- sha256(field, time, value as sent)
);
CREATE INDEX whatsapp_account_events_received_idx ON whatsapp_account_events (received_at);
-- The latest status of each template language, read at start and every few seconds by
-- every instance.
CREATE INDEX whatsapp_account_events_template_status_idx
    ON whatsapp_account_events ((value->>'message_template_name'),
                                (value->>'message_template_language'), event_time DESC, id DESC)
    WHERE field = 'message_template_status_update';
