-- 0006_po_channels: the owner's WhatsApp switch chooses the purchase-order channel
-- (issue 21). notification-service honours po_notification_channels: "whatsapp" sends on
-- WhatsApp, "email" by email, both sends both. The card shows only the switch, so a
-- change of whatsapp_enabled that does not set the channels itself moves them: on puts
-- "whatsapp" in place of "email" (email stays the fallback of a failed message), off
-- takes "whatsapp" out ("email" when nothing is left). A list with both stays both
-- while the switch is on.
-- The channel list once the switch is on or off.
CREATE FUNCTION tenant_po_channels(channels jsonb, whatsapp boolean) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN whatsapp AND channels ? 'whatsapp' THEN channels
        WHEN whatsapp THEN (channels - 'email') || '["whatsapp"]'
        WHEN jsonb_array_length(channels - 'whatsapp') = 0 THEN '["email"]'
        ELSE channels - 'whatsapp'
    END
$$;

CREATE FUNCTION tenant_settings_apply(cur jsonb, patch jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN NOT patch ? 'whatsapp_enabled' OR patch ? 'po_notification_channels'
             OR cur -> 'whatsapp_enabled' = patch -> 'whatsapp_enabled'
        THEN cur || patch
        ELSE cur || patch || jsonb_build_object('po_notification_channels',
            tenant_po_channels(coalesce(cur -> 'po_notification_channels', '["email"]'),
                               (patch ->> 'whatsapp_enabled')::boolean))
    END
$$;

-- Bakeries whose switch is on keep getting WhatsApp.
UPDATE tenant_settings
   SET notification_settings = jsonb_set(notification_settings, '{po_notification_channels}',
           tenant_po_channels(coalesce(notification_settings -> 'po_notification_channels',
                                       '["email"]'), true))
 WHERE notification_settings -> 'whatsapp_enabled' = 'true'
   AND NOT coalesce(notification_settings -> 'po_notification_channels', '[]') ? 'whatsapp';
