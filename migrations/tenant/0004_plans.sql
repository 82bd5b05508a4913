-- 0004_plans: each tenant's WhatsApp plan (basic, standard, enterprise) and an optional
-- override of its monthly quota (issue 20).
--
-- They live on the settings row, beside notification_settings, so that a plan change is a
-- settings change: the trigger of 0003 numbers it like any other, and the change feed
-- carries it whole to notification-service (the served settings gain "plan" and
-- "whatsapp_monthly_quota", services/tenant/store.c). The plans' default quotas are
-- tenant-service's (services/tenant/plans.c); here only the names, as a guard.

ALTER TABLE tenant_settings
    ADD COLUMN plan text,
    ADD COLUMN quota_override integer CHECK (quota_override >= 0),
    ADD COLUMN plan_updated_at timestamptz NOT NULL DEFAULT now();

-- A change of the plan or of the override is a change of the settings.
CREATE OR REPLACE FUNCTION tenant_settings_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.notification_settings = OLD.notification_settings
       AND NEW.plan IS NOT DISTINCT FROM OLD.plan
       AND NEW.quota_override IS NOT DISTINCT FROM OLD.quota_override THEN
        NEW.change_seq := OLD.change_seq;
        RETURN NEW;
    END IF;
    UPDATE settings_change_counter SET seq = seq + 1 RETURNING seq INTO NEW.change_seq;
    -- Delivered at commit, to every tenant-service instance that listens.
    PERFORM pg_notify('tenant_settings_changes', '');
    RETURN NEW;
END
$$;

-- Existing tenants get standard. Being a change, it numbers every row anew, so the
-- followers learn each tenant's plan and quota now rather than at its next change.
UPDATE tenant_settings SET plan = 'standard';

ALTER TABLE tenant_settings
    ALTER COLUMN plan SET DEFAULT 'standard',
    ALTER COLUMN plan SET NOT NULL,
    ADD CONSTRAINT tenant_settings_plan_check
        CHECK (plan IN ('basic', 'standard', 'enterprise'));

-- Plan changes are audited beside the phone assignments (GET
-- /api/v1/admin/whatsapp/audit-log): phone fields '', old -> new in reason.
ALTER TABLE whatsapp_assignment_audit
    DROP CONSTRAINT whatsapp_assignment_audit_action_check,
    ADD CONSTRAINT whatsapp_assignment_audit_action_check
        CHECK (action IN ('assign', 'unassign', 'plan_change', 'quota_override'));
