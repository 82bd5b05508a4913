// admin.test.mjs - the WhatsApp Admin Management page against the real stack: the lists,
// assign and unassign through the UI (mouse and keyboard only), the 409 of a number taken
// behind the page's back, the filter, the periodic refresh that keeps the user's choice
// and focus, the language switch, and notification-service being down.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './stack.mjs';
import {
  T, eventually, escapeRe, openAdmin, openNumbers, row, phoneRow, offered, text, focused, assertCleanPage, assertCleanExit,
  assertAxeClean, assertNamesStartWithLabels, chooseInCombo,
} from './helpers.mjs';

const NAMES = ['Panadería San Juan', 'Panadería Goiko', 'Horno Santa Ana', 'Obrador Goikoetxea', 'Pastelería La Espiga'];
let stack;
const id = {}; // name -> tenant id
let allPhones; // the WABA's numbers, as tenant-service lists them
let phones; // the same without the platform's default number (never assigned)

before(async () => {
  stack = await startStack('admin');
  for (const n of NAMES) id[n] = await stack.createTenant(n);
  allPhones = await stack.phones();
  phones = allPhones.filter((p) => !p.is_default);
  assert.ok(phones.length >= 8, `graph-sim lists at least 8 numbers besides the default (got ${phones.length})`);
  // San Juan: assigned and on (Active); Horno Santa Ana: assigned, WhatsApp off.
  await stack.assign(id['Panadería San Juan'], phones[0]);
  await stack.putSettings(id['Panadería San Juan'], { whatsapp_enabled: true });
  await stack.assign(id['Horno Santa Ana'], phones[1]);
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

/** Ids of the numbers nobody holds, by the API (the platform's default number is not free). */
async function freeIds() {
  return (await stack.phones()).filter((p) => !p.assigned_tenant_id && !p.is_default).map((p) => p.id).sort();
}

async function apiTenant(name) {
  return (await stack.tenants()).find((x) => x.tenant_id === id[name]);
}

test('lists the numbers with verified name, quality badge and holder', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  assert.equal(await text(page.locator('h1')), 'Gestión de WhatsApp');
  assert.equal(await text(page.locator('#phones-count')), `(${allPhones.length})`);
  await openNumbers(page);
  assert.equal(await page.locator('#phones-body tr').count(), allPhones.length);
  for (const p of await stack.phones()) {
    const tr = phoneRow(page, p.id);
    assert.equal(await text(tr.locator('.phone-number')), p.display_phone_number);
    assert.equal(await text(tr.locator('.phone-name')), p.verified_name);
    const rating = ['GREEN', 'YELLOW', 'RED'].includes(p.quality_rating) ? p.quality_rating : null;
    const badge = tr.locator('.quality');
    const words = { GREEN: 'Alta', YELLOW: 'Media', RED: 'Baja' };
    assert.equal(await text(badge), `Calidad: ${rating ? words[rating] : 'Desconocida'}`, `quality badge of ${p.id}`);
    assert.match(await badge.getAttribute('class'), new RegExp(`quality-${rating ? rating.toLowerCase() : 'unknown'}`));
    const holder = await text(tr.locator('.phone-holder'));
    if (p.is_default) assert.equal(holder, 'Número de la plataforma');
    else if (p.assigned_tenant_id) assert.match(holder, new RegExp(escapeRe(p.assigned_tenant_name)));
    else assert.equal(holder, 'Libre');
  }
  assert.match(await text(phoneRow(page, phones[0].id).locator('.phone-holder')), /Panadería San Juan/);
  assert.match(await text(phoneRow(page, phones[1].id).locator('.phone-holder')), /Horno Santa Ana/);
  await assertAxeClean(page, 'admin page with the numbers open');
  assertCleanPage(page);
  await page.close();
});

test('lists the bakeries by name with their status', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const apiOrder = (await stack.tenants()).map((x) => x.tenant_id);
  const uiOrder = await page.locator('#tenant-list li.tenant').evaluateAll((lis) => lis.map((l) => l.dataset.tenantId));
  assert.deepEqual(uiOrder, apiOrder, 'same order as the API (by name)');
  assert.equal(await text(page.locator('#tenants-count')), `(${NAMES.length})`);

  const sanJuan = row(page, id['Panadería San Juan']);
  assert.equal(await text(sanJuan.locator('.tenant-name')), 'Panadería San Juan');
  assert.equal(await text(sanJuan.locator('.tenant-status')), 'Activo');
  assert.equal(await text(sanJuan.locator('.tenant-phone')), `Teléfono: ${phones[0].display_phone_number}`);
  assert.equal(await sanJuan.locator('.unassign-btn').count(), 1);

  const horno = row(page, id['Horno Santa Ana']);
  assert.equal(await text(horno.locator('.tenant-status')), 'Desactivado');
  assert.match(await horno.locator('.tenant-status').getAttribute('class'), /badge-neutral/);
  assert.equal(await text(horno.locator('.tenant-phone')), `Teléfono: ${phones[1].display_phone_number}`);

  const goiko = row(page, id['Panadería Goiko']);
  assert.equal(await text(goiko.locator('.tenant-status')), 'Desactivado');
  assert.match(await goiko.locator('.tenant-status').getAttribute('class'), /badge-neutral/);
  assert.equal(await text(goiko.locator('.tenant-phone')), 'Sin número asignado');
  assert.equal(await goiko.getByRole('combobox').count(), 1);
  assert.equal(await goiko.locator('.assign-btn').count(), 1);
  // Every control has an accessible name, starting with its visible label.
  assert.equal(await goiko.getByLabel('Número de teléfono para Panadería Goiko').count(), 1);
  assert.equal(await sanJuan.getByRole('button', { name: 'Quitar número de Panadería San Juan' }).count(), 1);
  assert.equal(await sanJuan.getByRole('link', { name: 'Ver ajustes de Panadería San Juan' }).count(), 1);
  await assertNamesStartWithLabels(page, 'admin page');
  await assertAxeClean(page, 'admin page');
  assertCleanPage(page);
  await page.close();
});

