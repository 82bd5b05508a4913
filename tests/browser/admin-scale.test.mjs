// admin-scale.test.mjs - the admin page at the design document's scale: 120 numbers in
// the account (graph-sim seeded with varied quality, status and name review) and 60
// bakeries, 40 of them with a number. The bakeries come first (the first row visible
// without scrolling on a desktop and a phone), the picker finds a number by four typed
// digits, a low-quality or not-ready number asks first, the 409 names the holder in
// Spanish, the rows show quality and verified-name clashes, and the numbers table is
// collapsible, filtered, sorted and paged. Every state is checked with axe-core, and
// every action against what tenant-service then holds.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, DEFAULT_PHONE_ID } from './stack.mjs';
import {
  T, eventually, openAdmin, row, text, assertCleanPage, assertCleanExit, assertAxeClean,
  assertNamesStartWithLabels, comboOptions, chooseInCombo,
} from './helpers.mjs';

const PREFIXES = ['Panadería', 'Horno', 'Obrador', 'Pastelería', 'Forn', 'Okindegia'];
const NAMES = ['Arrieta', 'El Trigal', 'San Juan', 'Goiko', 'Santa Ana', 'La Espiga', 'Lavapiés', 'Ainhoa',
  'Sant Jaume', 'Bilbo Zaharra'];
/** 60 bakeries, sorted as the API sorts them (by name). */
const BAKERIES = PREFIXES.flatMap((p) => NAMES.map((n) => `${p} ${n}`));

/** The 120 numbers: index 0 is the platform's default; 1..60 verified as the bakeries. */
function seedPhones() {
  return Array.from({ length: 120 }, (_, i) => {
    let verified = i === 0 ? 'Bakery Platform' : i <= 60 ? BAKERIES[i - 1] : `Bakery Platform ${i}`;
    // Every ninth bakery's number is verified in another bakery's name.
    if (i >= 1 && i <= 60 && (i - 1) % 9 === 4) verified = BAKERIES[(i - 1 + 7) % 60];
    return {
      id: `1098765432${String(10001 + i).padStart(5, '0')}`,
      display_phone_number: `+34 612 345 ${600 + i}`,
      verified_name: verified,
      quality_rating: i === 0 ? 'GREEN' : i % 7 === 3 ? 'RED' : i % 5 === 2 ? 'YELLOW' : i % 11 === 6 ? 'UNKNOWN' : 'GREEN',
      status: i !== 0 && i % 17 === 9 ? 'FLAGGED' : 'CONNECTED',
      name_status: i !== 0 && i % 13 === 5 ? 'PENDING_REVIEW' : 'APPROVED',
    };
  });
}

let stack;
const id = {}; // bakery name -> tenant id
let seeded; // the seeded numbers
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

