-- 0010_language_fallback: a purchase order whose language has no approved template goes
-- out in TEMPLATE_FALLBACK_LANGUAGE when one is set; the language it was meant for is
-- kept here, so the bakery and the admin can see that it did.
ALTER TABLE whatsapp_messages ADD COLUMN fallback_from_language text;
