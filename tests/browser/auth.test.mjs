// auth.test.mjs - signing in without a login service, against the real stack: the token
// taken from the URL fragment into sessionStorage and out of the address bar, the paste
// form, 401 (bad signature, expired) and 403 answers shown as such, and the pages'
// Content-Security-Policy with nothing loaded from outside the origin.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { startStack, BIN_DIR } from './stack.mjs';
import { T, openAdmin, text, assertCleanPage, assertCleanExit, ADMIN_PATH, SETTINGS_PATH, assertAxeClean } from './helpers.mjs';

const run = promisify(execFile);
let stack;
let tenantId;
let ownerToken;

before(async () => {
  stack = await startStack('auth');
  tenantId = await stack.createTenant('Panadería San Juan');
  ownerToken = await stack.userToken(tenantId, 'owner');
}, T(120));

after(async () => {
  if (stack) await stack.stop();
}, T(60));

const storedToken = (page) => page.evaluate(() => sessionStorage.getItem('bakery.token'));

test('the token moves from the fragment to sessionStorage and out of the address bar', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  assert.equal(new URL(page.url()).hash, '', 'no fragment left');
  assert.ok(!page.url().includes(stack.adminToken));
  assert.equal(await storedToken(page), stack.adminToken);
  assert.equal(await page.evaluate(() => history.state), null);
  // A reload keeps the session of this tab.
  await page.reload();
  await page.locator('#app').waitFor({ state: 'visible' });
  assert.ok(await page.locator('#signin').isHidden());
  await assertAxeClean(page, 'auth.test.mjs #1');
  assertCleanPage(page);
  await page.close();
});

test('without a token the page asks for one, and a pasted token opens it', T(60), async () => {
  const page = await stack.newPage(); // a new tab: empty sessionStorage
  await page.goto(stack.url(ADMIN_PATH));
  const form = page.locator('#signin');
  await form.waitFor({ state: 'visible' });
  assert.ok(await page.locator('#app').isHidden());
  const input = page.getByLabel('Token de acceso');
  assert.equal(await input.evaluate((e) => e === document.activeElement), true, 'the field has the focus');

  await page.getByRole('button', { name: 'Entrar' }).click();
  assert.equal(await text(page.locator('#token-error')), 'Pega un token para continuar.');
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  await input.fill('not-a-token');
  await page.getByRole('button', { name: 'Entrar' }).click();
  assert.match(await text(page.locator('#token-error')), /no parece un token válido/);

  await input.fill(stack.adminToken);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.locator('#app').waitFor({ state: 'visible' });
  await page.locator('#tenant-list li.tenant').first().waitFor();
  assert.ok(await form.isHidden());
  assert.equal(await storedToken(page), stack.adminToken);

  // "Change token" forgets it and shows the form again.
  await page.getByRole('button', { name: 'Cambiar token' }).click();
  await form.waitFor({ state: 'visible' });
  assert.equal(await storedToken(page), null);
  await assertAxeClean(page, 'auth.test.mjs #2');
  assertCleanPage(page);
  await page.close();
});

test('401 with a token signed by another secret, then a good token', T(60), async () => {
  const { stdout } = await run(path.join(BIN_DIR, 'mint-token'),
    ['--role', 'user', '--tenant', tenantId, '--tenant-role', 'owner'],
    { env: { ...process.env, JWT_SECRET: 'not-the-secret-of-this-stack-0123456789' } });
  const bad = stdout.trim();
  const page = await stack.newPage();
  await page.goto(stack.url(`${SETTINGS_PATH}#token=${bad}`));
  const problem = page.locator('#signin-problem');
  await problem.waitFor({ state: 'visible' });
  assert.match(await text(problem), /El token no es válido/);
  assert.match(await text(problem), /401 invalid_token/);
  assert.equal(await page.getByRole('alert').filter({ hasText: 'El token no es válido' }).count(), 1);
  assert.ok(await page.locator('#settings-form').isHidden());
  assert.equal(await storedToken(page), null, 'the refused token is forgotten');

  await page.getByLabel('Token de acceso').fill(ownerToken);
  await page.getByRole('button', { name: 'Entrar' }).click();
  await page.locator('#settings-form').waitFor({ state: 'visible' });
  assert.ok(await page.locator('#signin').isHidden());
  await assertAxeClean(page, 'auth.test.mjs #3');
  assertCleanPage(page);
  await page.close();
});

