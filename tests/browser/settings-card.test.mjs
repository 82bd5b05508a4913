// settings-card.test.mjs - the owner's card beyond its states: the number's quality as
// Meta rates it (no green tick on a low-quality number; the order still goes out from
// it, as the card says), changes not yet saved marked and guarded by the browser's
// leave-page question (the backend unchanged until Save, changed after), and the
// platform's support contact from tenant-service's SUPPORT_EMAIL / SUPPORT_PHONE. Every
// state is checked with axe-core.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import {
  T, eventually, openSettings, text, assertCleanPage, assertCleanExit, assertAxeClean,
  assertNamesStartWithLabels, orderOutcome, assertSentFrom, SETTINGS_PATH,
} from './helpers.mjs';

const SUPPORT_EMAIL = 'soporte@bakery.example';
const SUPPORT_PHONE = '+34 900 123 456';

let stack;
const id = {};
const tok = {};
let green;
let red;

before(async () => {
  stack = await startStack('settings-card', {
    tenantEnv: { SUPPORT_EMAIL, SUPPORT_PHONE },
    notificationEnv: { PHONE_NUMBERS_CACHE_SECONDS: '0' },
  });
  id.green = await stack.createTenant('Panadería San Juan');
  id.red = await stack.createTenant('Panadería Arrieta');
  const phones = (await stack.phones()).filter((p) => !p.is_default);
  green = phones.find((p) => p.quality_rating === 'GREEN');
  red = phones.find((p) => p.quality_rating === 'RED');
  assert.ok(green && red, 'graph-sim has a GREEN and a RED number');
  await stack.assign(id.green, green);
  await stack.assign(id.red, red);
  for (const k of ['green', 'red']) {
    await stack.putSettings(id[k], { whatsapp_enabled: true });
    tok[k] = await stack.userToken(id[k], 'owner');
  }
  tok.viewer = await stack.userToken(id.green, 'viewer');
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

const box = (page) => page.locator('#wa-state');

test('a RED number: no green tick, its low quality said, and the order still goes out from it', T(60), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.red);
  await eventually(async () => assert.equal(await box(page).getAttribute('data-state'), 'assigned'));
  assert.equal(await box(page).getAttribute('data-quality'), 'red');
  assert.match(await box(page).getAttribute('class'), /\bwa-warn\b/, 'a warning, not the green state');
  assert.equal(await box(page).getAttribute('data-icon'), 'warn');
  assert.equal(await box(page).locator('.badge-ok').count(), 0, 'nothing green');
  assert.equal(await text(page.locator('#wa-state-title')), 'WhatsApp configurado, con calidad baja');
  assert.equal(await text(page.locator('#wa-state-text')),
    'Tus pedidos se envían por WhatsApp desde el número de tu panadería, pero Meta califica su calidad como baja. Contacta con soporte.');
  assert.equal(await text(page.locator('#wa-quality')), 'Calidad: Baja');
  assert.equal((await stack.phones()).find((p) => p.id === red.id).quality_rating, 'RED', 'as Meta (graph-sim) rates it');
  assertSentFrom(await orderOutcome(stack, id.red), red.id, 'the RED number still sends');
  await assertAxeClean(page, 'card, RED number');
  for (const [lang, title] of [['CA', 'WhatsApp configurat, amb qualitat baixa'], ['GL', 'WhatsApp configurado, con calidade baixa'],
    ['EU', 'WhatsApp konfiguratuta, kalitate baxuarekin'], ['EN', 'WhatsApp configured, low quality']]) {
    await page.getByRole('button', { name: lang, exact: true }).click();
    assert.equal(await text(page.locator('#wa-state-title')), title, lang);
    await assertAxeClean(page, `card, RED number, ${lang}`);
  }
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  assertCleanPage(page);
  await page.close();
});

test('a GREEN number: the green state, its high quality said, and the order goes out from it', T(60), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.green);
  await eventually(async () => assert.equal(await box(page).getAttribute('data-state'), 'assigned'));
  assert.match(await box(page).getAttribute('class'), /\bwa-ok\b/);
  assert.equal(await text(page.locator('#wa-state-title')), 'WhatsApp configurado');
  assert.equal(await text(page.locator('#wa-quality')), 'Calidad: Alta');
  assertSentFrom(await orderOutcome(stack, id.green), green.id, 'the GREEN number sends');
  await assertAxeClean(page, 'card, GREEN number');
  await assertNamesStartWithLabels(page, 'card');
  assertCleanPage(page);
  await page.close();
});

