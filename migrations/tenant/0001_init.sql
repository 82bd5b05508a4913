-- 0001_init: tenants, their notification settings (JSONB), and the audit log of
-- WhatsApp phone-number assignments (DESIGN.md section 3).

-- The defaults every new tenant gets. Kept in SQL so the service, the migrations and
-- ad-hoc operators all agree on one definition.
CREATE FUNCTION default_notification_settings() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'whatsapp_enabled', false,
        'whatsapp_phone_number_id', '',
        'whatsapp_display_phone_number', '',
        'whatsapp_default_language', 'es',
        'email_enabled', true,
        'email_from_address', '',
        'email_from_name', '',
        'email_reply_to', '',
        'enable_po_notifications', true,
        'enable_inventory_alerts', true,
        'enable_production_alerts', true,
        'enable_forecast_alerts', true,
        'po_notification_channels', jsonb_build_array('email'),
        'inventory_alert_channels', jsonb_build_array('email'),
        'production_alert_channels', jsonb_build_array('email'),
        'forecast_alert_channels', jsonb_build_array('email'))
$$;

CREATE TABLE tenants (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenants_name_id_idx ON tenants (name, id);

CREATE TABLE tenant_settings (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    notification_settings jsonb NOT NULL DEFAULT default_notification_settings(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One phone number, one tenant: the index decides between concurrent assignments.
CREATE UNIQUE INDEX tenant_settings_phone_number_id_key
    ON tenant_settings ((notification_settings ->> 'whatsapp_phone_number_id'))
    WHERE (notification_settings ->> 'whatsapp_phone_number_id') <> '';

-- No foreign key: the audit trail outlives a deleted tenant.
CREATE TABLE whatsapp_assignment_audit (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL,
    action text NOT NULL CHECK (action IN ('assign', 'unassign')),
    phone_number_id text NOT NULL,
    display_phone_number text NOT NULL DEFAULT '',
    actor text NOT NULL,
    reason text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX whatsapp_assignment_audit_tenant_idx
    ON whatsapp_assignment_audit (tenant_id, created_at DESC);
CREATE INDEX whatsapp_assignment_audit_created_idx
    ON whatsapp_assignment_audit (created_at DESC);
