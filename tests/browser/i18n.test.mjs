// i18n.test.mjs - the pages' five languages (frontend-static/js/lang/*.js) say the same
// things: every language has every key of Spanish and no other, with the same {name}
// placeholders; every error code tenant-service answers has a text; no page shows Meta's
// words GREEN/YELLOW/RED. Pure data, no browser.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './stack.mjs';

const LANGS = ['es', 'en', 'eu', 'ca', 'gl'];
const load = async (code) => (await import(path.join(ROOT, 'frontend-static/js/lang', `${code}.js`))).default;
const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every language has exactly the Spanish keys, with the same placeholders', async () => {
  const es = await load('es');
  for (const code of LANGS.slice(1)) {
    const other = await load(code);
    assert.deepEqual(Object.keys(other).filter((k) => !(k in es)), [], `${code}: keys Spanish does not have`);
    assert.deepEqual(Object.keys(es).filter((k) => !(k in other)), [], `${code}: keys missing`);
    for (const k of Object.keys(es)) {
      assert.deepEqual(placeholders(other[k]), placeholders(es[k]), `${code} ${k}: placeholders`);
    }
  }
});

test('every error code tenant-service answers has a text in each language', async () => {
  // The codes of its error replies, from its source and the common HTTP layer.
  const dirs = ['services/tenant', 'common'];
  const codes = new Set();
  for (const d of dirs) {
    for (const f of readdirSync(path.join(ROOT, d)).filter((x) => x.endsWith('.c'))) {
      const src = readFileSync(path.join(ROOT, d, f), 'utf8');
      for (const m of src.matchAll(/(?:reply_error|reply_field_error)\(\s*req,\s*\d+,\s*"([a-z_]+)"/g)) codes.add(m[1]);
      for (const m of src.matchAll(/"error",\s*"([a-z_]+)"/g)) codes.add(m[1]);
    }
  }
  // Never a reply a page gets (a static file changing while read, a method the pages do
  // not use, an unused generic code), and log level names the pattern also catches.
  for (const c of ['file_changing', 'method_not_allowed', 'conflict', 'fatal']) codes.delete(c);
  assert.ok(codes.has('phone_already_assigned') && codes.has('upstream_unavailable'), [...codes].join(' '));
  for (const code of LANGS) {
    const s = await load(code);
    assert.deepEqual([...codes].filter((c) => !(`err.${c}` in s)), [], `${code}: error codes without a text`);
  }
});

test('no text shows Meta\'s GREEN, YELLOW or RED', async () => {
  for (const code of LANGS) {
    const s = await load(code);
    const bad = Object.entries(s).filter(([, v]) => /\b(GREEN|YELLOW|RED)\b/.test(v)).map(([k]) => k);
    assert.deepEqual(bad, [], code);
  }
});
