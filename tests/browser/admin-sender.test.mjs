// admin-sender.test.mjs - what the admin page says about where each bakery's orders go
// out from, pinned to what the backend then does: after the page shows a state, a
// purchase order is posted to notification-service (as the order service does) and
// graph-sim's received sends and the message's final status are checked. Also: the
// platform's default number is labelled and never offered, and assigning it anyway is
// refused in Spanish.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, DEFAULT_PHONE_ID } from './stack.mjs';
import {
  T, eventually, openAdmin, openNumbers, row, phoneRow, offered, text, assertCleanPage, assertCleanExit,
  orderOutcome, assertSentFrom, assertSkipped, chooseInCombo, assertAxeClean,
} from './helpers.mjs';

let stack;
const id = {}; // name -> tenant id
let platform; // the default number, as tenant-service lists it
let own; // two other numbers of the WABA

before(async () => {
  stack = await startStack('admin-sender');
  for (const n of ['Panadería Goiko', 'Horno Santa Ana', 'Obrador Goikoetxea', 'Pastelería La Espiga', 'Forn de Sant Jaume']) {
    id[n] = await stack.createTenant(n);
  }
  const phones = await stack.phones();
  platform = phones.find((p) => p.is_default);
  assert.ok(platform, 'the phone list marks a default number');
  assert.equal(platform.id, DEFAULT_PHONE_ID);
  assert.deepEqual(phones.filter((p) => p.is_default).map((p) => p.id), [DEFAULT_PHONE_ID], 'one default number');
  own = phones.filter((p) => !p.is_default).slice(0, 2);
  // Goiko: WhatsApp on, no number. Horno Santa Ana: on, its own number.
  // Obrador Goikoetxea: off, no number. La Espiga: off, its own number.
  await stack.putSettings(id['Panadería Goiko'], { whatsapp_enabled: true });
  await stack.assign(id['Horno Santa Ana'], own[0]);
  await stack.putSettings(id['Horno Santa Ana'], { whatsapp_enabled: true });
  await stack.assign(id['Pastelería La Espiga'], own[1]);
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

test('the platform number is labelled as such and never offered in a number picker', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  await openNumbers(page);
  assert.equal(await text(phoneRow(page, DEFAULT_PHONE_ID).locator('.phone-holder')), 'Número de la plataforma');
  const free = (await stack.phones()).filter((p) => !p.is_default && !p.assigned_tenant_id).map((p) => p.id).sort();
  for (const name of ['Panadería Goiko', 'Obrador Goikoetxea', 'Forn de Sant Jaume']) {
    const values = await offered(page, id[name]);
    assert.ok(!values.includes(DEFAULT_PHONE_ID), `the platform number is not offered to ${name}`);
    assert.deepEqual(values.sort(), free, `the other free numbers are offered to ${name}`);
  }
  const total = (await stack.phones()).length;
  assert.equal(await text(page.locator('#phones-summary')), `${total} en la cuenta · ${free.length} libres`);
  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.equal(await text(phoneRow(page, DEFAULT_PHONE_ID).locator('.phone-holder')), 'Platform number');
  await page.getByRole('button', { name: 'EU', exact: true }).click();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'eu');
  assert.equal(await text(phoneRow(page, DEFAULT_PHONE_ID).locator('.phone-holder')), 'Plataformaren zenbakia');
  assert.equal(await text(row(page, id['Panadería Goiko']).locator('.tenant-phone')),
    `Ez du zenbaki propiorik: bere eskariak plataformaren ${platform.display_phone_number} zenbakitik bidaltzen dira`);
  assert.equal(await text(row(page, id['Obrador Goikoetxea']).locator('.tenant-status')), 'Desaktibatuta');
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  assertCleanPage(page);
  await page.close();
});

test('WhatsApp on and no number: a warning that orders go from the platform number, and they do', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const goiko = row(page, id['Panadería Goiko']);
  const badge = goiko.locator('.tenant-status');
  assert.equal(await text(badge), 'Número de la plataforma');
  assert.match(await badge.getAttribute('class'), /badge-warn/, 'a warning, not a neutral grey');
  const phoneLine = goiko.locator('.tenant-phone');
  assert.equal(await text(phoneLine),
    `Sin número propio: sus pedidos se envían desde el número de la plataforma ${platform.display_phone_number}`);
  assert.match(await phoneLine.getAttribute('class'), /\bwarn\b/);
  assert.equal(await goiko.getByRole('combobox').count(), 1, 'a number of its own can still be assigned');

  assertSentFrom(await orderOutcome(stack, id['Panadería Goiko']), DEFAULT_PHONE_ID, 'Goiko');
  assertCleanPage(page);
  await page.close();
});

