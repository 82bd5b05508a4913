// stack.mjs - a private copy of the real system for one browser-test file: the project's
// PostgreSQL (scripts/pg.sh, .run/browser-pg) with two fresh databases, graph-sim,
// notification-service and tenant-service from $BIN_DIR (default build/asan) on free
// ports, plus Debian's chromium driven by playwright-core with a fresh profile.
//
//   const stack = await startStack('admin');   // everything up, /ready answered
//   startStack('x', {notificationEnv: {PHONE_NUMBERS_CACHE_SECONDS: '0'}})  // more settings
//   startStack('x', {tenantEnv: {SUPPORT_EMAIL: 'a@b.example'}})             // tenant-service's
//   stack.url('/app/admin/whatsapp')           // tenant-service serves the pages
//   await stack.api('POST', '/api/v1/tenants', {name}, stack.adminToken)
//   await stack.postOrder(tenantId, '+34600123456')  // as the order service does
//   await stack.graph('POST', `/v25.0/${WABA_ID}/message_templates`, {...})  // as Meta's API
//   await stack.stop()                         // daemons, databases (and PostgreSQL if we started it)

import { spawn, execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN_DIR = path.resolve(ROOT, process.env.BIN_DIR || 'build/asan');
/** The cluster: tests/run.sh shares its own (BROWSER_PG_DIR), run alone a file starts one. */
const PG_DIR = path.resolve(ROOT, process.env.BROWSER_PG_DIR || '.run/browser-pg');
const LOG_DIR = path.join(ROOT, '.run', 'browser-logs');

export const WABA_ID = '987654321098765';
const ACCESS_TOKEN = 'EAAbrowser-test-token';
const APP_SECRET = 'browser-test-app-secret';
const VERIFY_TOKEN = 'browser-test-verify-token';
/** The platform's default number (WHATSAPP_PHONE_NUMBER_ID): graph-sim's first one. */
export const DEFAULT_PHONE_ID = '109876543210001';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A TCP port nobody listens on right now, drawn below the kernel's ephemeral range (from
 * 32768 up by default): a port of that range can become the local port of any outgoing
 * connection, of this suite or of one running beside it, before the daemon binds it.
 */
async function freePort() {
  let first = 32768;
  try {
    first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || first;
  } catch (_) { /* not Linux: the default range */ }
  const span = first > 25000 ? first - 20000 : 30000;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * span);
    const free = await new Promise((resolve) => {
      const srv = createServer();
      srv.unref();
      srv.on('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below the ephemeral range');
}

/** KEY=VALUE lines of a pg.sh env file (values bare or single-quoted). */
function readEnvFile(file) {
  const env = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2];
    if (v.startsWith("'") && v.endsWith("'")) v = v.slice(1, -1).replace(/'\\''/g, "'");
    env[m[1]] = v;
  }
  return env;
}

function withDatabase(url, db) {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function psql(url, sql) {
  await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url, '-c', sql], {
    env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
  });
}

function tail(file, n = 15) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  } catch (_) {
    return '(no log)';
  }
}

class Daemon {
  constructor(name, bin, env, logFile) {
    this.name = name;
    this.logFile = logFile;
    const fd = openSync(logFile, 'w');
    this.proc = spawn(bin, [], { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.exit = null; // {code, signal} once exited
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      this.proc.on('error', (err) => {
        this.exit = { code: -1, signal: null, error: err };
        resolve(this.exit);
      });
    });
  }

  async waitReady(baseUrl, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exit) {
        throw new Error(`${this.name} exited during start-up (${JSON.stringify(this.exit)}); log ${this.logFile}:\n${tail(this.logFile)}`);
      }
      try {
        const res = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
      } catch (_) {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`${this.name} not ready at ${baseUrl} within ${timeoutMs} ms; log ${this.logFile}:\n${tail(this.logFile)}`);
  }

  /** SIGTERM, then SIGKILL after 15 s. Resolves with {code, signal}. */
  async stop() {
    if (!this.exit) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!this.exit) this.proc.kill('SIGKILL');
      }, 15000);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exit;
  }
}

/**
 * Starts the private stack. NAME tags the log files (.run/browser-logs/NAME-*.log) and
 * the databases; OPTIONS.notificationEnv adds to (or overrides) notification-service's
 * environment, OPTIONS.tenantEnv tenant-service's. Throws, with the daemon's last log lines, when something cannot start.
 */
