// settings.test.mjs - the bakery's Notification Settings card against the real stack:
// WhatsApp off shown as off (never a green "configured"), the assigned number in a green
// badge once WhatsApp is on, the owner's toggle and language saved and then visible to
// the platform admin, members and viewers who cannot save, a refused save shown as such,
// English, and no credential fields. settings-sender.test.mjs pins each state to what
// the backend then does with an order.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import {
  T, eventually, openAdmin, openSettings, row, text, assertCleanPage, assertCleanExit, SETTINGS_PATH,

  assertAxeClean,
} from './helpers.mjs';

let stack;
const id = {};
let phone;
const tok = {};

before(async () => {
  stack = await startStack('settings');
  id.sanJuan = await stack.createTenant('Panadería San Juan');
  id.goiko = await stack.createTenant('Panadería Goiko');
  // A number Meta rates high: the card is green only for such (settings-card.test.mjs).
  phone = (await stack.phones()).find((p) => !p.is_default && p.quality_rating === 'GREEN');
  await stack.assign(id.sanJuan, phone);
  tok.owner = await stack.userToken(id.sanJuan, 'owner');
  tok.member = await stack.userToken(id.sanJuan, 'member');
  tok.viewer = await stack.userToken(id.sanJuan, 'viewer');
  tok.goikoOwner = await stack.userToken(id.goiko, 'owner');
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

/** The [r, g, b] of LOCATOR's background. */
async function background(locator) {
  return (await locator.evaluate((e) => getComputedStyle(e).backgroundColor)).match(/\d+/g).slice(0, 3).map(Number);
}

const isGreen = ([r, g, b]) => g > r && g > b;

test('with WhatsApp off the owner sees "Desactivado", the number not green, and the subscription note', T(60), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.owner);
  assert.equal(await text(page.locator('h1')), 'Ajustes de notificaciones');
  assert.equal(await text(page.locator('#card-title')), 'Configuración de WhatsApp');
  const box = page.locator('#wa-state');
  await box.waitFor({ state: 'visible' });
  assert.equal(await box.getAttribute('data-state'), 'off');
  assert.equal(await text(page.locator('#wa-state-title')), 'Desactivado');
  assert.doesNotMatch(await text(box), /configurado/i, 'never "configurado" while off');
  assert.ok(!isGreen(await background(box)), 'the box is not green');
  const badge = page.locator('#wa-phone');
  assert.equal(await text(page.locator('#wa-phone-line')), `Número asignado: ${phone.display_phone_number}`);
  assert.doesNotMatch(await badge.getAttribute('class'), /badge-ok/);
  assert.ok(!isGreen(await background(badge)), 'the number is not green while off');
  assert.match(await text(page.locator('.notice-included')),
    /Notificaciones de WhatsApp incluidas.*Los mensajes de WhatsApp están incluidos en tu suscripción/);
  await eventually(async () => assert.equal(await text(page.locator('#subtitle')), 'Panadería: Panadería San Juan'));
  await assertAxeClean(page, 'settings.test.mjs #1');
  assertCleanPage(page);
  await page.close();
});

