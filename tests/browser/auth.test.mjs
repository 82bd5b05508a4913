// auth.test.mjs - signing in to the pages, against the real stack: a one-time link made
// through POST /api/v1/auth/links opens the right page into an HttpOnly session cookie,
// and no token is left in any storage a script reads; a used, expired or unknown link,
// sign-out and an ended session lead to the page that asks for a new link (five
// languages); a write without the CSRF token is refused; #token= links (developers,
// operators) become a session too; 403s are said as such; the pages'
// Content-Security-Policy with nothing loaded from outside the origin.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { startStack, BIN_DIR } from './stack.mjs';
import { T, openAdmin, text, assertCleanPage, assertCleanExit, ADMIN_PATH, SETTINGS_PATH, assertAxeClean, eventually } from './helpers.mjs';

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

/** A one-time link for the owner of tenantId (as the platform's main app makes it). */
async function ownerLink(ttl = 600) {
  const r = await stack.api('POST', '/api/v1/auth/links',
    { role: 'user', tenant_id: tenantId, tenant_role: 'owner', sub: 'ana@sanjuan.example', ttl_seconds: ttl },
    stack.serviceToken);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.path;
}

/** Everything a script of the page can read that could hold a secret. */
const scriptReadable = (page) => page.evaluate(() => ({
  local: Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)])),
  session: Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)])),
  cookie: document.cookie,
}));

/** Asserts nothing a script reads holds a JWT or the session cookie. */
async function assertNoTokenReadable(page, what) {
  const seen = await scriptReadable(page);
  const all = JSON.stringify(seen);
  assert.doesNotMatch(all, /eyJ[\w-]+\.[\w-]+\.[\w-]*/, `${what}: no JWT in localStorage, sessionStorage or document.cookie`);
  assert.doesNotMatch(seen.cookie, /bakery_session/, `${what}: the session cookie is not readable by scripts`);
  for (const v of [...Object.values(seen.local), ...Object.values(seen.session)]) {
    assert.doesNotMatch(v, /[0-9a-f]{64}/, `${what}: no code or session id stored`);
  }
}

test('a sign-in link opens the owner\'s card into an HttpOnly, SameSite=Strict cookie; no token is readable', T(60), async () => {
  const page = await stack.newPage();
  const link = await ownerLink();
  await page.goto(stack.url(link));
  await page.waitForURL((u) => u.pathname === SETTINGS_PATH);
  await page.locator('#settings-form').waitFor({ state: 'visible' });
  assert.equal(new URL(page.url()).hash, '', 'no code left in the address bar');
  const cookies = await page.context().cookies(stack.baseUrl);
  const session = cookies.find((c) => c.name === 'bakery_session');
  assert.ok(session, 'the session cookie is set');
  assert.equal(session.httpOnly, true, 'HttpOnly');
  assert.equal(session.sameSite, 'Strict', 'SameSite=Strict');
  assert.equal(session.secure, false, 'not Secure over plain HTTP (it is over HTTPS: test_tenant_console)');
  await assertNoTokenReadable(page, 'after the link');
  // A reload keeps the session: the cookie, not anything the page kept.
  await page.reload();
  await page.locator('#settings-form').waitFor({ state: 'visible' });
  await page.waitForFunction(() => /San Juan/.test(document.getElementById('subtitle').textContent));
  await assertNoTokenReadable(page, 'after a reload');
  await assertAxeClean(page, 'auth.test.mjs #1');
  assertCleanPage(page);
  await page.close();
});

test('a used link, an expired link and an unknown one show the page asking for a new link', T(90), async () => {
  const link = await ownerLink();
  const first = await stack.newPage();
  await first.goto(stack.url(link));
  await first.locator('#settings-form').waitFor({ state: 'visible' });
  await first.close();

  const page = await stack.newPage();
  await page.goto(stack.url(link));
  const panel = page.locator('#signin');
  await panel.waitFor({ state: 'visible' });
  assert.equal(await text(page.locator('#signin-reason')), 'Este enlace de acceso ya se ha usado: cada enlace sirve una sola vez.');
  assert.match(await text(panel), /pide a tu plataforma un enlace de acceso nuevo/);
  assert.equal(new URL(page.url()).hash, '', 'the code is gone from the address bar');
  assert.deepEqual((await page.context().cookies(stack.baseUrl)).filter((c) => c.name === 'bakery_session'), [],
    'no session');
  await assertAxeClean(page, 'auth.test.mjs #2 used');
  // The same page in the four other languages.
  for (const [lang, words] of [['en', /ask your platform for a new sign-in link/], ['eu', /sarbide-esteka berri bat/],
    ['ca', /enllaç d’accés nou/], ['gl', /ligazón de acceso nova/]]) {
    await page.getByRole('button', { name: lang.toUpperCase(), exact: true }).click();
    assert.match(await text(panel), words, lang);
  }
  await page.getByRole('button', { name: 'ES', exact: true }).click();

  const expiring = await ownerLink(60);
  const code = expiring.split('#code=')[1];
  await stack.sql(`UPDATE sign_in_links SET expires_at = now() - interval '1 second'
    WHERE code_hash = sha256(convert_to('${code}', 'UTF8'))`);
  await page.goto(stack.url(expiring));
  await page.waitForFunction(() => /ha caducado/.test(document.getElementById('signin-reason').textContent));
  assert.equal(await text(page.locator('#signin-reason')), 'Este enlace de acceso ha caducado.');

  await page.goto(stack.url(`/app/sign-in#code=${'0'.repeat(64)}`));
  await page.waitForFunction(() => /no es válido/.test(document.getElementById('signin-reason').textContent));
  await assertAxeClean(page, 'auth.test.mjs #2 unknown');
  assertCleanPage(page);
  await page.close();
});

