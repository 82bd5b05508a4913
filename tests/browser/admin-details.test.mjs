// admin-details.test.mjs - the admin page's platform status (the account, its numbers,
// po_notification per language, the Graph API version) and each bakery's "Detalles":
// checks, last 30 days, audit log and a test message to a typed phone.
// Every sentence is checked against the backend: what the health API says, and what
// then happens to an order (graph-sim receives it, or notification-service skips it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import {
  T, eventually, openAdmin, row, text, assertCleanPage, assertCleanExit, assertAxeClean, assertNamesStartWithLabels,
  orderOutcome, assertSentFrom, assertSkipped, freshSupplierPhone,
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

/** Opens the details of bakery NAME on PAGE; resolves with the panel. */
async function openDetails(page, name) {
  const button = row(page, id[name]).getByRole('button', { name: `Detalles de ${name}` });
  await button.click();
  assert.equal(await button.getAttribute('aria-expanded'), 'true');
  const panel = row(page, id[name]).locator('.tenant-details');
  await panel.locator('.details-checks li.check').first().waitFor();
  await panel.locator('.details-activity .activity').waitFor();
  return panel;
}

const COUNT_WORDS = { sent: 'Enviados', delivered: 'Entregados', read: 'Leídos', failed: 'Fallidos', skipped: 'No enviados', pending: 'En cola' };

test('the details show the checks, the last 30 days and the audit log as the backend holds them', T(120), async () => {
  // An order of a bakery with WhatsApp off ends skipped for that reason.
  assertSkipped(await orderOutcome(stack, id['Horno Santa Ana']), 'whatsapp_disabled_for_tenant', 'Horno, WhatsApp off');
  const base = (name) => `/api/v1/admin/whatsapp/tenants/${id[name]}`;
  const activity = await stack.apiOk('GET', `${base('Horno Santa Ana')}/activity`);
  assert.deepEqual([activity.days, activity.total, activity.sent, activity.skipped, activity.skipped_by_reason],
    [30, 1, 0, 1, { whatsapp_disabled_for_tenant: 1 }], 'the activity counts the skipped order');
  const diag = await stack.apiOk('GET', `${base('Horno Santa Ana')}/diagnostics`);

  const page = await stack.newPage();
  await openAdmin(stack, page);
  const horno = await openDetails(page, 'Horno Santa Ana');
  for (const c of diag.checks) {
    const li = horno.locator(`li.check[data-check="${c.name}"]`);
    assert.match(await text(li.locator('.check-state')), c.ok ? /^Correcto$/ : /^Falla$/, c.name);
  }
  assert.match(await text(horno.locator('li[data-check="whatsapp_enabled"]')), /^Falla WhatsApp y avisos de pedidos activados/);
  for (const [k, word] of Object.entries(COUNT_WORDS)) {
    assert.equal(await text(horno.locator(`[data-count="${k}"]`)), `${word} ${activity[k]}`, k);
  }
  assert.equal(await text(horno.locator('li[data-reason="whatsapp_disabled_for_tenant"]')), 'WhatsApp desactivado en la panadería: 1');
  assert.equal(await text(horno.locator('.details-audit')), 'Registro de cambios Sin cambios registrados.');

  // San Juan's audit log: its assignment, by whom, as the audit-log API has it.
  const sanJuan = await openDetails(page, 'Panadería San Juan');
  const audit = await stack.apiOk('GET', `/api/v1/admin/whatsapp/audit-log?tenant_id=${id['Panadería San Juan']}`);
  assert.equal(audit[0].action, 'assign');
  await sanJuan.locator('.audit-row').first().waitFor();
  assert.equal(await sanJuan.locator('.audit-row').count(), audit.length);
  const first = sanJuan.locator('.audit-row').first();
  assert.equal(await text(first.locator('.audit-what')), `Número ${phones[0].display_phone_number} asignado`);
  assert.equal(await text(first.locator('.audit-who')), `por ${audit[0].actor}`);
  await assertNamesStartWithLabels(page, 'admin page with details open');
  await assertAxeClean(page, 'admin page with two details open');
  assertCleanPage(page);
  await page.close();
});

test('a test message goes out from the bakery\'s number to the typed phone, and the page says what happened', T(120), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const panel = await openDetails(page, 'Panadería San Juan');
  const before = (await stack.apiOk('GET', `/api/v1/admin/whatsapp/tenants/${id['Panadería San Juan']}/activity`)).sent;
  const to = freshSupplierPhone();
  await panel.getByLabel('Teléfono para la prueba').fill(to);
  await panel.getByRole('button', { name: 'Enviar prueba' }).click();
  const result = panel.locator('.test-result');
  await eventually(async () => {
    assert.ok(['delivered', 'read'].includes(await result.getAttribute('data-status')), 'delivered or read');
  }, 15000);
  const status = await result.getAttribute('data-status');
  const number = phones[0].display_phone_number;
  assert.equal(await text(result), status === 'read'
    ? `Prueba leída en ${to}, enviada desde ${number}.`
    : `Prueba entregada en ${to}, enviada desde ${number}.`);
  // graph-sim got exactly that: one po_notification to the phone, from the bakery's number.
  const sends = await stack.simSends(to);
  assert.deepEqual(sends.map((x) => [x.phone_number_id, x.template]), [[phones[0].id, 'po_notification']]);
  // The last 30 days count it (read again when the test ended).
  await eventually(async () => {
    assert.equal(await text(panel.locator('[data-count="sent"]')), `Enviados ${before + 1}`);
  });
  await assertAxeClean(page, 'a test message delivered');

  // A bakery with WhatsApp off: the test is not sent, for that reason, and nothing reaches Meta.
  const horno = await openDetails(page, 'Horno Santa Ana');
  const to2 = freshSupplierPhone();
  await horno.getByLabel('Teléfono para la prueba').fill(to2);
  await horno.getByRole('button', { name: 'Enviar prueba' }).click();
  await eventually(async () => {
    assert.equal(await horno.locator('.test-result').getAttribute('data-status'), 'skipped');
  }, 15000);
  assert.equal(await text(horno.locator('.test-result')), 'La prueba no se envió: WhatsApp desactivado en la panadería.');
  assert.deepEqual(await stack.simSends(to2), []);

  // A phone that is not one: refused by the API, said from its code.
  await horno.getByLabel('Teléfono para la prueba').fill('612');
  await horno.getByRole('button', { name: 'Enviar prueba' }).click();
  await eventually(async () => {
    assert.match(await text(horno.locator('.test-result')), /^No se pudo enviar la prueba\. Un valor no es válido \(teléfono\)\. Detalle del servidor: /);
  });
  await assertAxeClean(page, 'a skipped and a refused test message');
  assertCleanPage(page);
  await page.close();
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