before(async () => {
  stack = await startStack('admin-scale', { notificationEnv: { PHONE_NUMBERS_CACHE_SECONDS: '0' } });
  seeded = seedPhones();
  const r = await stack.graph('POST', '/_sim/phone_numbers', { phone_numbers: seeded, replace: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const listed = await stack.phones();
  assert.equal(listed.length, 120, 'tenant-service lists the 120 numbers');
  assert.equal(listed.find((p) => p.is_default).id, DEFAULT_PHONE_ID);
  for (const name of BAKERIES) id[name] = await stack.createTenant(name);
  // The first 40 bakeries (by index) hold the number verified in their name (numbers
  // 1..40), half of them with WhatsApp on.
  for (let k = 0; k < 40; k++) {
    const p = seeded[k + 1];
    await stack.assign(id[BAKERIES[k]], p);
    if (k % 2 === 0) await stack.putSettings(id[BAKERIES[k]], { whatsapp_enabled: true });
  }
}, T(240));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

async function apiTenant(name) {
  return (await stack.tenants()).find((x) => x.tenant_id === id[name]);
}

/** A free number of the seed that is GREEN, CONNECTED and APPROVED, not yet used by a test. */
const used = new Set();
async function freeNumber(pred) {
  const free = new Set((await stack.phones()).filter((p) => !p.assigned_tenant_id && !p.is_default).map((p) => p.id));
  const p = seeded.find((x) => free.has(x.id) && !used.has(x.id) && pred(x));
  assert.ok(p, 'a free number of that kind');
  used.add(p.id);
  return p;
}
const good = (p) => p.quality_rating === 'GREEN' && p.status === 'CONNECTED' && p.name_status === 'APPROVED';
const last4 = (p) => p.display_phone_number.replace(/\D/g, '').slice(-4);

/** An unassigned bakery not yet used by a test. */
const usedBakeries = new Set();
async function freeBakery() {
  const tenants = await stack.tenants();
  const x = tenants.find((y) => !y.phone_number_id && !usedBakeries.has(y.tenant_name));
  usedBakeries.add(x.tenant_name);
  return x.tenant_name;
}

test('bakeries first: the first bakery row is visible without scrolling at 1280x900 and 390x844', T(90), async () => {
  for (const viewport of [DESKTOP, PHONE]) {
    const page = await stack.newPage(viewport);
    await openAdmin(stack, page);
    const first = page.locator('#tenant-list li.tenant').first();
    assert.equal(await text(first.locator('.tenant-name')), (await stack.tenants())[0].tenant_name);
    const box = await first.boundingBox();
    assert.equal(await page.evaluate(() => window.scrollY), 0);
    assert.ok(box && box.y >= 0 && box.y + box.height <= viewport.height,
      `${viewport.width}x${viewport.height}: the first bakery row (${JSON.stringify(box)}) is within the viewport`);
    // The bakeries come before the numbers, which start collapsed.
    assert.equal(await page.locator('#phones-toggle').getAttribute('aria-expanded'), 'false');
    assert.equal(await page.locator('#phones-panel').isHidden(), true);
    assert.equal(await page.locator('#tenant-list li.tenant').count(), 60);
    await assertAxeClean(page, `admin page at ${viewport.width}px`);
    await assertNamesStartWithLabels(page, `admin page at ${viewport.width}px`);
    assertCleanPage(page);
    await page.close();
  }
});

test('the picker finds a number by four typed digits, and assigning it reaches the backend', T(90), async () => {
  const page = await stack.newPage(DESKTOP);
  await openAdmin(stack, page);
  const name = await freeBakery();
  const r = row(page, id[name]);
  const input = r.getByRole('combobox', { name: `Número de teléfono para ${name}` });
  // Empty: every free number, the free high-quality ready ones first, the risky ones last.
  await input.click();
  const all = await comboOptions(page, id[name]);
  const free = (await stack.phones()).filter((p) => !p.assigned_tenant_id && !p.is_default);
  assert.deepEqual(all.map((o) => o.value).sort(), free.map((p) => p.id).sort(), 'every free number is offered');
  const seedOf = (v) => seeded.find((p) => p.id === v);
  const risky = all.map((o) => { const p = seedOf(o.value); return p.quality_rating === 'RED' || p.status !== 'CONNECTED' || p.name_status !== 'APPROVED'; });
  assert.ok(risky.indexOf(true) > 0 && risky.slice(risky.indexOf(true)).every(Boolean), 'the risky numbers come last');
  assert.equal(seedOf(all[0].value).quality_rating, 'GREEN', 'a GREEN number first');
  assert.ok(all.every((o) => !/GREEN|YELLOW|RED/.test(o.text)), 'quality in Spanish');
  assert.ok(all.some((o) => /Calidad: Baja/.test(o.text) && o.risky), 'a low-quality number is marked');
  assert.ok(all.some((o) => /No listo: estado en Meta: marcado/.test(o.text) && o.risky), 'a flagged number is marked');
  await assertAxeClean(page, 'the picker open');
  await page.keyboard.press('Escape');

  const phone = await freeNumber(good);
  await input.fill(last4(phone));
  const found = await comboOptions(page, id[name]);
  assert.deepEqual(found.map((o) => o.value), [phone.id], `four digits (${last4(phone)}) find exactly ${phone.display_phone_number}`);
  await page.keyboard.press('Enter'); // chooses the highlighted option
  assert.equal(await input.inputValue(), `${phone.display_phone_number} · ${phone.verified_name}`);
  await r.getByRole('button', { name: `Asignar el número elegido a ${name}` }).click();
  await eventually(async () => {
    assert.equal(await text(r.locator('.tenant-phone')), `Teléfono: ${phone.display_phone_number}`);
  });
  assert.equal(await page.locator('#assign-dialog').isVisible(), false, 'a good number asks nothing');
  assert.equal((await apiTenant(name)).phone_number_id, phone.id, 'tenant-service holds the assignment');
  assert.match(await text(r.locator('.row-msg')), new RegExp(`Número ${phone.display_phone_number.replace(/\+/g, '\\+')} asignado a «${name}»`));
  // A name finds numbers too.
  const other = await freeBakery();
  const otherInput = row(page, id[other]).getByRole('combobox');
  await otherInput.fill('platform 11');
  const byName = await comboOptions(page, id[other]);
  assert.ok(byName.length >= 1 && byName.every((o) => /Bakery Platform 11/.test(o.text)), 'letters match the verified name');
  await page.keyboard.press('Escape');
  assertCleanPage(page);
  await page.close();
});

test('a low-quality (RED) or not-ready number asks for confirmation; cancel changes nothing', T(90), async () => {
  const page = await stack.newPage(DESKTOP);
  await openAdmin(stack, page);
  const dialog = page.locator('#assign-dialog');
  for (const [what, pred, sentence] of [
    ['RED', (p) => p.quality_rating === 'RED' && p.status === 'CONNECTED' && p.name_status === 'APPROVED', /Meta califica la calidad del número .* como baja/],
    ['FLAGGED', (p) => p.status === 'FLAGGED' && p.quality_rating !== 'RED', /no está listo para enviar: estado en Meta: marcado/],
  ]) {
    const name = await freeBakery();
    const phone = await freeNumber(pred);
    await chooseInCombo(page, id[name], last4(phone), phone.id);
    await row(page, id[name]).locator('.assign-btn').click();
    await dialog.waitFor({ state: 'visible' });
    assert.equal(await page.getByRole('dialog', { name: '¿Asignar este número?' }).count(), 1, what);
    assert.match(await text(dialog), sentence, what);
    assert.match(await text(dialog), new RegExp(`¿Asignarlo de todos modos a «${name}»?`), what);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'assign-cancel', `${what}: the safe choice has the focus`);
    await assertAxeClean(page, `the assign confirmation (${what})`);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await apiTenant(name)).phone_number_id, null, `${what}: cancelled, nothing assigned`);
    // Again, confirmed: assigned.
    await row(page, id[name]).locator('.assign-btn').click();
    await dialog.waitFor({ state: 'visible' });
    await dialog.getByRole('button', { name: 'Asignar igualmente' }).click();
    await eventually(async () => assert.equal((await apiTenant(name)).phone_number_id, phone.id, `${what}: confirmed, assigned`));
    await eventually(async () => assert.equal(await text(row(page, id[name]).locator('.tenant-phone')), `Teléfono: ${phone.display_phone_number}`));
  }
  assertCleanPage(page);
  await page.close();
});

