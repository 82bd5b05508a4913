// screenshots.mjs - the screenshots of docs/screenshots/ and their manifest: both pages
// at 1280x900 and 390x844, on a private stack (stack.mjs) holding `make run`'s own demo
// data (scripts/demo.sh, run against it), Spanish, with a fixed clock. The manifest keeps
// per image its size and a hash of what the page showed: its visible text and its
// rendered DOM structure (never the pixels, which differ between font builds), so
// screenshots.test.mjs can tell when the pages no longer show what the pictures show.
//
//   node tests/browser/screenshots.mjs      (what `make screenshots` runs) writes them
//
//   const demo = await startDemoStack();   // the stack, with the demo bakeries
//   const shots = await capture(demo, {dir});  // [{file, ...manifest entry}]; PNGs in dir

import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startStack, ROOT } from './stack.mjs';
import { openAdmin, openSettings } from './helpers.mjs';

const run = promisify(execFile);

export const SHOTS_DIR = path.join(ROOT, 'docs', 'screenshots');
export const MANIFEST = path.join(SHOTS_DIR, 'manifest.json');
const VIEWPORTS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } };
// The pages' clock ("Actualizado a las 10:30:00"); the data carries no time that is shown.
const FIXED_TIME = new Date('2026-03-14T10:30:00');
const SETTLE_MS = 400;
const SETTLE_TIMEOUT_MS = 15000;

export const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** A stack with scripts/demo.sh's bakeries: {stack, demoTenantId, ownerToken}. */
export async function startDemoStack(name = 'screenshots') {
  const stack = await startStack(name);
  try {
    const { stdout } = await run(path.join(ROOT, 'scripts', 'demo.sh'), [], {
      env: { ...process.env, TENANT_URL: stack.baseUrl, ADMIN_TOKEN: stack.adminToken },
    });
    const demoTenantId = stdout.trim();
    return { stack, demoTenantId, ownerToken: await stack.userToken(demoTenantId, 'owner') };
  } catch (e) {
    await stack.stop();
    throw e;
  }
}

/** What PAGE shows: its visible text (whitespace folded) and its rendered element tree. */
async function pageContent(page) {
  return page.evaluate(() => {
    const text = document.body.innerText.split('\n').map((l) => l.replace(/\s+/g, ' ').trim())
      .filter(Boolean).join('\n');
    const lines = [];
    const walk = (node, depth) => {
      for (const child of node.children) {
        if (!child.getClientRects().length && getComputedStyle(child).display !== 'contents') continue;
        const cls = [...child.classList].sort().join('.');
        lines.push(`${depth}:${child.tagName.toLowerCase()}${cls ? `.${cls}` : ''}`);
        walk(child, depth + 1);
      }
    };
    walk(document.body, 0);
    return { text, dom: lines.join('\n') };
  });
}

/** Waits until PAGE's content stays the same for SETTLE_MS; resolves with it. */
async function settled(page) {
  const until = Date.now() + SETTLE_TIMEOUT_MS;
  let last = await pageContent(page);
  for (;;) {
    await page.waitForTimeout(SETTLE_MS);
    const now = await pageContent(page);
    if (now.text === last.text && now.dom === last.dom) return now;
    if (Date.now() > until) throw new Error('the page kept changing; no screenshot taken');
    last = now;
  }
}

async function adminReady(page) {
  await page.locator('#health-account dd').waitFor();
  await page.getByText('Actualizado a las 10:30:00').waitFor();
  await page.getByText('Actualizaciones en directo').waitFor();
}

async function settingsReady(page) {
  await page.locator('#subtitle').getByText('Panadería San Juan').waitFor();
}

/**
 * Takes every screenshot of DEMO (from startDemoStack) and resolves with their manifest
 * entries: {file, page, viewport, width, height, text_sha256, dom_sha256, png_sha256,
 * text}. The PNGs are written into DIR when given.
 */
export async function capture(demo, { dir } = {}) {
  const { stack, ownerToken } = demo;
  const shots = [];
  if (dir) mkdirSync(dir, { recursive: true });
  for (const [tag, viewport] of Object.entries(VIEWPORTS)) {
    const pages = [
      ['admin', '/app/admin/whatsapp', (p) => openAdmin(stack, p), adminReady],
      ['settings', '/app/settings/notifications', (p) => openSettings(stack, p, ownerToken), settingsReady],
    ];
    for (const [name, url, open, ready] of pages) {
      const page = await stack.newPage(viewport);
      await page.clock.setFixedTime(FIXED_TIME);
      await open(page);
      await ready(page);
      await page.evaluate(() => document.activeElement && document.activeElement.blur());
      await page.mouse.move(0, 0);
      const content = await settled(page);
      const file = `${name}-${tag}.png`;
      const png = await page.screenshot({ animations: 'disabled', ...(dir ? { path: path.join(dir, file) } : {}) });
      shots.push({
        file, page: url, viewport, ...pngSize(png),
        text_sha256: sha256(content.text), dom_sha256: sha256(content.dom), png_sha256: sha256(png),
        text: content.text,
      });
      await page.close();
    }
  }
  return shots;
}

/** {width, height} of a PNG, from its IHDR chunk. */
export function pngSize(buf) {
  if (buf.length < 24 || buf.toString('latin1', 1, 4) !== 'PNG' || buf.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error('not a PNG');
  }
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** The manifest of SHOTS, as docs/screenshots/manifest.json holds it. */
export function manifestOf(shots) {
  const images = {};
  for (const { file, text, ...entry } of shots) images[file] = entry;
  return { generated_by: 'make screenshots', images };
}

export function readManifest() {
  return JSON.parse(readFileSync(MANIFEST, 'utf8'));
}

// `make screenshots`: the pictures and the manifest, together.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const demo = await startDemoStack();
  try {
    const shots = await capture(demo, { dir: SHOTS_DIR });
    writeFileSync(MANIFEST, `${JSON.stringify(manifestOf(shots), null, 2)}\n`);
    for (const s of shots) console.log(`docs/screenshots/${s.file} ${s.width}x${s.height}`);
  } finally {
    const exits = await demo.stack.stop();
    for (const [name, exit] of Object.entries(exits)) {
      if (exit.code !== 0) {
        console.error(`${name} exited with ${JSON.stringify(exit)}`);
        process.exitCode = 1;
      }
    }
  }
}