test('the owner\'s toggle and language are saved and visible to the admin', T(90), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.owner);
  const toggle = page.getByRole('switch', { name: 'Enviar notificaciones por WhatsApp' });
  const language = page.getByLabel('Idioma de los mensajes');
  assert.equal(await toggle.isChecked(), false, 'WhatsApp starts off');
  assert.equal(await language.inputValue(), 'es');
  await page.locator('#wa-language[data-sig]').waitFor({ state: 'attached' });
  assert.deepEqual(await language.locator('option').allInnerTexts(), ['Español', 'English', 'Euskara',
    'Català (pendiente de aprobación por Meta)', 'Galego (pendiente de aprobación por Meta)']);

  await toggle.check();
  await language.selectOption('eu');
  await page.getByRole('button', { name: 'Guardar cambios' }).click();
  await eventually(async () => assert.equal(await text(page.locator('#save-status')), 'Cambios guardados.'));

  // The card asks again where the orders go out from: now the bakery's number, in green.
  await eventually(async () => assert.equal(await page.locator('#wa-state').getAttribute('data-state'), 'assigned'));
  assert.equal(await text(page.locator('#wa-state-title')), 'WhatsApp configurado');
  const badge = page.locator('#wa-phone');
  assert.equal(await text(page.locator('#wa-phone-line')), `Teléfono: ${phone.display_phone_number} Calidad: Alta`);
  assert.match(await badge.getAttribute('class'), /badge-ok/);
  const rgb = await background(badge);
  assert.ok(isGreen(rgb), `the badge is green (rgb ${rgb})`);
  assert.ok(isGreen(await background(page.locator('#wa-state'))), 'the box is green');

  const saved = await stack.settings(id.sanJuan);
  assert.equal(saved.whatsapp_enabled, true);
  assert.equal(saved.whatsapp_default_language, 'eu');
  assert.equal(saved.whatsapp_phone_number_id, phone.id, 'the number is untouched');

  await page.reload();
  await page.locator('#settings-form').waitFor({ state: 'visible' });
  assert.equal(await toggle.isChecked(), true);
  assert.equal(await language.inputValue(), 'eu');

  // The platform admin sees the bakery Active, and its settings through "Ver ajustes".
  const admin = await stack.newPage();
  await openAdmin(stack, admin);
  const r = row(admin, id.sanJuan);
  assert.equal(await text(r.locator('.tenant-status')), 'Activo');
  await r.getByRole('link', { name: 'Ver ajustes de Panadería San Juan' }).click();
  await admin.waitForURL((u) => u.pathname === SETTINGS_PATH && u.searchParams.get('tenant') === id.sanJuan);
  await admin.locator('#settings-form').waitFor({ state: 'visible' });
  assert.equal(await admin.getByRole('switch').isChecked(), true);
  assert.equal(await admin.getByLabel('Idioma de los mensajes').inputValue(), 'eu');
  assert.equal(await text(admin.locator('#wa-phone')), phone.display_phone_number);

  // Switching WhatsApp off again: the card says "Desactivado", the admin page too.
  await toggle.uncheck();
  await page.getByRole('button', { name: 'Guardar cambios' }).click();
  await eventually(async () => assert.equal(await text(page.locator('#save-status')), 'Cambios guardados.'));
  await eventually(async () => assert.equal(await text(page.locator('#wa-state-title')), 'Desactivado'));
  assert.equal(await page.locator('#wa-state').getAttribute('data-state'), 'off');
  await openAdmin(stack, admin);
  assert.equal(await text(row(admin, id.sanJuan).locator('.tenant-status')), 'Desactivado');
  assert.equal(await text(row(admin, id.sanJuan).locator('.tenant-phone')), `Teléfono: ${phone.display_phone_number}`);
  await assertAxeClean(page, 'settings.test.mjs #2');
  assertCleanPage(page);
  assertCleanPage(admin);
  await page.close();
  await admin.close();
});

test('a bakery without a number and WhatsApp off sees "Desactivado" and no number', T(60), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.goikoOwner);
  const box = page.locator('#wa-state');
  await box.waitFor({ state: 'visible' });
  assert.equal(await box.getAttribute('data-state'), 'off');
  assert.equal(await text(box),
    'Desactivado WhatsApp está desactivado: tus pedidos no se envían por WhatsApp a tus proveedores.');
  assert.ok(await page.locator('#wa-phone-line').isHidden());
  assert.equal(await text(page.locator('#wa-phone')), '');
  // The owner may still prepare the switch and the language.
  assert.equal(await page.getByRole('button', { name: 'Guardar cambios' }).isEnabled(), true);
  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.equal(await text(box), 'Off WhatsApp is off: your orders are not sent to your suppliers on WhatsApp.');
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  await assertAxeClean(page, 'settings.test.mjs #3');
  assertCleanPage(page);
  await page.close();
});