test('the picker offers only the free numbers', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const free = await freeIds();
  for (const name of ['Panadería Goiko', 'Obrador Goikoetxea', 'Pastelería La Espiga']) {
    assert.deepEqual((await offered(page, id[name])).sort(), free, `free numbers offered to ${name}`);
  }
  assert.ok(!free.includes(phones[0].id) && !free.includes(phones[1].id));
  const platform = allPhones.find((p) => p.is_default);
  assert.ok(platform && !free.includes(platform.id), 'the platform number is never offered');
  await page.close();
});

test('assigns a number through the UI', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const goiko = row(page, id['Panadería Goiko']);
  // A number Meta rates high (a low one asks first: admin-scale.test.mjs).
  const phone = phones.find((p) => p.quality_rating === 'GREEN' && ![phones[0].id, phones[1].id].includes(p.id));
  await chooseInCombo(page, id['Panadería Goiko'], phone.display_phone_number.replace(/\D/g, '').slice(-4), phone.id);
  await goiko.getByRole('button', { name: 'Asignar el número elegido a Panadería Goiko' }).click();

  await eventually(async () => {
    assert.equal(await text(goiko.locator('.tenant-phone')), `Teléfono: ${phone.display_phone_number}`);
  });
  assert.equal(await text(goiko.locator('.tenant-status')), 'Desactivado');
  assert.match(await text(goiko.locator('.row-msg')), new RegExp(`${escapeRe(phone.display_phone_number)}.*Panadería Goiko`));
  assert.equal(await goiko.locator('.unassign-btn').count(), 1);

  const t = await apiTenant('Panadería Goiko');
  assert.equal(t.phone_number_id, phone.id, 'the API has the assignment');
  assert.equal(t.display_phone_number, phone.display_phone_number);
  // The lists were refreshed: the number's holder, and no other picker offers it.
  await openNumbers(page);
  assert.match(await text(phoneRow(page, phone.id).locator('.phone-holder')), /Panadería Goiko/);
  assert.ok(!(await offered(page, id['Pastelería La Espiga'])).includes(phone.id));
  assertCleanPage(page);
  await page.close();
});

