-- 0008_settings_readers: the tenant-service instances that serve settings from an
-- in-process cache (services/tenant/settings_readers.c), so that a change answered by
-- one instance is in effect on every instance for the very next read (issue 24).
--
-- A reader serves from its cache only while its lease here runs and it has applied every
-- change up to seen_seq (the change counter of 0003). A writer, after its commit, waits
-- until no registered reader has seen_seq below the change; a reader whose lease ran out
-- is deleted by the writer (settings_readers_lagging), so it cannot renew it and must
-- register again with an empty cache.
CREATE TABLE settings_readers (
    reader_id uuid PRIMARY KEY,
    label text NOT NULL,                   -- host and pid, for people reading this table
    boot timestamptz NOT NULL DEFAULT now(), -- when it (re)registered
    seen_seq bigint NOT NULL,              -- every change up to it is applied to its cache
    expires_at timestamptz NOT NULL        -- its lease: past it, it serves from the database
);

-- (target, readers still below it): target is the counter now when called with NULL.
-- VOLATILE, so each statement takes a fresh snapshot: the count sees every lease renewed
-- before the delete, and the delete, taking each row's lock, never races a renewal (the
-- renewal either committed first and the row is no longer expired, or it finds no row).
CREATE FUNCTION settings_readers_lagging(target bigint)
RETURNS TABLE (target_seq bigint, lagging bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    t bigint := coalesce(target, (SELECT c.seq FROM settings_change_counter c));
BEGIN
    DELETE FROM settings_readers r WHERE r.seen_seq < t AND r.expires_at <= clock_timestamp();
    RETURN QUERY SELECT t, count(*) FROM settings_readers r WHERE r.seen_seq < t;
END
$$;
