-- 0007_console_sign_in: one-time sign-in links and the console's sessions (issue 22), and
-- a wake-up for the console's live stream when the audit log grows.
--
-- Codes and session ids are 256 random bits; only their SHA-256 is stored, so neither
-- this table nor a backup of it signs anyone in. A link is used by the UPDATE that sets
-- used_at: once, whichever instance is asked. A tenant's links and sessions go with it.

CREATE TABLE sign_in_links (
    code_hash bytea PRIMARY KEY CHECK (length(code_hash) = 32),
    sub text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'user')),
    tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    tenant_role text CHECK (tenant_role IN ('owner', 'admin', 'member', 'viewer')),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    CHECK ((role = 'user') = (tenant_id IS NOT NULL AND tenant_role IS NOT NULL))
);
CREATE INDEX sign_in_links_expires_idx ON sign_in_links (expires_at);

CREATE TABLE console_sessions (
    id_hash bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    csrf_token text NOT NULL,
    sub text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'user')),
    tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    tenant_role text CHECK (tenant_role IN ('owner', 'admin', 'member', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- Quota crossings reach the audit log without a settings change: the console's stream
-- (console_events.c) hears them on the settings channel, which the feed already follows.
CREATE FUNCTION whatsapp_audit_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tenant_settings_changes', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER whatsapp_audit_notify AFTER INSERT ON whatsapp_assignment_audit
    FOR EACH STATEMENT EXECUTE FUNCTION whatsapp_audit_notify();
