-- 0006_reported_status_times: the delivered and read times exactly as Meta reported
-- them. Meta's webhook timestamps are whole seconds while sent_at is the millisecond of
-- Graph's answer, so a message delivered within the second it was sent was reported
-- "delivered" before it was "sent". delivered_at and read_at are now never earlier than
-- the step before them (the clamp is in the webhook's statement); the reported times
-- are kept here, untouched.
ALTER TABLE whatsapp_messages
    ADD COLUMN delivered_reported_at timestamptz,
    ADD COLUMN read_reported_at timestamptz;

UPDATE whatsapp_messages
   SET delivered_reported_at = delivered_at,
       read_reported_at = read_at,
       delivered_at = greatest(delivered_at, sent_at),
       read_at = greatest(read_at, delivered_at, sent_at)
 WHERE delivered_at < sent_at OR read_at < sent_at OR read_at < delivered_at;
