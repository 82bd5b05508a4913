// settings-languages.test.mjs - the message languages of the owner's card follow Meta's
// approval of po_notification (issue 19): graph-sim starts with it APPROVED in es, en,
// eu only, so Catalan and Galician are offered disabled with the pending note; once the
// platform creates the Catalan template at Meta (graph-sim approves it at once) the
// owner picks Català and the tenant's language is ca. Also: the current language kept
// with the note, the note in English and Basque, and notification-service down (every
// language offered, the card saying the approval could not be checked).
//
// notification-service runs with PHONE_NUMBERS_CACHE_SECONDS=0: its template list is
// read from Graph at each ask, so a reload shows Meta's change at once.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startStack, ROOT, WABA_ID } from './stack.mjs';
import { T, eventually, openSettings, text, assertCleanPage, assertCleanExit, assertAxeClean } from './helpers.mjs';

const PENDING_ES = ' (pendiente de aprobación por Meta)';
const NAMES = ['Español', 'English', 'Euskara', 'Català', 'Galego'];

let stack;
let bakery;
let owner;

before(async () => {
  stack = await startStack('languages', { notificationEnv: { PHONE_NUMBERS_CACHE_SECONDS: '0' } });
  bakery = await stack.createTenant('Forn de Sant Jaume');
  owner = await stack.userToken(bakery, 'owner');
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

/** The language select's options: [{value, label, disabled, lang}]. */
function options(page) {
  return page.locator('#wa-language option').evaluateAll((opts) => opts.map((o) => ({
    value: o.value, label: o.textContent, disabled: o.disabled, lang: o.getAttribute('lang'),
  })));
}

/** Opens the owner's card and waits until the select shows the API's languages. */
async function openCard(page) {
  await openSettings(stack, page, owner);
  await page.locator('#wa-language[data-sig]').waitFor({ state: 'attached' });
}

/** po_notification's Catalan text and example values, as common/po_template.c has them. */
function catalanTemplate() {
  const src = readFileSync(path.join(ROOT, 'common/po_template.c'), 'utf8');
  const m = /\{"ca",\s*"Català",\s*"([^"]+)",\s*\{"([^"]+)",\s*"([^"]+)",\s*"([^"]+)"\}\}/.exec(src);
  assert.ok(m, 'common/po_template.c has the Catalan text');
  return {
    name: 'po_notification', language: 'ca', category: 'UTILITY',
    components: [{ type: 'BODY', text: m[1], example: { body_text: [[m[2], m[3], m[4]]] } }],
  };
}

test('the owner may pick es, en, eu; Catalan and Galician are offered disabled, awaiting Meta', T(60), async () => {
  const page = await stack.newPage();
  await openCard(page);
  const language = page.getByLabel('Idioma de los mensajes');
  assert.equal(await language.inputValue(), 'es');
  assert.deepEqual(await options(page), [
    { value: 'es', label: 'Español', disabled: false, lang: 'es' },
    { value: 'en', label: 'English', disabled: false, lang: 'en' },
    { value: 'eu', label: 'Euskara', disabled: false, lang: 'eu' },
    { value: 'ca', label: `Català${PENDING_ES}`, disabled: true, lang: null },
    { value: 'gl', label: `Galego${PENDING_ES}`, disabled: true, lang: null },
  ]);
  assert.ok(await page.locator('#wa-language-unchecked').isHidden(), 'Meta\'s approval was checked');
  assert.ok(await page.locator('#wa-language-pending').isHidden(), 'Español needs no note');
  assert.equal(await language.getAttribute('aria-describedby'), 'wa-language-hint');

  // What the card shows is what the API says.
  const api = await stack.apiOk('GET', `/api/v1/tenants/${bakery}/whatsapp/languages`, undefined, owner);
  assert.equal(api.template_status_known, true);
  assert.deepEqual(api.languages.map((l) => [l.code, l.name, l.template_status, l.available]), [
    ['es', 'Español', 'APPROVED', true], ['en', 'English', 'APPROVED', true],
    ['eu', 'Euskara', 'APPROVED', true], ['ca', 'Català', 'MISSING', false], ['gl', 'Galego', 'MISSING', false],
  ]);

  // The note in the page's language; the languages keep their own names.
  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.deepEqual((await options(page)).map((o) => o.label),
    ['Español', 'English', 'Euskara', 'Català (awaiting Meta’s approval)', 'Galego (awaiting Meta’s approval)']);
  await page.getByRole('button', { name: 'EU', exact: true }).click();
  assert.deepEqual((await options(page)).map((o) => o.label),
    ['Español', 'English', 'Euskara', 'Català (Metaren onarpenaren zain)', 'Galego (Metaren onarpenaren zain)']);
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  assert.equal((await options(page))[3].label, `Català${PENDING_ES}`);
  assert.equal(await language.inputValue(), 'es');
  await assertAxeClean(page, 'settings-languages.test.mjs #1');
  assertCleanPage(page);
  await page.close();
});

test('once Meta approves Catalan the owner selects Català, saves, and the bakery\'s language is ca', T(90), async () => {
  const page = await stack.newPage();
  await openCard(page);
  assert.equal((await options(page))[3].disabled, true);

  // The platform creates the template at Meta; graph-sim approves it at once.
  const created = await stack.graph('POST', `/v25.0/${WABA_ID}/message_templates`, catalanTemplate());
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.equal(created.body.status, 'APPROVED');

  await page.reload();
  await page.locator('#wa-language[data-sig]').waitFor({ state: 'attached' });
  const opts = await options(page);
  assert.deepEqual(opts[3], { value: 'ca', label: 'Català', disabled: false, lang: 'ca' });
  assert.deepEqual(opts[4], { value: 'gl', label: `Galego${PENDING_ES}`, disabled: true, lang: null });

  const language = page.getByLabel('Idioma de los mensajes');
  await language.selectOption('ca');
  await page.getByRole('button', { name: 'Guardar cambios' }).click();
  await eventually(async () => assert.equal(await text(page.locator('#save-status')), 'Cambios guardados.'));
  assert.equal((await stack.settings(bakery)).whatsapp_default_language, 'ca');

  await page.reload();
  await page.locator('#wa-language[data-sig]').waitFor({ state: 'attached' });
  assert.equal(await language.inputValue(), 'ca');
  await assertAxeClean(page, 'settings-languages.test.mjs #2');
  assertCleanPage(page);
  await page.close();
});

test('a current language Meta has not approved stays selected, with the note', T(60), async () => {
  await stack.putSettings(bakery, { whatsapp_default_language: 'gl' });
  const page = await stack.newPage();
  await openCard(page);
  const language = page.getByLabel('Idioma de los mensajes');
  assert.equal(await language.inputValue(), 'gl');
  assert.equal(await text(language.locator('option:checked')), `Galego${PENDING_ES}`);
  const gl = (await options(page))[4];
  assert.equal(gl.disabled, false, 'the current one can be chosen again');
  // The note again under the select, whole where a phone's select cuts the label.
  const note = page.locator('#wa-language-pending');
  assert.equal(await text(note), 'Galego: pendiente de aprobación por Meta.');
  await page.getByRole('button', { name: 'EN', exact: true }).click();
  assert.equal(await text(note), 'Galego: awaiting Meta’s approval.');
  assert.equal(await text(page.locator('#wa-language option:checked')), 'Galego (awaiting Meta’s approval)');
  await page.getByRole('button', { name: 'ES', exact: true }).click();

  // Saving the switch keeps it; leaving it and coming back is possible.
  await language.selectOption('es');
  assert.ok(await note.isHidden(), 'no note for Español');
  await language.selectOption('gl');
  assert.ok(await note.isVisible());
  await page.getByRole('switch', { name: 'Enviar notificaciones por WhatsApp' }).check();
  await page.getByRole('button', { name: 'Guardar cambios' }).click();
  await eventually(async () => assert.equal(await text(page.locator('#save-status')), 'Cambios guardados.'));
  const saved = await stack.settings(bakery);
  assert.equal(saved.whatsapp_default_language, 'gl');
  assert.equal(saved.whatsapp_enabled, true);
  await assertAxeClean(page, 'settings-languages.test.mjs #3');
  assertCleanPage(page);
  await page.close();
});

test('with notification-service down every language is offered and the card says the approval is unchecked', T(90), async () => {
  const exit = await stack.daemons.notification.stop();
  assert.equal(exit.code, 0, `notification-service exited with ${JSON.stringify(exit)}`);
  const page = await stack.newPage();
  await openCard(page);
  assert.deepEqual(await options(page), NAMES.map((name, i) => ({
    value: ['es', 'en', 'eu', 'ca', 'gl'][i], label: name, disabled: false, lang: ['es', 'en', 'eu', 'ca', 'gl'][i],
  })));
  const note = page.locator('#wa-language-unchecked');
  assert.equal(await text(note), 'No se pudo comprobar qué idiomas ha aprobado Meta.');
  assert.equal(await page.getByLabel('Idioma de los mensajes').getAttribute('aria-describedby'),
    'wa-language-hint wa-language-unchecked');

  // The owner can still save.
  await page.getByLabel('Idioma de los mensajes').selectOption('eu');
  await page.getByRole('button', { name: 'Guardar cambios' }).click();
  await eventually(async () => assert.equal(await text(page.locator('#save-status')), 'Cambios guardados.'));
  assert.equal((await stack.settings(bakery)).whatsapp_default_language, 'eu');
  await assertAxeClean(page, 'settings-languages.test.mjs #4');
  assertCleanPage(page);
  await page.close();
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