test('a write with the cookie but without the CSRF token is refused; the page\'s own writes carry it', T(60), async () => {
  const page = await stack.newPage();
  await page.goto(stack.url(await ownerLink()));
  await page.locator('#settings-form').waitFor({ state: 'visible' });
  const url = `/api/v1/tenants/${tenantId}/settings/notifications`;
  const forged = await page.evaluate(async (u) => {
    const r = await fetch(u, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{"whatsapp_default_language": "eu"}' });
    return { status: r.status, body: await r.json() };
  }, url);
  assert.equal(forged.status, 403);
  assert.equal(forged.body.error, 'csrf_token_invalid');
  assert.equal((await stack.settings(tenantId)).whatsapp_default_language, 'es', 'nothing changed');
  // The page's own save goes through (its CSRF token is in memory only).
  await page.getByLabel(/Idioma de los mensajes/).selectOption('en');
  await page.getByRole('button', { name: 'Guardar cambios' }).click();
  await eventually(async () => assert.equal((await stack.settings(tenantId)).whatsapp_default_language, 'en'));
  await stack.putSettings(tenantId, { whatsapp_default_language: 'es' });
  await page.close();
});

test('signing out, and a session that ended, lead to the page asking for a new link', T(60), async () => {
  const page = await stack.newPage();
  await page.goto(stack.url(await ownerLink()));
  await page.locator('#settings-form').waitFor({ state: 'visible' });
  await page.getByRole('button', { name: 'Cerrar sesión' }).click();
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.equal(await text(page.locator('#signin-reason')), 'Has cerrado la sesión.');
  assert.match(await text(page.locator('#signin')), /pide a tu plataforma un enlace de acceso nuevo/);
  // Back on the card: the cookie is gone, so nobody is signed in.
  await page.goto(stack.url(SETTINGS_PATH));
  await page.waitForURL((u) => u.pathname === '/app/sign-in');
  await page.waitForFunction(() => /Necesitas iniciar sesión/.test(document.getElementById('signin-reason').textContent));
  // A session that ended while its cookie was still there (expired, or signed out
  // elsewhere): the card's next call is refused and the page says the session ended.
  await page.goto(stack.url(await ownerLink()));
  await page.locator('#settings-form').waitFor({ state: 'visible' });
  await stack.sql('DELETE FROM console_sessions');
  await page.reload();
  await page.waitForURL((u) => u.pathname === '/app/sign-in');
  await page.waitForFunction(() => /Tu sesión ha terminado/.test(document.getElementById('signin-reason').textContent));
  assert.match(await text(page.locator('#signin')), /pide a tu plataforma un enlace de acceso nuevo/);
  await assertAxeClean(page, 'auth.test.mjs #4');
  assertCleanPage(page);
  await page.close();
});

test('a #token= link becomes a session too, and leaves no token in the page', T(60), async () => {
  const page = await stack.newPage();
  await openAdmin(stack, page);
  assert.equal(new URL(page.url()).hash, '', 'no fragment left');
  assert.ok(!page.url().includes(stack.adminToken));
  await assertNoTokenReadable(page, 'admin page');
  await page.reload();
  await page.locator('#app').waitFor({ state: 'visible' });
  assert.ok(await page.locator('#signin').isHidden());
  await page.close();
});

test('a token signed with another secret or expired: the page says so and asks for a new link', T(60), async () => {
  const { stdout } = await run(path.join(BIN_DIR, 'mint-token'),
    ['--role', 'user', '--tenant', tenantId, '--tenant-role', 'owner'],
    { env: { ...process.env, JWT_SECRET: 'not-the-secret-of-this-stack-0123456789' } });
  const page = await stack.newPage();
  await page.goto(stack.url(`${SETTINGS_PATH}#token=${stdout.trim()}`));
  await page.waitForFunction(() => /El token no es válido/.test(document.getElementById('signin-reason')?.textContent));
  assert.match(await text(page.locator('#signin')), /enlace de acceso nuevo/);
  const expiring = await stack.mint(['--role', 'admin', '--ttl', '1']);
  await new Promise((r) => setTimeout(r, 2100));
  await page.goto(stack.url(`${ADMIN_PATH}#token=${expiring}`));
  await page.waitForFunction(() => /El token ha caducado/.test(document.getElementById('signin-reason')?.textContent));
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
  assert.match(await text(page.locator('#signin')), /enlace de acceso/);
  await assertAxeClean(page, 'auth.test.mjs #7');
  await page.close();
});

test('403: an owner of another bakery naming this one', T(60), async () => {
  const otherId = await stack.createTenant('Panadería Goiko');
  const otherOwner = await stack.userToken(otherId, 'owner');
  const page = await stack.newPage();
  // A user's bakery comes from the session, so ?tenant= is ignored for users...
  await page.goto(stack.url(`${SETTINGS_PATH}?tenant=${tenantId}#token=${otherOwner}`));
  await page.locator('#settings-form').waitFor({ state: 'visible' });
  await page.waitForFunction(() => /Goiko/.test(document.getElementById('subtitle').textContent));
  // ...and the API refuses the other bakery's settings to this token.
  const r = await stack.api('GET', `/api/v1/tenants/${tenantId}/settings/notifications`, undefined, otherOwner);
  assert.equal(r.status, 403);
  await page.close();
});

test('the pages carry a same-origin Content-Security-Policy and load nothing else', T(60), async () => {
  for (const p of [ADMIN_PATH, SETTINGS_PATH, '/app/sign-in']) {
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
  await assertAxeClean(page, 'auth.test.mjs #9');
  assertCleanPage(page);
  await page.close();
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(stack);
});