test('unassigns through the UI after a confirmation dialog', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const goiko = row(page, id['Panadería Goiko']);
  const before = await apiTenant('Panadería Goiko');
  assert.ok(before.phone_number_id, 'Goiko holds a number (previous test)');
  const dialog = page.locator('#confirm-dialog');

  // Cancel changes nothing.
  await goiko.getByRole('button', { name: 'Quitar número de Panadería Goiko' }).click();
  await dialog.waitFor({ state: 'visible' });
  await assertAxeClean(page, 'the unassign dialog');
  assert.equal(await page.getByRole('dialog', { name: '¿Quitar el número de WhatsApp?' }).count(), 1);
  const question = await text(dialog.locator('#confirm-text'));
  assert.match(question, new RegExp(escapeRe(before.display_phone_number)));
  assert.match(question, /Panadería Goiko/);
  assert.equal((await focused(page)).id, 'confirm-cancel', 'the safe choice has the focus');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await apiTenant('Panadería Goiko')).phone_number_id, before.phone_number_id);
  assert.equal((await focused(page)).cls.includes('unassign-btn'), true, 'focus back on the button');

  await goiko.locator('.unassign-btn').click();
  await dialog.waitFor({ state: 'visible' });
  await dialog.getByRole('button', { name: 'Quitar número' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await eventually(async () => {
    assert.equal(await text(goiko.locator('.tenant-phone')), 'Sin número asignado');
  });
  assert.equal(await text(goiko.locator('.tenant-status')), 'Desactivado');
  assert.match(await text(goiko.locator('.row-msg')), /Número quitado de «Panadería Goiko»/);
  assert.equal((await apiTenant('Panadería Goiko')).phone_number_id, null, 'the API has no number for Goiko');
  await openNumbers(page);
  assert.equal(await text(phoneRow(page, before.phone_number_id).locator('.phone-holder')), 'Libre');
  assertCleanPage(page);
  await page.close();
});

test('says in Spanish who took the number behind the page\'s back (the 409)', T(60), async () => {
  const page = await stack.newPage();
  // Behind its back: without the live stream (as while it reconnects) the page still
  // offers the number when the other admin takes it, and the server's 409 must tell.
  await page.route('**/api/v1/events', (route) => route.abort());
  await openAdmin(stack, page);
  const phone = phones[3];
  const espiga = row(page, id['Pastelería La Espiga']);
  await chooseInCombo(page, id['Pastelería La Espiga'], phone.display_phone_number.replace(/\D/g, '').slice(-4), phone.id);
  // Meanwhile another admin gives the number to Goikoetxea.
  await stack.assign(id['Obrador Goikoetxea'], phone);

  await espiga.locator('.assign-btn').click();
  // A low-quality number asks first; confirmed, the server answers 409.
  if (await page.locator('#assign-dialog').isVisible()) await page.locator('#assign-ok').click();
  await eventually(async () => {
    assert.equal(await text(espiga.locator('.row-msg .msg-main')),
      `No se pudo asignar el número. El número ${phone.display_phone_number} ya está asignado a «Obrador Goikoetxea».`);
  });
  assert.equal(await text(espiga.locator('.row-msg .msg-detail')),
    'Detalle del servidor: Phone number already assigned to another tenant');
  assert.equal(await text(espiga.locator('.tenant-phone')), 'Sin número asignado');
  assert.equal((await apiTenant('Pastelería La Espiga')).phone_number_id, null);
  // The refresh after the failure shows the real holder and the message stays.
  await eventually(async () => {
    assert.equal(await text(row(page, id['Obrador Goikoetxea']).locator('.tenant-phone')),
      `Teléfono: ${phone.display_phone_number}`);
  });
  await openNumbers(page);
  assert.match(await text(phoneRow(page, phone.id).locator('.phone-holder')), /Obrador Goikoetxea/);
  assert.ok(!(await offered(page, id['Pastelería La Espiga'])).includes(phone.id));
  assert.match(await text(espiga.locator('.row-msg')), /ya está asignado a «Obrador Goikoetxea»/);
  assertCleanPage(page);
  await page.close();
});

