// helpers.mjs - small helpers the browser tests share: polling assertions, the pages'
// URLs with a token in the fragment, locators of the admin page's rows, and checks every
// page must pass (no script error, no CSP violation, nothing loaded from elsewhere).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const ADMIN_PATH = '/app/admin/whatsapp';
export const SETTINGS_PATH = '/app/settings/notifications';

/** Seconds for a node:test test or hook. */
export const T = (s) => ({ timeout: s * 1000 });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Calls FN until it stops throwing (assertions inside), for up to TIMEOUT ms; resolves
 * with its value, or rethrows its last error.
 */
export async function eventually(fn, timeout = 10000, interval = 100) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    await sleep(interval);
  }
}

/** Opens the admin page with TOKEN and waits for both lists. */
export async function openAdmin(stack, page, token = stack.adminToken) {
  await page.goto(stack.url(`${ADMIN_PATH}#token=${encodeURIComponent(token)}`));
  await page.locator('#app').waitFor({ state: 'visible' });
  await page.locator('#tenant-list li.tenant').first().waitFor({ state: 'attached' });
}

/** Opens the admin page's numbers table (collapsed until asked for). */
export async function openNumbers(page) {
  const toggle = page.locator('#phones-toggle');
  if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
  await page.locator('#phones-panel').waitFor({ state: 'visible' });
}

/** Opens the settings card with TOKEN (and ?tenant=ID for an admin) and waits for it. */
export async function openSettings(stack, page, token, tenantId) {
  const q = tenantId ? `?tenant=${encodeURIComponent(tenantId)}` : '';
  await page.goto(stack.url(`${SETTINGS_PATH}${q}#token=${encodeURIComponent(token)}`));
  await page.locator('#settings-form').waitFor({ state: 'visible' });
}

/** The row of the admin page's tenant ID. */
export function row(page, id) {
  return page.locator(`#tenant-list li.tenant[data-tenant-id="${id}"]`);
}

/** The row of the phone table of number ID. */
export function phoneRow(page, id) {
  return page.locator(`#phones-body tr[data-phone-id="${id}"]`);
}

/**
 * The options the open number picker of tenant ID shows now: [{value, text, risky}].
 * Opens the list first (a click) when it is closed.
 */
export async function comboOptions(page, id) {
  const r = row(page, id);
  const input = r.getByRole('combobox');
  if ((await input.getAttribute('aria-expanded')) !== 'true' && !(await r.locator('.combo-empty').isVisible())) {
    await input.click();
  }
  return r.locator('[role="listbox"] [role="option"]').evaluateAll((lis) => lis.map((li) => ({
    value: li.dataset.value, text: li.innerText.replace(/\s+/g, ' ').trim(), risky: li.classList.contains('risky'),
  })));
}

/**
 * The numbers offered by the picker of tenant ID: its whole list, as it shows it while
 * the box is empty or holds the chosen number (as the user left it); closed afterwards.
 */
export async function offered(page, id) {
  const values = (await comboOptions(page, id)).map((o) => o.value);
  await row(page, id).getByRole('combobox').press('Escape');
  return values;
}

/** Types TYPED into the picker of tenant ID and clicks the option of number PHONE_ID. */
export async function chooseInCombo(page, id, typed, phoneId) {
  const r = row(page, id);
  await r.getByRole('combobox').fill(typed);
  await r.locator(`[role="option"][data-value="${phoneId}"]`).click();
}

/** S with the characters special in a regular expression escaped. */
export function escapeRe(s) {
  return String(s).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Text with runs of white space made one space. */
export async function text(locator) {
  return (await locator.innerText()).replace(/\s+/g, ' ').trim();
}

/** What the document's focused element is: {id, tag, cls, text, tenant}. */
export function focused(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    if (!a) return null;
    const li = a.closest('li.tenant');
    return {
      id: a.id, tag: a.tagName.toLowerCase(), cls: a.className,
      text: (a.textContent || '').trim(), tenant: li ? li.dataset.tenantId : null,
    };
  });
}

/** Every page must load without script errors, CSP reports or foreign requests. */
export function assertCleanPage(page) {
  assert.deepEqual(page.errors, [], 'no uncaught script error');
  assert.deepEqual(page.consoleErrors.filter((l) => /Content Security Policy|Refused to/i.test(l)), [],
    'no Content-Security-Policy violation');
  assert.deepEqual(page.foreignRequests, [], 'nothing requested outside the origin');
}

/** The page scrolls horizontally when its content is wider than the viewport. */
export function horizontalOverflow(page) {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    bodyScrollWidth: document.body.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
}