export async function startStack(name, options = {}) {
  for (const bin of ['tenant-service', 'notification-service', 'graph-sim', 'mint-token']) {
    if (!existsSync(path.join(BIN_DIR, bin))) {
      throw new Error(`${path.join(BIN_DIR, bin)} is missing: run make (SAN=1 for build/asan) first`);
    }
  }
  mkdirSync(LOG_DIR, { recursive: true });
  const stack = new Stack(name, options);
  try {
    await stack.start();
  } catch (e) {
    await stack.stop().catch(() => {});
    throw e;
  }
  return stack;
}

class Stack {
  constructor(name, options = {}) {
    this.name = name;
    this.options = options;
    this.tag = `${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${randomBytes(3).toString('hex')}`;
    this.daemons = {};
    this.databases = [];
    this.startedPg = false;
    this.jwtSecret = randomBytes(32).toString('hex');
    this.browser = null;
    this.stopped = false;
  }

  async start() {
    // PostgreSQL: ours to stop only when it was not already running.
    try {
      await run(path.join(ROOT, 'scripts/pg.sh'), ['status', PG_DIR]);
    } catch (_) {
      this.startedPg = true;
    }
    await run(path.join(ROOT, 'scripts/pg.sh'), ['start', PG_DIR]);
    const pg = readEnvFile(path.join(PG_DIR, 'env'));
    this.adminDbUrl = withDatabase(pg.TENANT_DATABASE_URL, 'postgres');
    const tenantDb = `browser_${this.tag}_tenant`;
    const notifDb = `browser_${this.tag}_notification`;
    for (const db of [tenantDb, notifDb]) {
      await psql(this.adminDbUrl, `create database ${db}`);
      this.databases.push(db);
    }
    this.tenantDbUrl = withDatabase(pg.TENANT_DATABASE_URL, tenantDb);
    this.notifDbUrl = withDatabase(pg.NOTIFICATION_DATABASE_URL, notifDb);

    const [simPort, notifPort, tenantPort] = [await freePort(), await freePort(), await freePort()];
    this.graphSimUrl = `http://127.0.0.1:${simPort}`;
    this.notificationUrl = `http://127.0.0.1:${notifPort}`;
    this.baseUrl = `http://127.0.0.1:${tenantPort}`;

    const base = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL || 'warn' };
    // Nothing of the developer's environment may point our daemons elsewhere.
    for (const k of Object.keys(base)) {
      if (/^(TENANT_|NOTIFICATION_|GRAPH_|WHATSAPP_|JWT_|SUPPORT_|STATIC_DIR$|DATABASE_URL$)/.test(k)) delete base[k];
    }
    const log = (d) => path.join(LOG_DIR, `${this.name}-${d}.log`);

    this.daemons.sim = new Daemon('graph-sim', path.join(BIN_DIR, 'graph-sim'), {
      ...base,
      GRAPH_SIM_PORT: String(simPort),
      GRAPH_SIM_ACCESS_TOKEN: ACCESS_TOKEN,
      GRAPH_SIM_WABA_ID: WABA_ID,
      GRAPH_SIM_APP_SECRET: APP_SECRET,
      GRAPH_SIM_WEBHOOK_URL: `${this.notificationUrl}/api/v1/whatsapp/webhook`,
    }, log('graph-sim'));
    await this.daemons.sim.waitReady(this.graphSimUrl);

    this.notificationEnv = {
      ...base,
      NOTIFICATION_DATABASE_URL: this.notifDbUrl,
      JWT_SECRET: this.jwtSecret,
      NOTIFICATION_PORT: String(notifPort),
      TENANT_SERVICE_URL: this.baseUrl,
      GRAPH_API_BASE_URL: this.graphSimUrl,
      WHATSAPP_BUSINESS_ACCOUNT_ID: WABA_ID,
      WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
      WHATSAPP_PHONE_NUMBER_ID: DEFAULT_PHONE_ID,
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_WEBHOOK_VERIFY_TOKEN: VERIFY_TOKEN,
      ...(this.options.notificationEnv || {}),
    };
    this.daemons.notification = new Daemon('notification-service', path.join(BIN_DIR, 'notification-service'),
      this.notificationEnv, log('notification-service'));

