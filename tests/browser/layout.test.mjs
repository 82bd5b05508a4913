// layout.test.mjs - the pages with the ten demo bakeries, against the real stack: no
// horizontal scrolling on a 375 px phone, text contrast of at least 4.5:1, visible focus,
// and the screenshots of both pages at desktop and phone width, whole, into
// .run/screenshots/ (docs/screenshots/ is `make screenshots`', checked by
// screenshots.test.mjs).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startStack, ROOT } from './stack.mjs';
import {
  T, eventually, openAdmin, openSettings, row, horizontalOverflow, assertCleanPage, assertCleanExit,
  DEMO_BAKERIES,

  assertAxeClean,
} from './helpers.mjs';

const PHONE = { width: 375, height: 812 };
const DESKTOP = { width: 1280, height: 800 };
const SHOTS = path.join(ROOT, '.run', 'screenshots');
// A fixed clock for the screenshots ("Actualizado a las 10:30:00").
const FIXED_TIME = new Date('2025-03-14T10:30:00');

let stack;
const id = {};
let ownerToken;
let memberToken;
let notConfiguredOwner;

before(async () => {
  stack = await startStack('layout');
  for (const n of DEMO_BAKERIES) id[n] = await stack.createTenant(n);
  // The platform's default number is never assigned (409 phone_number_reserved).
  const phones = (await stack.phones()).filter((p) => !p.is_default);
  // As the demo: six bakeries with a number (the one verified in their name when the
  // WABA has it), four of them with WhatsApp on.
  const plan = [
    ['Panadería San Juan', true], ['Horno Santa Ana', true], ['Obrador Goikoetxea', false],
    ['Forn de Sant Jaume', true], ['Okindegia Bilbo Zaharra', true], ['Confitería Ainhoa', false],
  ];
  const used = new Set();
  for (const [name, on] of plan) {
    const phone = phones.find((p) => p.verified_name === name && !used.has(p.id)) ||
      phones.find((p) => !used.has(p.id) && !plan.some(([n]) => n === p.verified_name));
    used.add(phone.id);
    await stack.assign(id[name], phone);
    if (on) await stack.putSettings(id[name], { whatsapp_enabled: true });
  }
  ownerToken = await stack.userToken(id['Panadería San Juan'], 'owner');
  memberToken = await stack.userToken(id['Panadería San Juan'], 'member');
  notConfiguredOwner = await stack.userToken(id['Panadería Goiko'], 'owner');
  mkdirSync(SHOTS, { recursive: true });
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

async function assertNoHorizontalScroll(page, what) {
  const o = await horizontalOverflow(page);
  assert.ok(o.scrollWidth <= o.clientWidth && o.bodyScrollWidth <= o.clientWidth,
    `${what}: content ${o.scrollWidth}/${o.bodyScrollWidth} px wide in a ${o.clientWidth} px viewport`);
  // And nothing visible sticks out to the right.
  const wide = await page.evaluate((w) => [...document.querySelectorAll('body *')]
    .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > w + 0.5)
    .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className}`).slice(0, 5), o.clientWidth);
  assert.deepEqual(wide, [], `${what}: elements beyond the right edge`);
}

test('no horizontal scrolling at 375 px on the admin page', T(90), async () => {
  const page = await stack.newPage(PHONE);
  await openAdmin(stack, page);
  await assertNoHorizontalScroll(page, 'admin page');
  // With a row message, the dialog open and English (longer labels).
  const goiko = row(page, id['Panadería Goiko']);
  await goiko.locator('.assign-btn').click();
  await assertNoHorizontalScroll(page, 'admin page with a row message');
  await row(page, id['Panadería San Juan']).locator('.unassign-btn').click();
  await page.locator('#confirm-dialog').waitFor({ state: 'visible' });
  await assertNoHorizontalScroll(page, 'admin page with the dialog');
  const box = await page.locator('#confirm-dialog').boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, 'the dialog fits the screen');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'EN', exact: true }).click();
  await assertNoHorizontalScroll(page, 'admin page in English');
  await page.getByRole('button', { name: 'ES', exact: true }).click();
  await row(page, id['Panadería San Juan']).locator('.details-btn').click();
  await row(page, id['Panadería San Juan']).locator('.details-activity .activity').waitFor();
  await assertNoHorizontalScroll(page, 'admin page with a bakery\'s details');
  // Touch targets: the buttons and dropdowns shown are at least 44 px high (a closed
  // bakery's details are not shown).
  const small = await page.locator('#tenant-list button, #tenant-list select, #tenant-list input').evaluateAll(
    (els) => els.filter((e) => e.getClientRects().length && e.getBoundingClientRect().height < 44).map((e) => e.className));
  assert.deepEqual(small, []);
  await assertAxeClean(page, 'layout.test.mjs #1');
  assertCleanPage(page);
  await page.close();
});

test('no horizontal scrolling at 375 px on the settings card and the sign-in page', T(90), async () => {
  const page = await stack.newPage(PHONE);
  await openSettings(stack, page, ownerToken);
  await assertNoHorizontalScroll(page, 'settings, configured');
  await openSettings(stack, page, notConfiguredOwner);
  await assertNoHorizontalScroll(page, 'settings, not configured');
  await openSettings(stack, page, memberToken);
  await page.locator('#readonly-note').waitFor({ state: 'visible' });
  await assertNoHorizontalScroll(page, 'settings, read-only');
  await page.getByRole('button', { name: 'Cerrar sesión' }).click();
  await page.locator('#signin').waitFor({ state: 'visible' });
  await assertNoHorizontalScroll(page, 'sign-in page');
  await assertAxeClean(page, 'layout.test.mjs #2');
  assertCleanPage(page);
  await page.close();
});

/** Text elements whose contrast with their background is below 4.5:1. */
function lowContrast(page) {
  return page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const blend = (top, bottom) => ({
      r: top.r * top.a + bottom.r * (1 - top.a),
      g: top.g * top.a + bottom.g * (1 - top.a),
      b: top.b * top.a + bottom.b * (1 - top.a),
      a: 1,
    });
    const background = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0) layers.push(c);
        if (c && c.a === 1) break;
      }
      let bg = { r: 255, g: 255, b: 255, a: 1 };
      for (const l of layers.reverse()) bg = blend(l, bg);
      return bg;
    };
    const bad = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim() || !el || !el.getClientRects().length) continue;
      if (el.closest('[disabled], .sr-only, option, .skip-link')) continue;
      const st = getComputedStyle(el);
      if (st.visibility === 'hidden' || Number(st.opacity) === 0) continue;
      const fg = parse(st.color);
      const bg = background(el);
      const ratio = (a, b) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
      const r = ratio(blend(fg, bg), bg);
      if (r < 4.5) bad.push(`${el.tagName.toLowerCase()}.${el.className} "${n.textContent.trim().slice(0, 30)}" ${r.toFixed(2)}`);
    }
    return bad;
  });
}

test('text contrast is at least 4.5:1 on both pages', T(90), async () => {
  const page = await stack.newPage(DESKTOP);
  await openAdmin(stack, page);
  await row(page, id['Panadería Goiko']).locator('.assign-btn').click(); // an error message
  assert.deepEqual(await lowContrast(page), [], 'admin page');
  await openSettings(stack, page, ownerToken);
  await page.getByRole('button', { name: 'Guardar cambios' }).click();
  await page.locator('#save-status p').waitFor();
  assert.deepEqual(await lowContrast(page), [], 'settings card');
  await openSettings(stack, page, notConfiguredOwner);
  assert.deepEqual(await lowContrast(page), [], 'settings card, not configured');
  await openSettings(stack, page, memberToken);
  assert.deepEqual(await lowContrast(page), [], 'settings card, read-only');
  // The warning states: WhatsApp on without a number of its own (sent from the platform
  // number), on the admin page and on the card; then back as the demo has it.
  await stack.putSettings(id['Panadería Goiko'], { whatsapp_enabled: true });
  try {
    await openAdmin(stack, page);
    assert.deepEqual(await lowContrast(page), [], 'admin page, a bakery sending from the platform number');
    await openSettings(stack, page, notConfiguredOwner);
    await page.locator('#wa-state[data-state="platform"]').waitFor();
    assert.deepEqual(await lowContrast(page), [], 'settings card, sending from the platform number');
  } finally {
    await stack.putSettings(id['Panadería Goiko'], { whatsapp_enabled: false });
  }
  await page.getByRole('button', { name: 'Cerrar sesión' }).click();
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.deepEqual(await lowContrast(page), [], 'sign-in page');
  await page.close();
});

test('keyboard focus is always visible', T(60), async () => {
  const page = await stack.newPage(DESKTOP);
  await openAdmin(stack, page);
  const seen = [];
  for (let i = 0; i < 20; i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const a = document.activeElement;
      const st = getComputedStyle(a);
      return { what: `${a.tagName.toLowerCase()}#${a.id}.${a.className}`, outline: st.outlineStyle, width: parseFloat(st.outlineWidth) };
    });
    seen.push(f);
    assert.ok(f.outline !== 'none' && f.width >= 2, `focus ring on ${f.what}: ${f.outline} ${f.width}px`);
  }
  assert.ok(seen.some((f) => f.what.startsWith('input')) && seen.some((f) => f.what.includes('btn')));
  await page.close();
});