for (const [role, label] of [['member', 'miembro'], ['viewer', 'lector']]) {
  test(`a ${role} sees the settings read-only and cannot save`, T(60), async () => {
    const before = await stack.settings(id.sanJuan);
    const page = await stack.newPage();
    await openSettings(stack, page, tok[role]);
    const note = page.locator('#readonly-note');
    await note.waitFor({ state: 'visible' });
    assert.match(await text(note), new RegExp(`Solo lectura.*\\(${label}\\)`));
    assert.equal(await text(page.locator('#wa-phone')), phone.display_phone_number, 'the number is shown');
    assert.equal(await page.getByRole('switch').isDisabled(), true);
    assert.equal(await page.getByLabel('Idioma de los mensajes').isDisabled(), true);
    const save = page.getByRole('button', { name: 'Guardar cambios' });
    assert.equal(await save.isDisabled(), true);
    await save.click({ force: true });
    await page.locator('#settings-form').evaluate((f) => f.requestSubmit());
    assert.equal(await text(page.locator('#save-status')), '');
    assert.deepEqual(await stack.settings(id.sanJuan), before, 'nothing changed');
    // The server agrees: this token may not write.
    const r = await stack.api('PUT', `/api/v1/tenants/${id.sanJuan}/settings/notifications`,
      { whatsapp_enabled: !before.whatsapp_enabled }, tok[role]);
    assert.equal(r.status, 403);
    await assertAxeClean(page, 'settings.test.mjs #4');
    assertCleanPage(page);
    await page.close();
  });
}

test('a refused save is said in Spanish, with the server\'s message as a detail', T(60), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.owner);
  const before = await stack.settings(id.sanJuan);
  // A value the select does not offer, as a stale or tampered page would send.
  await page.locator('#wa-language').evaluate((s) => {
    const o = document.createElement('option');
    o.value = 'fr';
    o.textContent = 'Français';
    s.append(o);
    s.value = 'fr';
  });
  await page.getByRole('button', { name: 'Guardar cambios' }).click();
  const r = await stack.api('PUT', `/api/v1/tenants/${id.sanJuan}/settings/notifications`,
    { whatsapp_default_language: 'fr' }, tok.owner);
  assert.equal(r.status, 422);
  await eventually(async () => {
    assert.equal(await text(page.locator('#save-status')),
      `No se pudieron guardar los cambios. Un valor no es válido (idioma de los mensajes). Detalle del servidor: ${r.body.message}`);
  });
  assert.match(await page.locator('#save-status .status-text').getAttribute('class'), /msg-error/);
  assert.deepEqual(await stack.settings(id.sanJuan), before);
  await page.close();
});

test('no credential fields anywhere, and English available', T(60), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.owner);
  const fields = await page.locator('#settings-form').locator('input, select, textarea').evaluateAll(
    (els) => els.map((e) => e.id));
  assert.deepEqual(fields, ['wa-enabled', 'wa-language']);
  const all = await text(page.locator('#settings-form'));
  assert.doesNotMatch(all, /access token|token de acceso|business account|cuenta de empresa|phone number id|api version|versión de la api/i);

  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.equal(await text(page.locator('h1')), 'Notification settings');
  assert.equal(await text(page.locator('#card-title')), 'WhatsApp Configuration');
  assert.equal(await text(page.locator('#wa-state-title')), 'Off');
  assert.equal(await text(page.locator('#wa-phone-line')), `Assigned number: ${phone.display_phone_number}`);
  assert.match(await text(page.locator('.notice-included')),
    /WhatsApp Notifications Included.*WhatsApp messaging is included in your subscription\./);
  assert.equal(await page.getByRole('button', { name: 'Save changes' }).count(), 1);
  assert.equal(await page.getByLabel('Message language').count(), 1);
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  assert.equal(await text(page.locator('#card-title')), 'Configuración de WhatsApp');
  await assertAxeClean(page, 'settings.test.mjs #5');
  assertCleanPage(page);
  await page.close();
});

test('a platform admin without ?tenant= is told how to pick a bakery', T(60), async () => {
  const page = await stack.newPage();
  await page.goto(stack.url(`${SETTINGS_PATH}#token=${stack.adminToken}`));
  const box = page.locator('#page-problem');
  await box.waitFor({ state: 'visible' });
  assert.match(await text(box), /\?tenant=/);
  assert.equal(await box.getByRole('link').getAttribute('href'), '/app/admin/whatsapp');
  assert.ok(await page.locator('#settings-form').isHidden());
  await assertAxeClean(page, 'settings.test.mjs #6');
  assertCleanPage(page);
  await page.close();
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
