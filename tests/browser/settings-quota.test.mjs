// settings-quota.test.mjs - the owner's card shows the plan and this month's WhatsApp
// messages as the backend counts them (issue 20): after real orders go out through
// notification-service to graph-sim, "N de 500 mensajes este mes" with N the count
// notification-service serves (GET /api/v1/whatsapp/quota-usage); English and Basque;
// unlimited for enterprise; basic says WhatsApp messages are not included.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, DEFAULT_PHONE_ID } from './stack.mjs';
import { T, eventually, openSettings, text, assertCleanPage, assertCleanExit, orderOutcome, assertSentFrom, assertAxeClean } from './helpers.mjs';

let stack;
let bakery;
let owner;

before(async () => {
  stack = await startStack('quota');
  bakery = await stack.createTenant('Horno del Cupo');
  owner = await stack.userToken(bakery, 'owner');
  await stack.putSettings(bakery, { whatsapp_enabled: true });
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

/** notification-service's count of the bakery's month (admin token). */
async function backendUsed() {
  const res = await fetch(`${stack.notificationUrl}/api/v1/whatsapp/quota-usage?tenant_id=${bakery}`, {
    headers: { Authorization: `Bearer ${stack.adminToken}`, Accept: 'application/json' },
    signal: AbortSignal.timeout(15000),
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.tenant_id, bakery);
  assert.match(body.month, /^\d{4}-\d{2}$/);
  return body.used;
}

async function openCard(page) {
  await openSettings(stack, page, owner);
  await page.locator('#wa-plan:not([hidden])').waitFor({ state: 'visible' });
}

test('a new standard bakery: 0 de 500 mensajes este mes', T(60), async () => {
  assert.equal(await backendUsed(), 0);
  const page = await stack.newPage();
  await openCard(page);
  assert.equal(await text(page.locator('#wa-plan-badge')), 'Estándar');
  assert.equal(await text(page.locator('#wa-plan-usage')), '0 de 500 mensajes este mes');
  assert.ok(await page.locator('#included-notice').isVisible());
  await assertAxeClean(page, 'settings-quota.test.mjs #1');
  assertCleanPage(page);
  await page.close();
});

test('after orders are sent, the card shows the count notification-service keeps', T(90), async () => {
  for (let i = 0; i < 3; i++) {
    const outcome = await orderOutcome(stack, bakery);
    assertSentFrom(outcome, DEFAULT_PHONE_ID, `order ${i + 1}`);
  }
  const used = await eventually(async () => {
    const n = await backendUsed();
    assert.equal(n, 3, 'the backend counted the three sends');
    return n;
  });
  const plan = await stack.apiOk('GET', `/api/v1/tenants/${bakery}/plan`, undefined, owner);
  assert.equal(plan.usage.used, used);
  assert.equal(plan.monthly_quota, 500);

  const page = await stack.newPage();
  await openCard(page);
  assert.equal(await text(page.locator('#wa-plan-usage')), `${used} de 500 mensajes este mes`);
  assert.equal(await page.locator('#wa-plan').getAttribute('data-used'), String(used));
  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.equal(await text(page.locator('#wa-plan-usage')), `${used} of 500 messages this month`);
  assert.equal(await text(page.locator('#wa-plan-badge')), 'Standard');
  await page.getByRole('button', { name: 'EU', exact: true }).click();
  assert.equal(await text(page.locator('#wa-plan-usage')), `Hilabete honetan ${used} mezu 500etik`);
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  await assertAxeClean(page, 'settings-quota.test.mjs #2');
  assertCleanPage(page);
  await page.close();
});

test('enterprise is unlimited; basic does not include WhatsApp messages', T(60), async () => {
  await stack.apiOk('PUT', `/api/v1/admin/tenants/${bakery}/plan`, { plan: 'enterprise' });
  const page = await stack.newPage();
  await openCard(page);
  assert.equal(await text(page.locator('#wa-plan-usage')), 'Mensajes ilimitados (Empresa): 3 este mes');
  assert.ok(await page.locator('#included-notice').isVisible());

  await stack.apiOk('PUT', `/api/v1/admin/tenants/${bakery}/plan`, { plan: 'basic' });
  await page.reload();
  await page.locator('#wa-plan[data-plan="basic"]').waitFor({ state: 'visible' });
  assert.match(await text(page.locator('#wa-plan-usage')), /Tu plan no incluye mensajes de WhatsApp/);
  assert.ok(await page.locator('#included-notice').isHidden(), 'not "included" on basic');
  // and the backend agrees: an order is skipped, nothing reaches graph-sim
  const outcome = await orderOutcome(stack, bakery);
  assert.equal(outcome.message.status, 'skipped');
  assert.equal(outcome.message.skip_reason, 'quota_exceeded');
  assert.deepEqual(outcome.sends, []);
  await assertAxeClean(page, 'settings-quota.test.mjs #3');
  assertCleanPage(page);
  await page.close();
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