test('assigns and unassigns with the keyboard only', T(90), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const name = 'Pastelería La Espiga';
  const espiga = row(page, id[name]);

  // Tab from the top of the page to the filter box.
  for (let i = 0; i < 25 && (await focused(page)).id !== 'filter'; i++) await page.keyboard.press('Tab');
  assert.equal((await focused(page)).id, 'filter', 'the filter box is reachable with Tab');
  await page.keyboard.type('espiga');
  assert.equal(await text(page.locator('#tenants-shown')), 'Mostrando 1 de 5');

  // Tab into the only row left: its settings link, its details, then the number picker.
  await page.keyboard.press('Tab');
  let f = await focused(page);
  assert.equal(f.tenant, id[name]);
  assert.equal(f.tag, 'a');
  await page.keyboard.press('Tab');
  f = await focused(page);
  assert.ok(f.tag === 'button' && f.cls.includes('details-btn') && f.tenant === id[name], `Tab reaches Detalles (got ${JSON.stringify(f)})`);
  await page.keyboard.press('Tab');
  f = await focused(page);
  assert.equal(f.tag, 'input');
  assert.equal(f.tenant, id[name]);
  const input = espiga.getByRole('combobox');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'the focused picker shows a focus ring');
  await page.keyboard.press('ArrowDown'); // opens the list on the first free number
  assert.equal(await input.getAttribute('aria-expanded'), 'true');
  const highlighted = await input.getAttribute('aria-activedescendant');
  assert.ok(highlighted, 'an option is highlighted');
  await assertAxeClean(page, 'the picker open by keyboard');
  await page.keyboard.press('Enter'); // chooses it
  const chosen = await input.getAttribute('data-value');
  assert.ok(chosen, 'Enter chose a number');
  assert.equal(await input.getAttribute('aria-expanded'), 'false');
  const phone = (await stack.phones()).find((p) => p.id === chosen);
  await page.keyboard.press('Tab');
  f = await focused(page);
  assert.ok(f.cls.includes('assign-btn'), `Tab reaches Assign (got ${JSON.stringify(f)})`);
  await page.keyboard.press('Enter');

  await eventually(async () => {
    assert.equal(await text(espiga.locator('.tenant-phone')), `Teléfono: ${phone.display_phone_number}`);
  });
  assert.equal((await apiTenant(name)).phone_number_id, chosen);
  // The focus moved to what replaced the Assign button.
  f = await focused(page);
  assert.ok(f.cls.includes('unassign-btn') && f.tenant === id[name], `focus on Unassign (got ${JSON.stringify(f)})`);

  // Unassign: Enter opens the dialog on Cancel; Tab to the confirmation, Enter.
  await page.keyboard.press('Enter');
  await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
  assert.equal((await focused(page)).id, 'confirm-cancel');
  await page.keyboard.press('Tab');
  assert.equal((await focused(page)).id, 'confirm-ok');
  await page.keyboard.press('Enter');
  await eventually(async () => {
    assert.equal(await text(espiga.locator('.tenant-phone')), 'Sin número asignado');
  });
  assert.equal((await apiTenant(name)).phone_number_id, null);
  f = await focused(page);
  assert.equal(f.tenant, id[name], 'the focus stays in the row');
  assert.equal(f.tag, 'input');
  assertCleanPage(page);
  await page.close();
});

test('the filter box narrows the bakeries by name or number', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const visible = () => page.locator('#tenant-list li.tenant:visible .tenant-name').allInnerTexts();
  await page.getByLabel('Filtrar panaderías').fill('goiko');
  assert.deepEqual((await visible()).sort(), ['Obrador Goikoetxea', 'Panadería Goiko']);
  assert.equal(await text(page.locator('#tenants-shown')), 'Mostrando 2 de 5');
  await page.getByLabel('Filtrar panaderías').fill('panaderia'); // accents do not matter
  assert.deepEqual((await visible()).sort(), ['Panadería Goiko', 'Panadería San Juan']);
  const digits = phones[0].display_phone_number.replace(/\D/g, '').slice(-6);
  await page.getByLabel('Filtrar panaderías').fill(digits);
  assert.deepEqual(await visible(), ['Panadería San Juan']);
  await page.getByLabel('Filtrar panaderías').fill('zzz');
  assert.deepEqual(await visible(), []);
  assert.match(await text(page.locator('#tenants-empty')), /Ninguna panadería coincide con «zzz»/);
  await page.getByLabel('Filtrar panaderías').fill('');
  assert.equal((await visible()).length, 5);
  await page.close();
});

