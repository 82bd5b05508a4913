// admin-details.test.mjs - the admin page's platform status (the account, its numbers,
// po_notification per language, the Graph API version) and each bakery's "Detalles".
// Every sentence is checked against the backend: what the health API says, and what
// then happens to an order (graph-sim receives it, or notification-service skips it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import {
  T, eventually, openAdmin, text, assertCleanPage, assertCleanExit, assertAxeClean, assertNamesStartWithLabels,
  orderOutcome, assertSentFrom, assertSkipped,
} from './helpers.mjs';

let stack;
const id = {}; // bakery name -> tenant id
let phones; // the numbers a bakery may hold

before(async () => {
  stack = await startStack('admin-details');
  for (const n of ['Panadería San Juan', 'Horno Santa Ana']) id[n] = await stack.createTenant(n);
  phones = (await stack.phones()).filter((p) => !p.is_default);
  await stack.assign(id['Panadería San Juan'], phones[0]);
  await stack.putSettings(id['Panadería San Juan'], { whatsapp_enabled: true });
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

const fact = (page, name) => page.locator(`#health [data-fact="${name}"] dd`);

test('the platform status says what the health API says, and the account does send', T(90), async () => {
  const health = (await stack.apiOk('GET', '/api/v1/admin/whatsapp/health'));
  assert.equal(health.account.state, 'sending');
  const page = await stack.newPage();
  await openAdmin(stack, page);
  assert.equal(await text(page.locator('#health-title')), 'Estado de la plataforma');
  assert.equal(await text(fact(page, 'account')), 'Enviando');
  assert.match(await text(fact(page, 'numbers')), new RegExp(`^${health.phone_numbers.length} en la cuenta · \\d+ listos para enviar`));
  const words = { APPROVED: 'aprobada', PENDING: 'pendiente', REJECTED: 'rechazada' };
  const templates = health.templates.filter((x) => x.name === 'po_notification');
  assert.ok(templates.length >= 1, `po_notification at Meta: ${JSON.stringify(health.templates)}`);
  assert.equal(await text(fact(page, 'templates')),
    templates.map((x) => `${x.language}: ${words[x.status] || x.status}`).join(' · '));
  assert.equal(await text(fact(page, 'version')), health.api_version.asked);
  assert.ok(await page.locator('#health').evaluate((e) => e.getBoundingClientRect().bottom < window.innerHeight),
    'the status is in the first screen');
  await assertAxeClean(page, 'admin page with the platform status');
  // "Enviando" holds: an order of the bakery goes out from its number.
  assertSentFrom(await orderOutcome(stack, id['Panadería San Juan']), phones[0].id, 'San Juan while sending');

  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.equal(await text(page.locator('#health-title')), 'Platform status');
  assert.equal(await text(fact(page, 'account')), 'Sending');
  assert.match(await text(fact(page, 'numbers')), new RegExp(`^${health.phone_numbers.length} in the account · \\d+ ready to send`));
  assertCleanPage(page);
  await page.close();

  // On a phone the details fold away (the bakeries come first); the state stays.
  const phone = await stack.newPage({ width: 390, height: 844 });
  await openAdmin(stack, phone);
  assert.equal(await text(fact(phone, 'account')), 'Enviando');
  assert.equal(await phone.locator('#health-facts').isVisible(), false);
  const toggle = phone.getByRole('button', { name: 'Estado de la plataforma' });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  assert.equal(await text(fact(phone, 'version')), health.api_version.asked);
  await assertAxeClean(phone, 'platform status opened on a phone');
  assertCleanPage(phone);
  await phone.close();
});

// Last: it leaves notification-service with sending off.
test('the platform\'s switch off shows in the status, and orders are then skipped', T(90), async () => {
  await stack.restartNotification({ ENABLE_WHATSAPP_NOTIFICATIONS: 'false' }, 'disabled');
  const health = await stack.apiOk('GET', '/api/v1/admin/whatsapp/health');
  assert.equal(health.account.state, 'disabled');
  const page = await stack.newPage();
  await openAdmin(stack, page);
  assert.equal(await text(fact(page, 'account')), 'Envío desactivado en la plataforma');
  assert.match(await fact(page, 'account').locator('.badge').getAttribute('class'), /badge-warn/);
  assertSkipped(await orderOutcome(stack, id['Panadería San Juan']), 'whatsapp_notifications_disabled', 'San Juan, platform off');
  await assertAxeClean(page, 'platform status with sending off');
  assertCleanPage(page);
  await page.close();
});

test('every daemon exits cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
