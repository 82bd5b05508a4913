-- 0001_init: the WhatsApp outbox, opt-outs, and statuses that arrive before their
-- message's wamid is known (DESIGN.md sections 3 and 6).

CREATE TABLE whatsapp_messages (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    idempotency_key text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('purchase_order', 'template')),
    -- hash of the canonical request, so a replay with another payload is a 409
    request_hash text NOT NULL,
    recipient_phone text NOT NULL,
    template_name text NOT NULL,
    -- null until resolved from the tenant's settings (purchase orders)
    template_language text,
    template_parameters jsonb NOT NULL,
    -- the validated original request
    payload jsonb NOT NULL,
    -- the sender number, recorded when chosen
    phone_number_id text,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped')),
    wamid text UNIQUE,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    lease_expires_at timestamptz,
    error_code integer,
    error_message text,
    skip_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    delivered_at timestamptz,
    read_at timestamptz,
    failed_at timestamptz,
    UNIQUE (tenant_id, idempotency_key)
);
-- The claim query: due rows still to send.
CREATE INDEX whatsapp_messages_due_idx ON whatsapp_messages (next_attempt_at)
    WHERE status IN ('queued', 'sending');
CREATE INDEX whatsapp_messages_tenant_created_idx ON whatsapp_messages (tenant_id, created_at DESC);
CREATE INDEX whatsapp_messages_status_created_idx ON whatsapp_messages (status, created_at DESC);
CREATE INDEX whatsapp_messages_created_idx ON whatsapp_messages (created_at);

CREATE TABLE whatsapp_opt_outs (
    tenant_id uuid NOT NULL,
    recipient_phone text NOT NULL,
    opted_out_at timestamptz NOT NULL DEFAULT now(),
    source_message_id text,
    PRIMARY KEY (tenant_id, recipient_phone)
);

-- A status webhook can beat the send's own response (the wamid is not stored yet);
-- such statuses wait here and are applied when the wamid lands.
CREATE TABLE whatsapp_pending_statuses (
    wamid text NOT NULL,
    message_id uuid,
    status text NOT NULL,
    status_ts timestamptz NOT NULL,
    error_code integer,
    error_message text,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (wamid, status)
);