async function shoot(page, file, fullPage) {
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.mouse.move(0, 0);
  await page.screenshot({ path: path.join(SHOTS, file), fullPage, animations: 'disabled' });
}

test('screenshots of both pages at desktop and phone width', T(120), async (t) => {
  for (const [tag, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    const page = await stack.newPage(viewport);
    await page.clock.setFixedTime(FIXED_TIME);
    await openAdmin(stack, page);
    await eventually(async () => assert.match(await page.locator('#updated').innerText(), /10:30:00/));
    if (tag === 'phone') {
      // The interesting half on a phone: the bakeries with their controls.
      await page.locator('#tenants-title').evaluate((e) => {
        const card = e.closest('.card');
        window.scrollTo(0, card.getBoundingClientRect().top + window.scrollY - 16);
      });
      await shoot(page, `admin-${tag}.png`, false);
    } else {
      await shoot(page, `admin-${tag}.png`, true);
    }
    await openSettings(stack, page, ownerToken);
    await eventually(async () => assert.match(await page.locator('#subtitle').innerText(), /San Juan/));
    await shoot(page, `settings-${tag}.png`, tag === 'desktop');
    await assertAxeClean(page, 'layout.test.mjs #3');
    assertCleanPage(page);
    await page.close();
  }
  t.diagnostic(`screenshots in ${path.relative(ROOT, SHOTS)}/`);
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
