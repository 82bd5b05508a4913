-- Converts notification settings from the per-tenant WhatsApp format (each tenant with its
-- own access token, business account and API version) to the shared-account format
-- (seed: "Migration from Per-Tenant to Shared Account"). Idempotent: on converted data it
-- changes no row and writes no audit row. Applied by the runner in one transaction.
--
-- Per row of tenant_settings:
--   * whatsapp_access_token, whatsapp_business_account_id, whatsapp_api_version removed;
--   * whatsapp_phone_number_id kept when a JSON string (surrounding blanks trimmed), a JSON
--     number becomes its text, anything else (null, object, array, boolean, absent) '';
--   * whatsapp_display_phone_number kept when a string, else '';
--   * every default key missing or of the wrong JSON type (see
--     default_notification_settings()) takes its default; valid values and unknown keys stay;
--   * a settings value that is not a JSON object is replaced by the defaults.
-- A phone number id held by several tenants stays with the oldest tenant (tenants.created_at,
-- then id); the others lose it (id and display '') and get an 'unassign' audit row.
-- Tenants without a settings row get the defaults.

-- Legacy data may hold duplicates and credentials: lift the guards while converting.
drop index if exists tenant_settings_phone_number_id_key;
alter table tenant_settings drop constraint if exists tenant_settings_notification_settings_shape;

insert into tenant_settings (tenant_id, notification_settings)
select t.id, default_notification_settings()
from tenants t
where not exists (select 1 from tenant_settings s where s.tenant_id = t.id);

with src as (
    select s.tenant_id,
           t.created_at as tenant_created_at,
           case when jsonb_typeof(s.notification_settings) = 'object'
                then s.notification_settings - array['whatsapp_access_token',
                                                     'whatsapp_business_account_id',
                                                     'whatsapp_api_version']
                else '{}'::jsonb
           end as ns
    from tenant_settings s
    join tenants t on t.id = s.tenant_id
),
norm as (
    select src.tenant_id,
           src.tenant_created_at,
           src.ns,
           case jsonb_typeof(src.ns -> 'whatsapp_phone_number_id')
               when 'string' then btrim(src.ns ->> 'whatsapp_phone_number_id')
               when 'number' then src.ns ->> 'whatsapp_phone_number_id'
               else ''
           end as phone_id,
           case jsonb_typeof(src.ns -> 'whatsapp_display_phone_number')
               when 'string' then src.ns ->> 'whatsapp_display_phone_number'
               else ''
           end as display,
           (select jsonb_object_agg(d.key,
                       case
                           when jsonb_typeof(src.ns -> d.key) is distinct from jsonb_typeof(d.value)
                               then d.value
                           when jsonb_typeof(d.value) = 'array'
                                and exists (select 1
                                            from jsonb_array_elements(src.ns -> d.key) e
                                            where jsonb_typeof(e) <> 'string')
                               then d.value
                           else src.ns -> d.key
                       end)
            from jsonb_each(default_notification_settings()) d) as merged
    from src
),
ranked as (
    select norm.*,
           norm.phone_id <> '' and row_number() over w > 1 as loses,
           first_value(norm.tenant_id) over w as keeper
    from norm
    window w as (partition by norm.phone_id order by norm.tenant_created_at, norm.tenant_id)
),
converted as (
    select ranked.tenant_id,
           ranked.phone_id,
           ranked.display,
           ranked.loses,
           ranked.keeper,
           ranked.ns || ranked.merged || jsonb_build_object(
               'whatsapp_phone_number_id',
               case when ranked.loses then '' else ranked.phone_id end,
               'whatsapp_display_phone_number',
               case when ranked.loses then '' else ranked.display end) as new_ns
    from ranked
),
audit as (
    -- Runs even though the update below does not read it (data-modifying CTE).
    insert into whatsapp_assignment_audit
        (tenant_id, action, phone_number_id, display_phone_number, actor, reason)
    select c.tenant_id, 'unassign', c.phone_id, c.display,
           'migration:0002_shared_whatsapp_account',
           'duplicate phone_number_id held by older tenant ' || c.keeper
    from converted c
    where c.loses
    order by c.phone_id, c.tenant_id
    returning id
)
update tenant_settings s
set notification_settings = c.new_ns,
    updated_at = now()
from converted c
where s.tenant_id = c.tenant_id
  and s.notification_settings is distinct from c.new_ns;

create unique index tenant_settings_phone_number_id_key
    on tenant_settings ((notification_settings ->> 'whatsapp_phone_number_id'))
    where (notification_settings ->> 'whatsapp_phone_number_id') <> '';

-- The removed credential keys must never come back; the phone fields stay strings.
alter table tenant_settings add constraint tenant_settings_notification_settings_shape check (
    jsonb_typeof(notification_settings) = 'object'
    and not (notification_settings ?| array['whatsapp_access_token',
                                            'whatsapp_business_account_id',
                                            'whatsapp_api_version'])
    and coalesce(jsonb_typeof(notification_settings -> 'whatsapp_phone_number_id'), 'string')
        = 'string'
    and coalesce(jsonb_typeof(notification_settings -> 'whatsapp_display_phone_number'), 'string')
        = 'string'
);
