// screenshots.test.mjs - docs/screenshots/ still shows the pages: each picture of the
// manifest is there, with its size and bytes, and both pages, opened again on `make run`'s
// demo data, show the same visible text and the same rendered structure as when the
// pictures were taken. A failure means the pages changed: run `make screenshots`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { T, assertCleanExit } from './helpers.mjs';
import { SHOTS_DIR, startDemoStack, capture, readManifest, pngSize, sha256 } from './screenshots.mjs';

const FILES = ['admin-desktop.png', 'settings-desktop.png', 'admin-phone.png', 'settings-phone.png'];
let demo;
let manifest;

before(async () => {
  manifest = readManifest();
  demo = await startDemoStack('screenshots-test');
}, T(120));

after(async () => {
  if (demo && !demo.stack.stopped) await demo.stack.stop();
}, T(60));

test('every picture of the manifest is committed with its size and bytes', () => {
  assert.deepEqual(Object.keys(manifest.images).sort(), [...FILES].sort());
  for (const [file, m] of Object.entries(manifest.images)) {
    const png = readFileSync(path.join(SHOTS_DIR, file));
    assert.deepEqual(pngSize(png), { width: m.width, height: m.height }, `${file}: size`);
    assert.deepEqual({ width: m.width, height: m.height }, m.viewport, `${file}: the viewport, whole`);
    assert.equal(sha256(png), m.png_sha256, `${file}: not the picture the manifest was written with`);
  }
});

test('the pages show what the pictures show (else: make screenshots)', T(180), async () => {
  const now = await capture(demo);
  for (const shot of now) {
    const m = manifest.images[shot.file];
    assert.ok(m, `${shot.file} is in the manifest`);
    assert.deepEqual({ width: shot.width, height: shot.height }, { width: m.width, height: m.height }, `${shot.file}: size`);
    assert.equal(shot.text_sha256, m.text_sha256,
      `${shot.file}: the page's text is not the picture's (run make screenshots). It now reads:\n${shot.text}`);
    assert.equal(shot.dom_sha256, m.dom_sha256, `${shot.file}: the page's layout is not the picture's (run make screenshots)`);
  }
});

test('the daemons exit cleanly', T(60), async () => {
  await assertCleanExit(demo.stack);
});
