-- 0007_pricing: what Meta says each message costs. Status webhooks carry a pricing
-- object (pricing_model PMP or CBP, category, type regular / free_customer_service /
-- free_entry_point, billable); the newest one a message received is kept as it came,
-- unknown keys included. Statuses waiting for their wamid keep theirs too.
ALTER TABLE whatsapp_messages ADD COLUMN pricing jsonb;
ALTER TABLE whatsapp_pending_statuses ADD COLUMN pricing jsonb;