test('401 with an expired token', T(60), async () => {
  const expiring = await stack.mint(['--role', 'admin', '--ttl', '1']);
  await new Promise((r) => setTimeout(r, 2100));
  const page = await stack.newPage();
  await page.goto(stack.url(`${ADMIN_PATH}#token=${expiring}`));
  const problem = page.locator('#signin-problem');
  await problem.waitFor({ state: 'visible' });
  assert.match(await text(problem), /El token ha caducado/);
  assert.match(await text(problem), /401 token_expired/);
  await page.close();
});

test('403: a bakery owner on the admin page', T(60), async () => {
  const page = await stack.newPage();
  await page.goto(stack.url(`${ADMIN_PATH}#token=${ownerToken}`));
  const problem = page.locator('#signin-problem');
  await problem.waitFor({ state: 'visible' });
  assert.match(await text(problem), /solo para administradores/);
  assert.match(await text(problem), /403 forbidden/);
  assert.ok(await page.locator('#app').isHidden());
  // Another token can be pasted right there.
  await page.getByLabel('Token de acceso').fill(stack.adminToken);
  await page.getByRole('button', { name: 'Entrar' }).click();
  await page.locator('#app').waitFor({ state: 'visible' });
  await page.close();
});

test('403: an owner of another bakery naming this one', T(60), async () => {
  const otherId = await stack.createTenant('Panadería Goiko');
  const otherOwner = await stack.userToken(otherId, 'owner');
  const page = await stack.newPage();
  // A user's bakery comes from the token, so ?tenant= is ignored for users...
  await page.goto(stack.url(`${SETTINGS_PATH}?tenant=${tenantId}#token=${otherOwner}`));
  await page.locator('#settings-form').waitFor({ state: 'visible' });
  await page.waitForFunction(() => /Goiko/.test(document.getElementById('subtitle').textContent));
  // ...and the API refuses the other bakery's settings to this token.
  const r = await stack.api('GET', `/api/v1/tenants/${tenantId}/settings/notifications`, undefined, otherOwner);
  assert.equal(r.status, 403);
  await page.close();
});

test('the pages carry a same-origin Content-Security-Policy and load nothing else', T(60), async () => {
  for (const p of [ADMIN_PATH, SETTINGS_PATH]) {
    const res = await fetch(stack.url(p));
    assert.equal(res.status, 200, `${p} is served`);
    assert.match(res.headers.get('content-type') || '', /text\/html/);
    const csp = res.headers.get('content-security-policy') || '';
    assert.match(csp, /default-src 'self'/, `${p} has a CSP`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, 'nothing inline, no wildcard');
    const html = await res.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script');
    assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
    assert.doesNotMatch(html, /https?:\/\//i, 'no absolute URL to elsewhere');
  }
  for (const [p, type] of [['/app/css/app.css', /text\/css/], ['/app/js/common.js', /javascript/],
    ['/app/favicon.svg', /image\/svg\+xml/]]) {
    const res = await fetch(stack.url(p));
    assert.equal(res.status, 200, `${p} is served`);
    assert.match(res.headers.get('content-type') || '', type, `${p} content type`);
  }

  const page = await stack.newPage();
  await openAdmin(stack, page);
  await page.goto(stack.url(`${SETTINGS_PATH}#token=${ownerToken}`));
  await page.locator('#settings-form').waitFor({ state: 'visible' });
  await assertAxeClean(page, 'auth.test.mjs #4');
  assertCleanPage(page);
  await page.close();
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