test('WhatsApp on with its own number: Activo, and the order goes from that number', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const horno = row(page, id['Horno Santa Ana']);
  assert.equal(await text(horno.locator('.tenant-status')), 'Activo');
  assert.match(await horno.locator('.tenant-status').getAttribute('class'), /badge-ok/);
  assert.equal(await text(horno.locator('.tenant-phone')), `Teléfono: ${own[0].display_phone_number}`);
  assertSentFrom(await orderOutcome(stack, id['Horno Santa Ana']), own[0].id, 'Horno Santa Ana');
  await page.close();
});

test('WhatsApp off shows Desactivado, with or without a number, and the order is skipped', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  for (const name of ['Obrador Goikoetxea', 'Pastelería La Espiga']) {
    const r = row(page, id[name]);
    assert.equal(await text(r.locator('.tenant-status')), 'Desactivado', name);
    assert.match(await r.locator('.tenant-status').getAttribute('class'), /badge-neutral/, name);
    assertSkipped(await orderOutcome(stack, id[name]), 'whatsapp_disabled_for_tenant', name);
  }
  assert.equal(await text(row(page, id['Obrador Goikoetxea']).locator('.tenant-phone')), 'Sin número asignado');
  assert.equal(await text(row(page, id['Pastelería La Espiga']).locator('.tenant-phone')),
    `Teléfono: ${own[1].display_phone_number}`);
  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.equal(await text(row(page, id['Obrador Goikoetxea']).locator('.tenant-status')), 'Off');
  assert.equal(await text(row(page, id['Panadería Goiko']).locator('.tenant-phone')),
    `No number of its own: its orders are sent from the platform number ${platform.display_phone_number}`);
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  await page.close();
});

test('the unassign dialog says the orders move to the platform number, and the next order does', T(90), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const horno = row(page, id['Horno Santa Ana']);
  await horno.getByRole('button', { name: 'Quitar número de Horno Santa Ana' }).click();
  const dialog = page.getByRole('dialog', { name: '¿Quitar el número de WhatsApp?' });
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await text(dialog.locator('#confirm-text')),
    `El número ${own[0].display_phone_number} dejará de estar asignado a «Horno Santa Ana». ` +
    'Mientras tenga WhatsApp activado, sus pedidos se enviarán desde el número de la plataforma ' +
    `${platform.display_phone_number}, con el nombre verificado «${platform.verified_name}».`);
  assert.equal(await page.locator('#confirm-dialog').getAttribute('aria-describedby'), 'confirm-text');
  await dialog.getByRole('button', { name: 'Quitar número' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await eventually(async () => {
    assert.equal(await text(horno.locator('.tenant-status')), 'Número de la plataforma');
  });
  assert.equal((await stack.settings(id['Horno Santa Ana'])).whatsapp_enabled, true, 'WhatsApp stays on');

  const outcome = await orderOutcome(stack, id['Horno Santa Ana']);
  assertSentFrom(outcome, DEFAULT_PHONE_ID, 'Horno Santa Ana after the unassign');
  assert.ok(!outcome.sends.some((x) => x.phone_number_id === own[0].id), 'not from its old number');
  assertCleanPage(page);
  await page.close();
});

