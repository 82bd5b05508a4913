// admin-quota.test.mjs - the admin page shows a bakery's quota crossings of this month
// (issue 20): after real orders use 80% and then all of a quota, the bakery's row says
// so in the page's language, with the numbers notification-service counted; and what
// the row then promises (its orders no longer go by WhatsApp) is what the backend does.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, DEFAULT_PHONE_ID } from './stack.mjs';
import { T, eventually, openAdmin, row, text, orderOutcome, assertSentFrom, assertSkipped, assertCleanPage, assertAxeClean } from './helpers.mjs';

let stack;
let bakery;

before(async () => {
  stack = await startStack('admin-quota');
  bakery = await stack.createTenant('Horno Cuota Justa');
  await stack.putSettings(bakery, { whatsapp_enabled: true });
  await stack.apiOk('PUT', `/api/v1/admin/tenants/${bakery}/plan`, { quota_override: 5 });
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

/** The bakery's quota rows of the audit log, newest first. */
async function crossings() {
  const rows = await stack.apiOk('GET', `/api/v1/admin/whatsapp/audit-log?tenant_id=${bakery}`);
  return rows.filter((r) => r.action === 'quota_warning' || r.action === 'quota_reached');
}

function thisMonth() {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`;
}

test('80% of the quota: the row warns with the count', T(90), async () => {
  for (let i = 0; i < 4; i++) assertSentFrom(await orderOutcome(stack, bakery), DEFAULT_PHONE_ID, `order ${i + 1}`);
  await eventually(async () => assert.equal((await crossings())[0]?.action, 'quota_warning'), 15000);
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const warnings = row(page, bakery).locator('.tenant-warning');
  await warnings.first().waitFor({ state: 'visible' });
  assert.equal(await text(warnings.first()),
    `Ha usado el 80 % de su cuota de WhatsApp de ${thisMonth()}: 4 de 5 mensajes.`);
  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.equal(await text(warnings.first()),
    `It has used 80% of its WhatsApp quota for ${thisMonth()}: 4 of 5 messages.`);
  await assertAxeClean(page, 'admin-quota.test.mjs #1');
  assertCleanPage(page);
  await page.close();
});

test('the quota used up: the row says orders no longer go by WhatsApp, and they do not', T(90), async () => {
  assertSentFrom(await orderOutcome(stack, bakery), DEFAULT_PHONE_ID, 'order 5');
  await eventually(async () => assert.equal((await crossings())[0]?.action, 'quota_reached'), 15000);
  const page = await stack.newPage();
  await openAdmin(stack, page);
  await page.getByRole('button', { name: 'ES', exact: true }).click(); // the last page chose EN
  const warning = row(page, bakery).locator('.tenant-warning').first();
  await warning.waitFor({ state: 'visible' });
  assert.equal(await text(warning),
    `Ha agotado su cuota de WhatsApp de ${thisMonth()} (5 de 5 mensajes): sus pedidos ya no se envían por WhatsApp este mes.`);
  // what the sentence says: the next order is not sent, and says why
  assertSkipped(await orderOutcome(stack, bakery), 'quota_exceeded', 'order 6');
  // a bakery without crossings has no such line
  const other = await stack.createTenant('Horno Sin Cuota');
  await page.reload();
  await row(page, other).waitFor({ state: 'attached' });
  assert.equal(await row(page, other).locator('.tenant-warning:visible').count(), 0);
  await assertAxeClean(page, 'admin-quota.test.mjs #2');
  assertCleanPage(page);
  await page.close();
});