    this.daemons.tenant = new Daemon('tenant-service', path.join(BIN_DIR, 'tenant-service'), {
      ...base,
      TENANT_DATABASE_URL: this.tenantDbUrl,
      JWT_SECRET: this.jwtSecret,
      TENANT_PORT: String(tenantPort),
      NOTIFICATION_SERVICE_URL: this.notificationUrl,
      STATIC_DIR: path.join(ROOT, 'frontend-static'),
      ...(this.options.tenantEnv || {}),
    }, log('tenant-service'));

    await this.daemons.notification.waitReady(this.notificationUrl);
    await this.daemons.tenant.waitReady(this.baseUrl);
    this.adminToken = await this.mint(['--role', 'admin', '--sub', 'browser-test-admin']);
    this.serviceToken = await this.mint(['--role', 'service', '--sub', 'browser-test-order-service']);
  }

  /**
   * Restarts notification-service with its environment changed by CHANGES (a value of
   * null removes the variable), e.g. {ENABLE_WHATSAPP_NOTIFICATIONS: 'false'}. The
   * previous instance must exit 0; resolves once the new one is ready. TAG names its log.
   */
  async restartNotification(changes, tag) {
    const exit = await this.daemons.notification.stop();
    if (exit.code !== 0) throw new Error(`notification-service exited with ${JSON.stringify(exit)} on restart`);
    const env = { ...this.notificationEnv };
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete env[k];
      else env[k] = v;
    }
    this.daemons.notification = new Daemon('notification-service', path.join(BIN_DIR, 'notification-service'),
      env, path.join(LOG_DIR, `${this.name}-notification-service-${tag}.log`));
    await this.daemons.notification.waitReady(this.notificationUrl);
  }

  /** A token from $BIN_DIR/mint-token with ARGS, signed with this stack's secret. */
  async mint(args) {
    const { stdout } = await run(path.join(BIN_DIR, 'mint-token'), args, {
      env: { ...process.env, JWT_SECRET: this.jwtSecret },
    });
    return stdout.trim();
  }

  /** A user token of TENANT_ID with TENANT_ROLE (owner, admin, member, viewer). */
  userToken(tenantId, tenantRole) {
    return this.mint(['--role', 'user', '--tenant', tenantId, '--tenant-role', tenantRole, '--sub', `browser-${tenantRole}`]);
  }

  url(p) {
    return `${this.baseUrl}${p}`;
  }

  /** Runs SQL (test code only) on tenant-service's database. */
  sql(q) {
    return psql(this.tenantDbUrl, q);
  }

  /** An API call to tenant-service; resolves with {status, body}. */
  async api(method, p, body, token = this.adminToken) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(this.url(p), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15000),
    });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch (_) {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  }

  /** Like api() but throws unless the status is 2xx; resolves with the body. */
  async apiOk(method, p, body, token) {
    const r = await this.api(method, p, body, token);
    if (r.status < 200 || r.status > 299) {
      throw new Error(`${method} ${p} answered ${r.status}: ${JSON.stringify(r.body)}`);
    }
    return r.body;
  }

  /** Creates a tenant; resolves with its id. */
  async createTenant(name) {
    const b = await this.apiOk('POST', '/api/v1/tenants', { name });
    const id = b && (b.id || b.tenant_id || (b.tenant && b.tenant.id));
    if (!id) throw new Error(`POST /api/v1/tenants answered without an id: ${JSON.stringify(b)}`);
    return id;
  }

  /** The WABA's numbers as tenant-service lists them. */
  phones() {
    return this.apiOk('GET', '/api/v1/admin/whatsapp/phone-numbers');
  }

  tenants() {
    return this.apiOk('GET', '/api/v1/admin/whatsapp/tenants');
  }

  assign(tenantId, phone) {
    return this.apiOk('POST', `/api/v1/admin/whatsapp/tenants/${tenantId}/assign-phone`, {
      phone_number_id: phone.id, display_phone_number: phone.display_phone_number,
    });
  }

  /**
   * Posts a purchase order of TENANT_ID to SUPPLIER_PHONE as the order service does
   * (service token); resolves with the message id of the 202.
   */
  async postOrder(tenantId, supplierPhone) {
    const res = await fetch(`${this.notificationUrl}/api/v1/notifications/purchase-orders`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${this.serviceToken}`, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({
        event_id: randomUUID(), tenant_id: tenantId, po_number: `PO-BROWSER-${randomBytes(3).toString('hex')}`,
        supplier_name: 'Harinas del Norte', supplier_phone: supplierPhone, total_amount: 12.5, currency: 'EUR',
      }),
      signal: AbortSignal.timeout(15000),
    });
    const body = await res.json().catch(() => null);
    if (res.status !== 202 || !body || !body.message_id) {
      throw new Error(`POST purchase-orders answered ${res.status}: ${JSON.stringify(body)}`);
    }
    return body.message_id;
  }

  /**
   * A call to graph-sim's Graph API with the master access token, as the platform's
   * admin makes it at Meta; resolves with {status, body}.
   */
  async graph(method, p, body) {
    const res = await fetch(`${this.graphSimUrl}${p}`, {
      method,
      headers: { Authorization: `Bearer ${ACCESS_TOKEN}`, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15000),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  }

  /** notification-service's message ID (admin token): status, skip_reason, ... */
  async message(id) {
    const res = await fetch(`${this.notificationUrl}/api/v1/whatsapp/messages/${id}`, {
      headers: { Authorization: `Bearer ${this.adminToken}`, Accept: 'application/json' },
      signal: AbortSignal.timeout(15000),
    });
    if (res.status !== 200) throw new Error(`GET message ${id} answered ${res.status}`);
    return res.json();
  }

  /** The sends graph-sim accepted to TO (E.164), oldest first: {phone_number_id, to, ...}. */
  async simSends(to) {
    const res = await fetch(`${this.graphSimUrl}/_sim/messages?request=false&to=${encodeURIComponent(to)}`, {
      signal: AbortSignal.timeout(15000),
    });
    if (res.status !== 200) throw new Error(`graph-sim /_sim/messages answered ${res.status}`);
    const body = await res.json();
    return Array.isArray(body) ? body : body.messages || body.data || [];
  }

  settings(tenantId) {
    return this.apiOk('GET', `/api/v1/tenants/${tenantId}/settings/notifications`);
  }

  putSettings(tenantId, partial) {
    return this.apiOk('PUT', `/api/v1/tenants/${tenantId}/settings/notifications`, partial);
  }

  /**
   * The browser: Debian's chromium, one process for this stack. Each call returns a new
   * page with VIEWPORT in a browser profile of its own (its own cookies, so each page is
   * signed in as its own user, as on people's own computers), or in the profile of the
   * page OPTIONS.with (another tab of the same person), and with an `errors` array
   * collecting page errors, failed same-origin requests to our static files, console
   * errors and requests leaving the origin.
   */
  async newPage(viewport = { width: 1280, height: 800 }, options = {}) {
    if (!this.browser) {
      this.browser = await chromium.launch({
        executablePath: path.join(ROOT, 'tests/browser/chromium.sh'), // $CHROMIUM or Debian's
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
          '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
        timeout: 60000,
      });
    }
    const context = options.with
      ? options.with.context()
      : await this.browser.newContext({ viewport, locale: 'es-ES' });
    const page = await context.newPage();
    await page.setViewportSize(viewport);
    page.setDefaultTimeout(10000);
    page.errors = [];
    page.consoleErrors = [];
    page.foreignRequests = [];
    page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') page.consoleErrors.push(m.text());
    });
    page.on('request', (req) => {
      const u = req.url();
      if (!u.startsWith(this.baseUrl) && !u.startsWith('data:') && !u.startsWith('about:')) page.foreignRequests.push(u);
    });
    return page;
  }

  /** Console lines reporting a Content-Security-Policy violation. */
  static cspViolations(page) {
    return page.consoleErrors.filter((l) => /Content Security Policy/i.test(l));
  }

  /**
   * Stops the browser, the daemons (tenant first) and drops the databases; stops
   * PostgreSQL when this stack started it. Resolves with {name: {code, signal}}.
   */
  async stop() {
    if (this.stopped) return this.exits;
    this.stopped = true;
    if (this.browser) {
      await this.browser.close().catch(() => {});
      this.browser = null;
    }
    const exits = {};
    for (const key of ['tenant', 'notification', 'sim']) {
      const d = this.daemons[key];
      if (d) exits[d.name] = await d.stop();
    }
    this.exits = exits;
    for (const db of this.databases) {
      await psql(this.adminDbUrl, `drop database if exists ${db} with (force)`).catch(() => {});
    }
    if (this.startedPg) {
      await run(path.join(ROOT, 'scripts/pg.sh'), ['stop', PG_DIR]).catch(() => {});
    }
    return exits;
  }

  /** The log file of daemon KEY ('tenant', 'notification', 'sim'). */
  logOf(key) {
    return this.daemons[key] ? this.daemons[key].logFile : '';
  }
}

export { Stack };