test('refreshes every 15 s without losing the open choice or the focus', T(90), async () => {
  const page = await stack.newPage();
  await page.clock.install();
  await openAdmin(stack, page);
  const espiga = row(page, id['Pastelería La Espiga']);
  const input = espiga.getByRole('combobox');
  const free = await freeIds();
  const chosenPhone = phones.find((p) => p.id === free[0]);
  await chooseInCombo(page, id['Pastelería La Espiga'], chosenPhone.display_phone_number.replace(/\D/g, '').slice(-4), free[0]);
  const label = await input.inputValue();
  await input.focus();

  // Behind the page's back: Horno Santa Ana loses its number, Goiko gets one.
  const hornoPhone = (await apiTenant('Horno Santa Ana')).phone_number_id;
  await stack.apiOk('DELETE', `/api/v1/admin/whatsapp/tenants/${id['Horno Santa Ana']}/unassign-phone`);
  const goikoPhone = phones.find((p) => p.id === free[1]);
  await stack.assign(id['Panadería Goiko'], goikoPhone);

  await page.clock.runFor(15000);
  await eventually(async () => {
    assert.equal(await text(row(page, id['Horno Santa Ana']).locator('.tenant-phone')), 'Sin número asignado');
    assert.equal(await text(row(page, id['Panadería Goiko']).locator('.tenant-phone')),
      `Teléfono: ${goikoPhone.display_phone_number}`);
  });
  // The user's picker kept its choice, its text and its focus.
  assert.equal(await input.getAttribute('data-value'), free[0]);
  assert.equal(await input.inputValue(), label);
  const f = await focused(page);
  assert.equal(f.tag, 'input');
  assert.equal(f.tenant, id['Pastelería La Espiga']);
  // Its list follows the new lists: the freed number is offered, the taken one is not.
  const now = await offered(page, id['Pastelería La Espiga']);
  assert.ok(now.includes(hornoPhone), 'the freed number is offered');
  assert.ok(!now.includes(goikoPhone.id), 'the taken number is not');
  assert.equal(await input.getAttribute('data-value'), free[0], 'still chosen');
  // An open list survives a refresh with its highlight.
  await input.fill('');
  await input.press('ArrowDown');
  await input.press('ArrowDown');
  const highlighted = await espiga.locator('[role="option"][aria-selected="true"]').getAttribute('data-value');
  await stack.assign(id['Horno Santa Ana'], phones.find((p) => p.id === hornoPhone));
  await page.clock.runFor(15000);
  await eventually(async () => {
    assert.equal(await text(row(page, id['Horno Santa Ana']).locator('.tenant-phone')),
      `Teléfono: ${phones.find((p) => p.id === hornoPhone).display_phone_number}`);
  });
  assert.equal(await input.getAttribute('aria-expanded'), 'true', 'the list is still open');
  assert.equal(await espiga.locator('[role="option"][aria-selected="true"]').getAttribute('data-value'), highlighted);
  await input.press('Escape');
  assert.equal(await input.getAttribute('aria-expanded'), 'false', 'Escape closes the list');
  await openNumbers(page);
  assert.match(await text(phoneRow(page, hornoPhone).locator('.phone-holder')), /Horno Santa Ana/);
  assertCleanPage(page);
  await page.close();
});

test('switches to English and remembers it', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.equal(await text(page.locator('h1')), 'WhatsApp Admin Management');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  assert.equal(await text(row(page, id['Panadería San Juan']).locator('.tenant-status')), 'Active');
  assert.equal(await text(row(page, id['Pastelería La Espiga']).locator('.tenant-status')), 'Off');
  assert.equal(await page.getByRole('button', { name: 'EN', exact: true }).getAttribute('aria-pressed'), 'true');
  await page.reload();
  await page.locator('#app').waitFor({ state: 'visible' });
  await eventually(async () => {
    assert.equal(await text(page.locator('h1')), 'WhatsApp Admin Management');
    assert.match(await text(page.locator('#tenants-shown')), /Showing 5 of 5/);
  });
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  assert.equal(await text(page.locator('h1')), 'Gestión de WhatsApp');
  await page.close();
});

test('with notification-service down the numbers show the error and the bakeries still work', T(90), async () => {
  await stack.daemons.notification.stop();
  const page = await stack.newPage();
  await openAdmin(stack, page);
  const box = page.locator('#phones-error');
  await box.waitFor({ state: 'visible' });
  assert.match(await text(box), /No se pudo cargar la lista de números de teléfono/);
  const r = await stack.api('GET', '/api/v1/admin/whatsapp/phone-numbers');
  assert.equal(r.status, 503);
  assert.equal(r.body.error, 'upstream_unavailable');
  assert.match(await text(box), /No se pudo contactar con el servicio de notificaciones/);
  assert.ok(r.body.message && (await text(box)).includes(`Detalle del servidor: ${r.body.message}`), 'the server\'s message as a detail');
  assert.equal(await page.locator('#tenant-list li.tenant').count(), NAMES.length);
  assert.equal(await text(row(page, id['Panadería San Juan']).locator('.tenant-status')), 'Activo');
  const espiga = row(page, id['Pastelería La Espiga']);
  assert.equal(await espiga.getByRole('combobox').getAttribute('placeholder'), 'Lista de números no disponible');
  await espiga.getByRole('combobox').click();
  assert.equal(await text(espiga.locator('.combo-empty')), 'Lista de números no disponible');
  await assertAxeClean(page, 'admin page without the numbers');
  // Unassign does not need notification-service.
  await row(page, id['Panadería Goiko']).locator('.unassign-btn').click();
  await page.locator('#confirm-ok').click();
  await eventually(async () => {
    assert.equal(await text(row(page, id['Panadería Goiko']).locator('.tenant-phone')), 'Sin número asignado');
  });
  assertCleanPage(page);
  await page.close();
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
