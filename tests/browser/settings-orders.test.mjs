// settings-orders.test.mjs - "Últimos pedidos" on the owner's card (issue 21), each
// sentence pinned to the backend: an order to a supplier not on WhatsApp shows "No
// entregado" with that reason, as notification-service records it (failed, 131026); the
// owner fixes the phone and resends, and graph-sim receives the order at the new number
// from a new message linked to the old one, which the list then shows on its way or
// sent; a bad phone is refused under its field and nothing new is stored; an email alone
// makes the resend an email; a member sees the list without the resend, and the backend
// refuses a member's resend; the texts follow the page language; axe-core finds nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import {
  T, eventually, openSettings, text, assertCleanPage, assertCleanExit, assertAxeClean,
  assertNamesStartWithLabels, freshSupplierPhone, horizontalOverflow,
} from './helpers.mjs';

let stack;
let bakery;
let owner;
let member;
const notOnWhatsapp = freshSupplierPhone();

before(async () => {
  stack = await startStack('orders');
  bakery = await stack.createTenant('Horno de los Pedidos');
  owner = await stack.userToken(bakery, 'owner');
  member = await stack.userToken(bakery, 'member');
  await stack.putSettings(bakery, { whatsapp_enabled: true });
  const res = await fetch(`${stack.graphSimUrl}/_sim/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ not_on_whatsapp: [notOnWhatsapp] }),
    signal: AbortSignal.timeout(15000),
  });
  assert.equal(res.status, 200);
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

/** notification-service's story of the order of MESSAGE_ID (the event's own message). */
async function story(messageId) {
  const m = await stack.message(messageId);
  const res = await fetch(`${stack.notificationUrl}/api/v1/notifications/purchase-orders/${m.idempotency_key}?tenant_id=${bakery}`, {
    headers: { Authorization: `Bearer ${stack.adminToken}`, Accept: 'application/json' },
    signal: AbortSignal.timeout(15000),
  });
  assert.equal(res.status, 200);
  return res.json();
}

/** Posts an order to NOT_ON_WHATSAPP and waits until the backend has it failed. */
async function failedOrder() {
  const id = await stack.postOrder(bakery, notOnWhatsapp);
  const m = await eventually(async () => {
    const x = await stack.message(id);
    assert.equal(x.status, 'failed', `message ${id} is ${x.status}`);
    return x;
  }, 15000);
  assert.equal(m.error_code, 131026);
  return m;
}

function item(page, eventId) {
  return page.locator(`#orders-list li[data-event="${eventId}"]`);
}

async function openCard(page, token) {
  await openSettings(stack, page, token);
  await page.locator('#orders:not([hidden])').waitFor({ state: 'visible' });
  await page.locator('#orders-list li.order').first().waitFor({ state: 'visible' });
}

test('a failed order says "No entregado" and why, as notification-service recorded it', T(90), async () => {
  const m = await failedOrder();
  const page = await stack.newPage();
  await openCard(page, owner);
  const li = item(page, m.idempotency_key);
  assert.equal(await li.getAttribute('data-status'), 'failed');
  assert.equal(await text(li.locator('.order-state')), 'No entregado');
  assert.match(await text(li.locator('.order-reason')), /^El número del proveedor no tiene WhatsApp\./);
  assert.match(await text(li.locator('.order-meta')), new RegExp(`Por WhatsApp a \\${notOnWhatsapp}$`));
  assert.match(await text(li.locator('.order-title')), /Harinas del Norte · 12,50 €/);
  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.equal(await text(li.locator('.order-state')), 'Not delivered');
  assert.match(await text(li.locator('.order-reason')), /^The supplier's number is not on WhatsApp\./);
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  await assertAxeClean(page, 'settings-orders.test.mjs #1');
  assertCleanPage(page);
  await page.close();
});

test('the owner fixes the phone and resends: graph-sim gets the order at the new number', T(120), async () => {
  const m = await failedOrder();
  const fixed = freshSupplierPhone();
  const page = await stack.newPage();
  await openCard(page, owner);
  const li = item(page, m.idempotency_key);
  await li.getByRole('button', { name: /^Reenviar el pedido/ }).click();
  const phone = li.getByLabel('Teléfono del proveedor');
  assert.equal(await phone.inputValue(), notOnWhatsapp, 'the form starts from the number the order had');
  await assertAxeClean(page, 'settings-orders.test.mjs #2 (form open)');
  await assertNamesStartWithLabels(page, 'settings-orders.test.mjs #2');

  // a bad number first: refused under the field, nothing new in the backend
  await phone.fill('612 345 678');
  await li.getByRole('button', { name: 'Reenviar pedido', exact: true }).click();
  const err = li.locator(`#resend-${m.idempotency_key}-phone-error`);
  await err.waitFor({ state: 'visible' });
  assert.match(await text(err), /prefijo del país/);
  assert.equal(await phone.getAttribute('aria-invalid'), 'true');
  assert.equal((await story(m.id)).messages.length, 1, 'nothing was stored');
  await assertAxeClean(page, 'settings-orders.test.mjs #2 (field error)');

  await phone.fill(fixed);
  await li.getByRole('button', { name: 'Reenviar pedido', exact: true }).click();
  await li.locator('.order-done').waitFor({ state: 'visible' });
  assert.equal(await text(li.locator('.order-done')), `Pedido reenviado a ${fixed}.`);

  // the backend: a new message to the new number, linked to the failed one, sent
  const s = await eventually(async () => {
    const x = await story(m.id);
    assert.equal(x.messages.length, 2);
    assert.ok(['sent', 'delivered', 'read'].includes(x.messages[1].status), `resend is ${x.messages[1].status}`);
    return x;
  }, 15000);
  const resent = s.messages[1];
  assert.equal(resent.follows_id, m.id);
  assert.equal(resent.follows_reason, 'resend');
  assert.equal(resent.recipient_phone, fixed);
  assert.equal(s.messages[0].status, 'failed', 'the old message stays failed');
  const sends = await stack.simSends(fixed);
  assert.equal(sends.length, 1, 'graph-sim received the order once at the new number');

  // the list, refreshed, shows the order sent with the new number
  await page.locator('#orders-refresh').click();
  await eventually(async () => {
    await page.locator('#orders-refresh').click();
    assert.ok(['sent', 'delivered', 'read'].includes(await li.getAttribute('data-status')));
  }, 10000, 500);
  assert.match(await text(li.locator('.order-state')), /^(Enviado|Entregado|Leído)$/);
  assert.match(await text(li.locator('.order-meta')), new RegExp(`Por WhatsApp a \\${fixed}$`));
  assert.equal(await li.locator('.order-reason').count(), 0, 'no reason once delivered');
  assert.equal(await li.locator('.order-resend-toggle').count(), 0, 'no resend once delivered');
  await assertAxeClean(page, 'settings-orders.test.mjs #2 (sent)');
  assertCleanPage(page);
  await page.close();
});

test('an email alone makes the resend an email to it', T(90), async () => {
  const m = await failedOrder();
  const page = await stack.newPage();
  await openCard(page, owner);
  const li = item(page, m.idempotency_key);
  await li.getByRole('button', { name: /^Reenviar el pedido/ }).click();
  const email = li.getByLabel('Correo del proveedor (opcional)');
  await email.fill('pedidos@');
  await li.getByRole('button', { name: 'Reenviar pedido', exact: true }).click();
  await li.locator(`#resend-${m.idempotency_key}-email-error`).waitFor({ state: 'visible' });
  assert.equal((await story(m.id)).messages.length, 1, 'nothing was stored');
  await email.fill('pedidos@harinas-norte.example');
  await li.getByRole('button', { name: 'Reenviar pedido', exact: true }).click();
  await li.locator('.order-done').waitFor({ state: 'visible' });
  assert.equal(await text(li.locator('.order-done')), 'Pedido reenviado a pedidos@harinas-norte.example.');
  const s = await story(m.id);
  assert.equal(s.messages.length, 2);
  assert.equal(s.messages[1].channel, 'email');
  assert.equal(s.messages[1].recipient_email, 'pedidos@harinas-norte.example');
  assert.equal(s.messages[1].follows_id, m.id);
  assertCleanPage(page);
  await page.close();
});

test('a member sees the orders but no resend, and the backend refuses a member\'s resend', T(60), async () => {
  const m = await failedOrder();
  const page = await stack.newPage();
  await openCard(page, member);
  const li = item(page, m.idempotency_key);
  assert.equal(await text(li.locator('.order-state')), 'No entregado');
  assert.equal(await page.locator('.order-resend-toggle').count(), 0);
  const r = await stack.api('POST', `/api/v1/tenants/${bakery}/messages/${m.id}/resend`,
    { idempotency_key: 'member-try' }, member);
  assert.equal(r.status, 403);
  assert.equal((await story(m.id)).messages.length, 1);
  await assertAxeClean(page, 'settings-orders.test.mjs #4');
  assertCleanPage(page);
  await page.close();
});

test('on a 375 px phone the list and an open resend form fit the screen', T(60), async () => {
  const m = await failedOrder();
  const page = await stack.newPage({ width: 375, height: 800 });
  await openCard(page, owner);
  const li = item(page, m.idempotency_key);
  await li.getByRole('button', { name: /^Reenviar el pedido/ }).click();
  await li.getByLabel('Teléfono del proveedor').waitFor({ state: 'visible' });
  const o = await horizontalOverflow(page);
  assert.ok(o.scrollWidth <= o.clientWidth && o.bodyScrollWidth <= o.clientWidth, `no sideways scroll: ${JSON.stringify(o)}`);
  await assertAxeClean(page, 'settings-orders.test.mjs #5 (375 px)');
  assertCleanPage(page);
  await page.close();
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