test('assigning the platform number anyway shows the 409 in Spanish and changes nothing', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const forn = row(page, id['Forn de Sant Jaume']);
  // A stale or tampered page: the platform number offered after all (its list rewritten).
  await page.route('**/api/v1/admin/whatsapp/phone-numbers', async (route) => {
    const res = await route.fetch();
    const list = await res.json();
    for (const p of list) p.is_default = false;
    await route.fulfill({ response: res, json: list }).catch(() => {}); // the page may be gone
  });
  await page.getByRole('button', { name: 'Actualizar' }).click();
  await chooseInCombo(page, id['Forn de Sant Jaume'], platform.display_phone_number.replace(/\D/g, '').slice(-4), platform.id);
  await forn.locator('.assign-btn').click();
  if (await page.locator('#assign-dialog').isVisible()) await page.locator('#assign-ok').click();
  await eventually(async () => {
    assert.equal(await text(forn.locator('.row-msg .msg-main')),
      `No se pudo asignar el número. El número ${platform.display_phone_number} es el número de la plataforma: envía los pedidos de las ` +
      'panaderías sin número propio y no se puede asignar a ninguna.');
  });
  await page.unrouteAll({ behavior: 'wait' }); // the refreshes in flight end first
  const r = await stack.api('POST', `/api/v1/admin/whatsapp/tenants/${id['Forn de Sant Jaume']}/assign-phone`,
    { phone_number_id: platform.id });
  assert.equal(r.status, 409);
  assert.equal(r.body.error, 'phone_number_reserved');
  assert.equal((await stack.tenants()).find((x) => x.tenant_id === id['Forn de Sant Jaume']).phone_number_id, null);
  assert.equal(await text(forn.locator('.tenant-status')), 'Desactivado');
  assert.match(await forn.locator('.row-msg .row-msg-text').getAttribute('class'), /msg-error/);
  assertCleanPage(page);
  await page.close();
});

test('without a platform number the page and the dialog say the orders are not sent, and they are not', T(90), async () => {
  await stack.restartNotification({ WHATSAPP_PHONE_NUMBER_ID: null }, 'no-default');
  const page = await stack.newPage();
  await openAdmin(stack, page);
  await openNumbers(page);
  assert.equal(await text(phoneRow(page, DEFAULT_PHONE_ID).locator('.phone-holder')), 'Libre', 'no longer the platform\'s');
  const goiko = row(page, id['Panadería Goiko']);
  assert.equal(await text(goiko.locator('.tenant-status')), 'Sin envío');
  assert.match(await goiko.locator('.tenant-status').getAttribute('class'), /badge-warn/);
  assert.equal(await text(goiko.locator('.tenant-phone')),
    'Sin número propio ni número de la plataforma: sus pedidos no se envían por WhatsApp');
  assertSkipped(await orderOutcome(stack, id['Panadería Goiko']), 'no_sender_phone_number', 'Goiko without a platform number');

  await row(page, id['Pastelería La Espiga']).locator('.unassign-btn').click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
  assert.equal(await text(page.locator('#confirm-text')),
    `El número ${own[1].display_phone_number} dejará de estar asignado a «Pastelería La Espiga». ` +
    'La plataforma no tiene número propio, así que sus pedidos no se enviarán por WhatsApp hasta que se le asigne otro número.');
  await page.keyboard.press('Escape');
  assertCleanPage(page);
  await page.close();
});

test('the platform\'s switch off: a notice, no row claims to send, and nothing is sent', T(90), async () => {
  await stack.restartNotification({ ENABLE_WHATSAPP_NOTIFICATIONS: 'false' }, 'disabled');
  await stack.putSettings(id['Pastelería La Espiga'], { whatsapp_enabled: true }); // with its own number
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const notice = page.locator('#platform-off');
  await notice.waitFor({ state: 'visible' });
  assert.equal(await text(notice), 'El envío por WhatsApp está desactivado en la plataforma ' +
    'notification-service tiene ENABLE_WHATSAPP_NOTIFICATIONS=false: no se envía ningún pedido por WhatsApp, tenga la panadería número o no.');
  for (const name of ['Panadería Goiko', 'Pastelería La Espiga']) {
    const r = row(page, id[name]);
    assert.equal(await text(r.locator('.tenant-status')), 'Plataforma sin envío', name);
    assert.match(await r.locator('.tenant-status').getAttribute('class'), /badge-warn/, name);
    assertSkipped(await orderOutcome(stack, id[name]), 'whatsapp_notifications_disabled', `${name}, platform off`);
  }
  assert.equal(await text(row(page, id['Panadería Goiko']).locator('.tenant-phone')), 'Sin número asignado');
  assert.equal(await text(row(page, id['Obrador Goikoetxea']).locator('.tenant-status')), 'Desactivado');
  await row(page, id['Pastelería La Espiga']).locator('.unassign-btn').click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
  await assertAxeClean(page, 'admin page, platform switch off, unassign dialog');
  assert.equal(await text(page.locator('#confirm-text')),
    `El número ${own[1].display_phone_number} dejará de estar asignado a «Pastelería La Espiga». ` +
    'El envío por WhatsApp está desactivado en la plataforma: ahora no se envía ningún pedido, con número o sin él.');
  await page.keyboard.press('Escape');
  assertCleanPage(page);
  await page.close();
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