test('unsaved changes are marked, leaving asks first, and only Save reaches the backend', T(90), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.green);
  const note = page.locator('#dirty-note');
  assert.equal(await note.isVisible(), false, 'nothing to save yet');
  const toggle = page.getByRole('switch', { name: 'Enviar notificaciones por WhatsApp' });
  await toggle.uncheck();
  await page.getByLabel('Idioma de los mensajes').selectOption('eu');
  assert.equal(await text(note), 'Cambios sin guardar');
  await assertAxeClean(page, 'card with unsaved changes');
  const before = await stack.settings(id.green);
  assert.equal(before.whatsapp_enabled, true, 'not saved: the backend still has WhatsApp on');
  assert.equal(before.whatsapp_default_language, 'es');

  // Leaving (closing the tab) asks first; staying keeps the page and the changes.
  const asked = new Promise((resolve) => page.once('dialog', async (d) => {
    resolve(d.type());
    await d.dismiss();
  }));
  await page.close({ runBeforeUnload: true });
  assert.equal(await asked, 'beforeunload', 'the browser asks before leaving');
  assert.equal(page.isClosed(), false, 'dismissed: the page stays');
  assert.equal(await toggle.isChecked(), false, 'with the change');

  // Back to what is saved: nothing to ask.
  await toggle.check();
  await page.getByLabel('Idioma de los mensajes').selectOption('es');
  assert.equal(await note.isVisible(), false, 'back to the saved values');

  // Saved: the backend has it, the mark is gone, and leaving asks nothing.
  await toggle.uncheck();
  assert.equal(await note.isVisible(), true);
  await page.getByRole('button', { name: 'Guardar cambios' }).click();
  await eventually(async () => assert.equal(await text(page.locator('#save-status')), 'Cambios guardados.'));
  assert.equal((await stack.settings(id.green)).whatsapp_enabled, false, 'saved: WhatsApp off at the backend');
  assert.equal(await note.isVisible(), false);
  let dialogs = 0;
  page.on('dialog', (d) => {
    dialogs++;
    d.dismiss();
  });
  await page.close({ runBeforeUnload: true });
  await eventually(async () => assert.equal(page.isClosed(), true));
  assert.equal(dialogs, 0, 'nothing unsaved: no question');
  await stack.putSettings(id.green, { whatsapp_enabled: true });
});

test('a reader cannot change anything, so nothing is ever unsaved', T(60), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.viewer);
  await page.locator('#readonly-note').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#dirty-note').isVisible(), false);
  await assertAxeClean(page, 'card, read-only');
  await page.close();
});

test('two links opened one right after the other: the one opened last is signed in', T(90), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.green);
  const link = (token) => stack.url(`${SETTINGS_PATH}#token=${encodeURIComponent(token)}`);
  const session = () => page.evaluate(async () => {
    const res = await fetch('/api/v1/auth/session', { credentials: 'same-origin', cache: 'no-store' });
    return res.json();
  });
  for (let round = 0; round < 3; round++) {
    // The owner's link, then at once the reader's, each exchanged for its own cookie:
    // the reader's card, and the reader's session in the backend, to stay.
    await page.goto(link(tok.red));
    await page.goto(link(tok.viewer));
    await eventually(async () => {
      assert.equal(await page.locator('#readonly-note').isVisible(), true, `round ${round}: read-only`);
      const who = await session();
      assert.equal(who.tenant_role, 'viewer', `round ${round}: the backend's session is the reader's`);
      assert.equal(who.tenant_id, id.green);
    });
    // And back to the owner the same way: the owner's card, editable.
    await page.goto(link(tok.viewer));
    await page.goto(link(tok.red));
    await eventually(async () => {
      assert.equal(await page.locator('#save').isEnabled(), true, `round ${round}: editable`);
      assert.equal((await session()).tenant_id, id.red, `round ${round}: the last link's session`);
    });
  }
  assertCleanPage(page);
  await page.close();
});

test('the support contact comes from SUPPORT_EMAIL and SUPPORT_PHONE', T(60), async () => {
  const r = await stack.api('GET', '/api/v1/support-contact', undefined, tok.red);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { email: SUPPORT_EMAIL, phone: SUPPORT_PHONE });
  const page = await stack.newPage();
  await openSettings(stack, page, tok.red);
  const support = page.locator('#support');
  await support.waitFor({ state: 'visible' });
  assert.equal(await text(support), `¿Necesitas ayuda? Soporte de la plataforma: ${SUPPORT_EMAIL} ${SUPPORT_PHONE}`);
  assert.equal(await page.getByRole('link', { name: SUPPORT_EMAIL }).getAttribute('href'), `mailto:${SUPPORT_EMAIL}`);
  assert.equal(await page.getByRole('link', { name: SUPPORT_PHONE }).getAttribute('href'), 'tel:+34900123456');
  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.match(await text(support), /^Need help\? Platform support:/);
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  assertCleanPage(page);
  await page.close();
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