/** Asserts that every daemon of STACK exited with status 0 after SIGTERM. */
export async function assertCleanExit(stack) {
  const exits = await stack.stop();
  for (const [name, exit] of Object.entries(exits)) {
    assert.equal(exit.code, 0,
      `${name} exited with ${JSON.stringify(exit)} (sanitizer report or crash?); see .run/browser-logs/`);
  }
}

/** Ten demo bakeries, as `make run` creates them. */
export const DEMO_BAKERIES = [
  'Panadería San Juan', 'Panadería Goiko', 'Horno Santa Ana', 'Pastelería La Espiga',
  'Obrador Goikoetxea', 'Forn de Sant Jaume', 'Panadería El Trigal', 'Okindegia Bilbo Zaharra',
  'Confitería Ainhoa', 'La Tahona de Lavapiés',
];

const FINAL = ['sent', 'delivered', 'read', 'failed', 'skipped'];
let supplierSeq = 0;

/** A supplier number no other order of this run used: +34 600 ... */
export function freshSupplierPhone() {
  supplierSeq++;
  const n = (process.pid % 1000) * 1000 + supplierSeq;
  return `+34600${String(n).padStart(6, '0').slice(-6)}`;
}

/**
 * What the backend does with a purchase order of TENANT_ID posted now: posts one to a
 * fresh supplier number, waits (a few seconds at most) for its final status and resolves
 * with {message: notification-service's record, sends: graph-sim's sends to that number}.
 */
export async function orderOutcome(stack, tenantId, timeout = 8000) {
  const to = freshSupplierPhone();
  const id = await stack.postOrder(tenantId, to);
  const message = await eventually(async () => {
    const m = await stack.message(id);
    assert.ok(FINAL.includes(m.status), `message ${id} still ${m.status}`);
    return m;
  }, timeout);
  return { message, sends: await stack.simSends(to), to };
}

/** Asserts OUTCOME (of orderOutcome) went out once, to graph-sim, from number PHONE_ID. */
export function assertSentFrom(outcome, phoneId, what) {
  const { message, sends } = outcome;
  assert.ok(['sent', 'delivered', 'read'].includes(message.status),
    `${what}: the order is sent (status ${message.status}, ${message.skip_reason || message.error_message || ''})`);
  assert.deepEqual(sends.map((x) => x.phone_number_id), [phoneId], `${what}: graph-sim got it from ${phoneId}`);
}

/** Asserts OUTCOME was skipped for REASON and nothing reached graph-sim. */
export function assertSkipped(outcome, reason, what) {
  assert.equal(outcome.message.status, 'skipped', `${what}: the order is skipped`);
  assert.equal(outcome.message.skip_reason, reason, `${what}: skip reason`);
  assert.deepEqual(outcome.sends, [], `${what}: nothing reached graph-sim`);
}

// ---- accessibility (axe-core) ---------------------------------------------------------

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core on PAGE as it is now (every rule of WCAG A and AA and axe's best
 * practices, the experimental ones such as label-content-name-mismatch included; the AAA
 * ones, e.g. 7:1 contrast, are beyond what the pages promise) and asserts there is no
 * violation. The source is
 * evaluated through the DevTools protocol, so the pages' strict CSP stays as it is. WHAT
 * names the page and state in the failure.
 */
export async function assertAxeClean(page, what) {
  const violations = await page.evaluate(async (source) => {
    if (!window.axe) (0, eval)(source);
    const rules = Object.fromEntries(window.axe.getRules().map((r) => [r.ruleId,
      { enabled: !r.tags.some((tag) => /^wcag2\d*aaa$/.test(tag)) }]));
    const result = await window.axe.run(document, { rules, resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ').slice(0, 200)}`),
    }));
  }, AXE_SOURCE);
  assert.deepEqual(violations, [], `${what}: axe-core violations`);
}

/**
 * Asserts that every button and link in PAGE whose accessible name comes from
 * aria-label starts with its visible text (WCAG 2.5.3: speech users say what they see).
 */
export async function assertNamesStartWithLabels(page, what) {
  const bad = await page.evaluate(() => [...document.querySelectorAll('button[aria-label], a[aria-label], [role="button"][aria-label]')]
    .filter((e) => e.getClientRects().length)
    .map((e) => ({ visible: e.innerText.replace(/\s+/g, ' ').trim(), name: e.getAttribute('aria-label') }))
    .filter((x) => x.visible && !x.name.toLowerCase().startsWith(x.visible.toLowerCase())));
  assert.deepEqual(bad, [], `${what}: accessible names that do not start with the visible label`);
}