test('the 409 names the bakery that holds the number, in Spanish', T(90), async () => {
  const page = await stack.newPage(DESKTOP);
  // Without the live stream (as while it reconnects) the page still offers the number
  // another admin takes meanwhile: the server's 409 must tell.
  await page.route('**/api/v1/events', (route) => route.abort());
  await openAdmin(stack, page);
  const loser = await freeBakery();
  const winner = await freeBakery();
  const phone = await freeNumber(good);
  await chooseInCombo(page, id[loser], last4(phone), phone.id);
  await stack.assign(id[winner], phone); // another admin, meanwhile
  const r = await stack.api('POST', `/api/v1/admin/whatsapp/tenants/${id[loser]}/assign-phone`, { phone_number_id: phone.id });
  assert.equal(r.status, 409);
  assert.equal(r.body.assigned_tenant_name, winner, 'the API names the holder');
  await row(page, id[loser]).locator('.assign-btn').click();
  const msg = row(page, id[loser]).locator('.row-msg');
  await eventually(async () => {
    assert.equal(await text(msg.locator('.msg-main')),
      `No se pudo asignar el número. El número ${phone.display_phone_number} ya está asignado a «${winner}».`);
  });
  assert.equal(await text(msg.locator('.msg-detail')), `Detalle del servidor: ${r.body.message}`);
  assert.equal((await apiTenant(loser)).phone_number_id, null);
  assert.equal((await apiTenant(winner)).phone_number_id, phone.id);
  await assertAxeClean(page, 'a row with the 409');
  assertCleanPage(page);
  await page.close();
});

test('each bakery row shows its number\'s quality and a warning when the verified name is another', T(90), async () => {
  const page = await stack.newPage(DESKTOP);
  await openAdmin(stack, page);
  const phones = await stack.phones();
  const words = { GREEN: 'Alta', YELLOW: 'Media', RED: 'Baja', UNKNOWN: 'Desconocida' };
  let mismatches = 0;
  for (const x of await stack.tenants()) {
    const r = row(page, x.tenant_id);
    const warnings = await text(r.locator('.tenant-warnings'));
    if (!x.phone_number_id) {
      assert.equal(await r.locator('.tenant-quality .quality').count(), 0, x.tenant_name);
      continue;
    }
    const p = phones.find((y) => y.id === x.phone_number_id);
    assert.equal(await text(r.locator('.tenant-quality')), `Calidad: ${words[p.quality_rating]}`, x.tenant_name);
    const clash = p.verified_name !== x.tenant_name;
    if (clash) mismatches++;
    assert.equal(warnings.includes(`El número está verificado a nombre de «${p.verified_name}», no de «${x.tenant_name}».`), clash, x.tenant_name);
  }
  assert.ok(mismatches >= 4, `several clashes seeded (${mismatches})`);
  assert.doesNotMatch(await page.locator('body').innerText(), /\b(GREEN|YELLOW|RED)\b/, 'no English quality words');
  for (const [lang, low] of [['EN', 'Low'], ['EU', 'Baxua'], ['CA', 'Baixa'], ['GL', 'Baixa']]) {
    await page.getByRole('button', { name: lang, exact: true }).click();
    const red = (await stack.tenants()).find((x) => x.phone_number_id && phones.find((y) => y.id === x.phone_number_id).quality_rating === 'RED');
    assert.match(await text(row(page, red.tenant_id).locator('.tenant-quality')), new RegExp(`${low}$`), lang);
    await assertAxeClean(page, `admin page in ${lang}`);
    await assertNamesStartWithLabels(page, `admin page in ${lang}`);
  }
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  assertCleanPage(page);
  await page.close();
});

