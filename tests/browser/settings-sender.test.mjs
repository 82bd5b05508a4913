// settings-sender.test.mjs - what the owner's card says about where the bakery's orders
// go out from (GET .../whatsapp/sender), pinned to what the backend then does: after the
// card shows a state, a purchase order is posted to notification-service and graph-sim's
// received sends and the message's final status are checked. The owner toggles WhatsApp
// through the card, which must show the new state without a reload.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, DEFAULT_PHONE_ID } from './stack.mjs';
import {
  T, eventually, openSettings, text, assertCleanPage, assertCleanExit,
  orderOutcome, assertSentFrom, assertSkipped,

  assertAxeClean,
} from './helpers.mjs';

let stack;
const id = {};
const tok = {};
let own; // San Juan's number
let platform; // the default number

before(async () => {
  stack = await startStack('settings-sender');
  id.sanJuan = await stack.createTenant('Panadería San Juan');
  id.goiko = await stack.createTenant('Panadería Goiko');
  const phones = await stack.phones();
  platform = phones.find((p) => p.is_default);
  assert.equal(platform && platform.id, DEFAULT_PHONE_ID);
  // A number Meta rates high: the card is green only for such (a RED one warns:
  // settings-card.test.mjs).
  own = phones.find((p) => !p.is_default && p.quality_rating === 'GREEN');
  await stack.assign(id.sanJuan, own);
  tok.sanJuan = await stack.userToken(id.sanJuan, 'owner');
  tok.goiko = await stack.userToken(id.goiko, 'owner');
  tok.goikoViewer = await stack.userToken(id.goiko, 'viewer');
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

const box = (page) => page.locator('#wa-state');

async function toggleAndSave(page, on) {
  const toggle = page.getByRole('switch', { name: 'Enviar notificaciones por WhatsApp' });
  if (on) await toggle.check();
  else await toggle.uncheck();
  await page.getByRole('button', { name: 'Guardar cambios' }).click();
  await eventually(async () => assert.equal(await text(page.locator('#save-status')), 'Cambios guardados.'));
}

async function stateOf(page) {
  return box(page).getAttribute('data-state');
}

test('off: "Desactivado", never a green "configurado", and the order is skipped', T(60), async () => {
  const page = await stack.newPage();
  for (const [who, tenant] of [['sanJuan', id.sanJuan], ['goiko', id.goiko]]) {
    await openSettings(stack, page, tok[who]);
    await box(page).waitFor({ state: 'visible' });
    assert.equal(await stateOf(page), 'off', who);
    assert.equal(await text(page.locator('#wa-state-title')), 'Desactivado', who);
    assert.match(await box(page).getAttribute('class'), /\bwa-off\b/, who);
    assert.equal(await box(page).locator('.badge-ok').count(), 0, `${who}: nothing green`);
    assert.doesNotMatch(await text(box(page)), /configurado/i, who);
    await page.getByRole('button', { name: 'EU', exact: true }).click();
    assert.equal(await text(page.locator('#wa-state-title')), 'Desaktibatuta', `${who} in Basque`);
    await page.getByRole('button', { name: 'ES', exact: true }).click();
    assertSkipped(await orderOutcome(stack, tenant), 'whatsapp_disabled_for_tenant', who);
  }
  await assertAxeClean(page, 'settings-sender.test.mjs #1');
  assertCleanPage(page);
  await page.close();
});

test('the owner turns WhatsApp on with a number: the card shows it in green, and the order goes from it', T(60), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.sanJuan);
  await box(page).waitFor({ state: 'visible' });
  await toggleAndSave(page, true);
  await eventually(async () => assert.equal(await stateOf(page), 'assigned'));
  assert.equal(await text(box(page)),
    `WhatsApp configurado Tus pedidos se envían por WhatsApp desde el número de tu panadería. Teléfono: ${own.display_phone_number} Calidad: Alta`);
  assert.match(await box(page).getAttribute('class'), /\bwa-ok\b/);
  assert.match(await page.locator('#wa-phone').getAttribute('class'), /badge-ok/);
  assertSentFrom(await orderOutcome(stack, id.sanJuan), own.id, 'San Juan');
  await assertAxeClean(page, 'settings-sender.test.mjs #2');
  assertCleanPage(page);
  await page.close();
});

