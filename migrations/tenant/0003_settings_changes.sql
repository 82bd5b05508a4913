-- 0003_settings_changes: a change sequence over tenant_settings, so that every
-- notification-service instance can follow what changed (GET
-- /api/v1/internal/settings-changes) instead of waiting for a cache to expire.
--
-- Every insert or real change of a settings row takes the next number of a one-row
-- counter. The counter row stays locked until the changing transaction commits, so
-- numbers become visible in the order they were taken: a reader that has seen every row
-- up to N has missed nothing below N. Settings change at human speed; the lock costs
-- nothing measurable. The database's epoch (a random id) tells a follower that the
-- numbers started over (a restored or rebuilt database).

CREATE TABLE settings_change_counter (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seq bigint NOT NULL,
    epoch uuid NOT NULL DEFAULT gen_random_uuid()
);
INSERT INTO settings_change_counter (seq) VALUES (0);

ALTER TABLE tenant_settings ADD COLUMN change_seq bigint NOT NULL DEFAULT 0;

CREATE FUNCTION tenant_settings_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.notification_settings = OLD.notification_settings THEN
        NEW.change_seq := OLD.change_seq;
        RETURN NEW;
    END IF;
    UPDATE settings_change_counter SET seq = seq + 1 RETURNING seq INTO NEW.change_seq;
    -- Delivered at commit, to every tenant-service instance that listens.
    PERFORM pg_notify('tenant_settings_changes', '');
    RETURN NEW;
END
$$;

CREATE TRIGGER tenant_settings_stamp BEFORE INSERT OR UPDATE ON tenant_settings
    FOR EACH ROW EXECUTE FUNCTION tenant_settings_stamp();

CREATE INDEX tenant_settings_change_seq_idx ON tenant_settings (change_seq);