test('the numbers table: collapsed, filtered by holder, quality and name, sorted, 50 a page', T(120), async () => {
  const page = await stack.newPage(DESKTOP);
  await openAdmin(stack, page);
  await page.getByRole('button', { name: /Números de teléfono/ }).click();
  assert.equal(await page.locator('#phones-toggle').getAttribute('aria-expanded'), 'true');
  const rows = page.locator('#phones-body tr');
  assert.equal(await rows.count(), 50);
  assert.equal(await text(page.locator('#phones-page')), 'Página 1 de 3');
  assert.equal(await text(page.locator('#phones-shown')), 'Mostrando 1–50 de 120');
  await assertAxeClean(page, 'the numbers table open');
  await page.getByRole('button', { name: 'Siguiente' }).click();
  assert.equal(await text(page.locator('#phones-shown')), 'Mostrando 51–100 de 120');
  await page.getByRole('button', { name: 'Siguiente' }).click();
  assert.equal(await rows.count(), 20);
  assert.equal(await page.getByRole('button', { name: 'Siguiente' }).getAttribute('aria-disabled'), 'true');

  const phones = await stack.phones();
  const ids = () => rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.phoneId));
  await page.getByLabel('Asignación').selectOption('free');
  const free = phones.filter((p) => !p.assigned_tenant_id && !p.is_default).map((p) => p.id);
  assert.equal(await text(page.locator('#phones-shown')), `Mostrando 1–${Math.min(50, free.length)} de ${free.length} (de 120 en la cuenta)`);
  assert.ok((await ids()).every((x) => free.includes(x)));
  await page.getByLabel('Asignación').selectOption('');
  await page.getByLabel('Calidad', { exact: true }).selectOption('red');
  const red = phones.filter((p) => p.quality_rating === 'RED').map((p) => p.id).sort();
  assert.deepEqual((await ids()).sort(), red, 'the RED numbers, as the API rates them');
  assert.ok((await page.locator('#phones-body .quality').allInnerTexts()).every((s) => /Baja/.test(s)));
  await page.getByLabel('Calidad', { exact: true }).selectOption('');
  await page.getByLabel('Nombre verificado', { exact: true }).selectOption('pending');
  assert.deepEqual((await ids()).sort(), seeded.filter((p) => p.name_status === 'PENDING_REVIEW').map((p) => p.id).sort());
  await page.getByLabel('Nombre verificado', { exact: true }).selectOption('mismatch');
  const tenants = await stack.tenants();
  const clashes = phones.filter((p) => {
    const h = tenants.find((x) => x.phone_number_id === p.id);
    return h && p.verified_name !== h.tenant_name;
  }).map((p) => p.id).sort();
  assert.deepEqual((await ids()).sort(), clashes, 'numbers verified in another name than their bakery\'s');
  await page.getByLabel('Nombre verificado', { exact: true }).selectOption('');
  await page.getByLabel('Buscar').fill(last4(seeded[42]));
  assert.deepEqual(await ids(), [seeded[42].id], 'four digits find the number in the table too');
  await page.getByLabel('Buscar').fill('');
  // Sorted by quality: the GREEN ones first, then descending puts the RED ones first.
  await page.getByRole('button', { name: 'Calidad', exact: true }).click();
  assert.equal(await page.locator('th[data-sort="quality"]').getAttribute('aria-sort'), 'ascending');
  assert.match(await rows.first().locator('.quality').getAttribute('class'), /quality-green/);
  await page.getByRole('button', { name: 'Calidad', exact: true }).click();
  assert.equal(await page.locator('th[data-sort="quality"]').getAttribute('aria-sort'), 'descending');
  assert.match(await rows.first().locator('.quality').getAttribute('class'), /quality-red/);
  await assertAxeClean(page, 'the numbers table sorted');
  // Collapsed again.
  await page.locator('#phones-toggle').click();
  assert.equal(await page.locator('#phones-panel').isHidden(), true);
  assertCleanPage(page);
  await page.close();
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