test('on without a number of its own: a warning that orders go from the platform number, and they do', T(60), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.goiko);
  await box(page).waitFor({ state: 'visible' });
  await toggleAndSave(page, true);
  await eventually(async () => assert.equal(await stateOf(page), 'platform'));
  assert.equal(await text(page.locator('#wa-state-title')), 'Se envía desde el número de la plataforma');
  assert.equal(await text(page.locator('#wa-state-text')),
    'Tu panadería aún no tiene número propio: tus pedidos se envían desde el número de la plataforma ' +
    `${platform.display_phone_number} hasta que soporte asigne uno a tu panadería. ` +
    `Tus proveedores los reciben con el nombre «${platform.verified_name}».`);
  assert.match(await box(page).getAttribute('class'), /\bwa-warn\b/, 'a warning');
  assert.equal(await box(page).locator('.badge-ok').count(), 0, 'nothing green');
  assertSentFrom(await orderOutcome(stack, id.goiko), DEFAULT_PHONE_ID, 'Goiko');

  // Members and viewers read the same truth.
  const viewer = await stack.newPage();
  await openSettings(stack, viewer, tok.goikoViewer);
  await eventually(async () => assert.equal(await viewer.locator('#wa-state').getAttribute('data-state'), 'platform'));
  await viewer.getByRole('button', { name: 'EN', exact: true }).click();
  assert.equal(await text(viewer.locator('#wa-state-text')),
    'Your bakery has no number of its own yet: your orders are sent from the platform number ' +
    `${platform.display_phone_number} until support assigns one to your bakery. ` +
    `Your suppliers get them under the name “${platform.verified_name}”.`);
  await viewer.getByRole('button', { name: 'EU', exact: true }).click();
  assert.equal(await text(viewer.locator('#wa-state-title')), 'Plataformaren zenbakitik bidaltzen da');
  assert.equal(await text(viewer.locator('#wa-state-text')),
    'Zure okindegiak oraindik ez du zenbaki propiorik: zure eskariak plataformaren ' +
    `${platform.display_phone_number} zenbakitik bidaltzen dira, laguntza-zerbitzuak zure okindegiari zenbaki bat ` +
    `esleitu arte. Zure hornitzaileek «${platform.verified_name}» izenarekin jasotzen dituzte.`);
  await viewer.getByRole('button', { name: 'ES', exact: true }).click();
  await viewer.close();
  await assertAxeClean(page, 'settings-sender.test.mjs #3');
  assertCleanPage(page);
  await page.close();
});

test('the owner turns WhatsApp off: the card says "Desactivado" at once, and the order is skipped', T(60), async () => {
  const page = await stack.newPage();
  await openSettings(stack, page, tok.goiko);
  await eventually(async () => assert.equal(await stateOf(page), 'platform'));
  await toggleAndSave(page, false);
  await eventually(async () => assert.equal(await stateOf(page), 'off'));
  assert.equal(await text(page.locator('#wa-state-title')), 'Desactivado');
  assertSkipped(await orderOutcome(stack, id.goiko), 'whatsapp_disabled_for_tenant', 'Goiko off again');
  await page.close();
});

test('no platform number: the card says WhatsApp orders cannot be sent, and they are not', T(90), async () => {
  await stack.putSettings(id.goiko, { whatsapp_enabled: true });
  await stack.restartNotification({ WHATSAPP_PHONE_NUMBER_ID: null }, 'no-default');
  const page = await stack.newPage();
  await openSettings(stack, page, tok.goiko);
  await eventually(async () => assert.equal(await stateOf(page), 'none'));
  assert.equal(await text(box(page)),
    'Los pedidos no se pueden enviar por WhatsApp Tu panadería no tiene número de WhatsApp y la plataforma no tiene ' +
    'un número con el que enviar en su lugar: tus pedidos no se envían por WhatsApp. Contacta con soporte para que te asignen uno.');
  assert.match(await box(page).getAttribute('class'), /\bwa-warn\b/);
  assertSkipped(await orderOutcome(stack, id.goiko), 'no_sender_phone_number', 'Goiko without a platform number');
  await assertAxeClean(page, 'settings-sender.test.mjs #4');
  assertCleanPage(page);
  await page.close();
});

test('the platform\'s switch off: the card says so, and nothing is sent even from the bakery\'s number', T(90), async () => {
  await stack.restartNotification({ ENABLE_WHATSAPP_NOTIFICATIONS: 'false' }, 'disabled');
  const page = await stack.newPage();
  await openSettings(stack, page, tok.sanJuan);
  await eventually(async () => assert.equal(await stateOf(page), 'platform_disabled'));
  assert.equal(await text(box(page)),
    'Envío por WhatsApp desactivado en la plataforma La plataforma tiene desactivado el envío de mensajes de ' +
    'WhatsApp: ningún pedido se envía por WhatsApp, aunque lo tengas activado aquí.');
  assert.equal(await box(page).locator('.badge-ok').count(), 0, 'nothing green');
  assert.equal(await page.getByRole('switch').isChecked(), true, 'the bakery\'s own switch is still on');
  assertSkipped(await orderOutcome(stack, id.sanJuan), 'whatsapp_notifications_disabled', 'San Juan, platform off');
  await assertAxeClean(page, 'settings-sender.test.mjs #5');
  assertCleanPage(page);
  await page.close();
});

test('notification-service down: the card says it cannot tell, rather than guess', T(60), async () => {
  await stack.daemons.notification.stop();
  const r = await stack.api('GET', `/api/v1/tenants/${id.goiko}/whatsapp/sender`, undefined, tok.goiko);
  assert.equal(r.status, 503, 'WhatsApp on and no number of its own: nobody can say where its orders go');
  const page = await stack.newPage();
  await openSettings(stack, page, tok.goiko);
  await eventually(async () => assert.equal(await stateOf(page), 'unknown'));
  assert.equal(await text(page.locator('#wa-state-title')), 'No se pudo comprobar desde qué número se envían tus pedidos');
  assert.equal(await text(page.locator('#wa-state-text')),
    `No se pudo contactar con el servicio de notificaciones. Detalle del servidor: ${r.body.message}`,
    'in Spanish from the error code, the server\'s sentence as a detail');
  assert.match(await box(page).getAttribute('class'), /\bwa-warn\b/);
  assert.equal(await box(page).locator('.badge-ok').count(), 0, 'nothing green');
  // The settings themselves still load and save.
  assert.equal(await page.getByRole('switch').isChecked(), true);
  await assertAxeClean(page, 'settings-sender.test.mjs #6');
  assertCleanPage(page);
  await page.close();
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
