-- po_insert.sql - pgbench script: the single-row INSERT the purchase-order intake makes,
-- as the ceiling for benchmark 2 (same table, same indexes, same durability).
\set n random(1, 1000000000)
INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,
    recipient_phone, template_name, template_parameters, payload)
VALUES (gen_random_uuid(), '11111111-1111-4111-8111-111111111111', gen_random_uuid()::text,
    'purchase_order', md5(:n::text), '+34612345678', 'po_notification',
    '["Proveedor ABC","PO-1"]', '{"po_number":"PO-1"}');
