-- 0017_sender_leases: several notification-service instances on one database (issue 23).
--
-- Each sender number is owned by one instance at a time, so that the instance's
-- in-memory limits of that number (80 messages/s, one message per pair and interval)
-- are the number's whole traffic. Ownership is a lease: a row per number, held by an
-- instance (holder: its INSTANCE_ID or host:pid; boot: one process's life) until
-- expires_at, renewed every SENDER_LEASE_SECONDS / 5. A number whose lease has expired,
-- or was given back, can be taken; term counts the takes. Instances say they are alive
-- in whatsapp_sender_instances, which is how they spread the numbers evenly.
CREATE TABLE whatsapp_sender_instances (
    holder text NOT NULL,
    boot uuid NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (holder, boot)
);

CREATE TABLE whatsapp_sender_leases (
    phone_number_id text PRIMARY KEY,
    holder text,
    boot uuid,
    term bigint NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL DEFAULT '-infinity',
    taken_at timestamptz
);

-- The numbers queued messages already name (they were tried, or released for a limit).
INSERT INTO whatsapp_sender_leases (phone_number_id)
SELECT DISTINCT phone_number_id FROM whatsapp_messages
 WHERE next_attempt_at IS NOT NULL AND phone_number_id IS NOT NULL AND channel = 'whatsapp'
ON CONFLICT DO NOTHING;

-- The account's pause (outbox/pause.h), one row every instance follows: a refusal that
-- pauses sending on one instance pauses it on all, and a resume on any resumes all.
-- version orders the changes; instances read it with the template events.
CREATE TABLE whatsapp_account_pause (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    paused boolean NOT NULL DEFAULT false,
    code integer,
    reason text,
    source text,
    since timestamptz,
    version bigint NOT NULL DEFAULT 0
);
INSERT INTO whatsapp_account_pause DEFAULT VALUES;
