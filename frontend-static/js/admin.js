// admin.js - the WhatsApp Admin Management page (/app/admin/whatsapp), built for the
// account's 120 numbers: the bakeries first, each with where its orders go out from, its
// number's quality and readiness, a warning when the number's verified name is not the
// bakery's, and a searchable picker of the free numbers (free, high-quality, ready ones
// first; a low-quality or not-ready one is assigned only after a confirmation); then
// the account's numbers in a collapsible table, filtered, sorted and 50 to a page.
// Readiness is the account's health (GET .../whatsapp/health: the number's status, name
// review, what Meta lets it send, a hold). The lists are refreshed after each action and
// at once over the live stream (every 15 seconds while it is down); rows are updated in place so a picker, its choice and the focus
// survive a refresh. Every error is said in the page's language from its error code.

import {
  api, ApiError, errorText, startPage, pageReady, showSignIn, goSignIn, t, getLang, LOCALES, onLangChange, fold, el,
} from './common.js';
import { createCombo } from './combobox.js';
import { renderHealth, wireHealth } from './health.js';
import { createDetails } from './details.js';

const REFRESH_MS = 15000;
const SUCCESS_MESSAGE_MS = 10000;
const PAGE_SIZE = 50;
const PHONES_URL = '/api/v1/admin/whatsapp/phone-numbers';
const TENANTS_URL = '/api/v1/admin/whatsapp/tenants';
const HEALTH_URL = '/api/v1/admin/whatsapp/health';
const AUDIT_URL = '/api/v1/admin/whatsapp/audit-log?limit=500';
const QUALITY_RANK = { green: 0, yellow: 1, unknown: 2, red: 3 };
/** Meta's name_status values under which the verified name may be shown. */
const NAME_OK = ['APPROVED', 'AVAILABLE_WITHOUT_REVIEW'];

const $ = (id) => document.getElementById(id);

const state = {
  phones: null, // array, or null when not (yet) loaded
  phonesError: null, // ApiError of the last phone-number load, or null
  tenants: null,
  tenantsError: null,
  health: null, // Map phone id -> the health's phone_numbers item, or null when unknown
  healthDoc: null, // the whole health answer, or null when it failed
  healthError: null, // why it failed (ApiError), or null
  updatedAt: null,
  platformOn: null, // ENABLE_WHATSAPP_NOTIFICATIONS as the sender endpoint reports it; null: unknown
  seq: 0, // sequence number of the newest refresh; older answers are dropped
  started: false,
  timer: 0, // the 15 s poll, while the live stream is down
  live: false, // the live stream is open
  soon: 0, // a refresh asked for by the stream, about to run
};

/** What the number table shows: its filters, sort and page. */
const table = { open: false, sort: 'number', dir: 1, page: 1 };

/** tenant_id -> row record (the <li> and its parts). */
const rows = new Map();
/** tenant ids with an assign/unassign in flight. */
const busy = new Set();
/** tenant_id -> {kind: 'ok'|'error', text, detail, timer}: the message under a row. */
const messages = new Map();

// ---- data ---------------------------------------------------------------------------

function authProblem(e) {
  if (e instanceof ApiError && e.isAuth) {
    if (e.status === 403) e.adminOnly = true;
    return true;
  }
  return false;
}

async function refresh() {
  const seq = ++state.seq;
  $('updated').textContent = t('admin.updating');
  const [phones, tenants, health, audit] = await Promise.allSettled(
    [api('GET', PHONES_URL), api('GET', TENANTS_URL), api('GET', HEALTH_URL), api('GET', AUDIT_URL)]);
  if (seq !== state.seq) return; // a newer refresh was started meanwhile
  for (const r of [tenants, phones]) {
    if (r.status === 'rejected' && authProblem(r.reason)) {
      stopTimer();
      showSignIn(r.reason);
      return;
    }
  }
  if (phones.status === 'fulfilled' && Array.isArray(phones.value)) {
    state.phones = phones.value;
    state.phonesError = null;
  } else {
    // A stale list would offer numbers that may be taken: show none rather than old ones.
    state.phones = null;
    state.phonesError = phones.status === 'rejected' ? phones.reason : new ApiError(0, 'bad_response', '');
  }
  if (tenants.status === 'fulfilled' && Array.isArray(tenants.value)) {
    state.tenants = tenants.value;
    state.tenantsError = null;
  } else {
    state.tenantsError = tenants.status === 'rejected' ? tenants.reason : new ApiError(0, 'bad_response', '');
  }
  // Readiness is extra: without the health every number's readiness is "not checked".
  const h = health.status === 'fulfilled' && health.value && Array.isArray(health.value.phone_numbers)
    ? health.value.phone_numbers : null;
  state.health = h ? new Map(h.filter((x) => x && x.id).map((x) => [x.id, x])) : null;
  state.healthDoc = h ? health.value : null;
  state.healthError = health.status === 'rejected' ? health.reason : null;
  // Quota crossings of this month, from the audit log (extra too: none when it fails).
  state.quota = audit.status === 'fulfilled' && Array.isArray(audit.value)
    ? quotaCrossings(audit.value) : new Map();
  state.updatedAt = new Date();
  render();
  if (!state.started) {
    state.started = true;
    pageReady();
  }
  checkPlatform(seq);
}

/**
 * The newest quota crossing of this month of each tenant, from audit rows (newest first):
 * tenant id -> {action, used, quota, month}. notification-service writes the reason as
 * "YYYY-MM: USED of QUOTA messages"; the month is its BILLING_TIMEZONE's.
 */
function quotaCrossings(rows) {
  const now = new Date();
  const month = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`;
  const out = new Map();
  for (const r of rows) {
    if (!r || (r.action !== 'quota_warning' && r.action !== 'quota_reached') || out.has(r.tenant_id)) continue;
    const m = /^(\d{4}-\d{2}): (\d+) of (\d+) messages$/.exec(r.reason || '');
    if (!m || m[1] !== month) continue;
    out.set(r.tenant_id, { action: r.action, month: m[1], used: Number(m[2]), quota: Number(m[3]) });
  }
  return out;
}

/**
 * Whether the platform sends on WhatsApp at all (notification-service's
 * ENABLE_WHATSAPP_NOTIFICATIONS), from the sender endpoint of the first bakery: with the
 * switch off no bakery's order is sent, whatever its row would otherwise say. Unknown
 * (null) until answered; a failure keeps what was known.
 */
async function checkPlatform(seq) {
  const first = (state.tenants || [])[0];
  if (!first) return;
  let x;
  try {
    x = await api('GET', `/api/v1/tenants/${encodeURIComponent(first.tenant_id)}/whatsapp/sender`);
  } catch (_) {
    return; // an auth problem shows on the next refresh; anything else changes nothing
  }
  if (seq !== state.seq || !x || typeof x.platform_sending_enabled !== 'boolean') return;
  if (x.platform_sending_enabled !== state.platformOn) {
    state.platformOn = x.platform_sending_enabled;
    render();
  }
}

function startTimer() {
  stopTimer();
  state.timer = setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);
}

function stopTimer() {
  if (state.timer) clearInterval(state.timer);
  state.timer = 0;
}

// ---- live updates: tenant-service's stream (GET /api/v1/events), read from the
// database, so a change made anywhere (another tab, the owner, another instance) shows
// within a second; the 15 s poll runs only while the stream is down. ----

let live = null;

function showLive() {
  $('live').textContent = state.started ? t(state.live ? 'live.on' : 'live.off') : '';
}

/** Refreshes once for a burst of events (an assignment is a settings and an audit event). */
function soon() {
  if (state.soon) return;
  state.soon = setTimeout(() => {
    state.soon = 0;
    refresh();
  }, 150);
}

function startLive() {
  if (live || typeof EventSource === 'undefined') return;
  const source = new EventSource('/api/v1/events');
  live = source;
  // hello: (re)connected; what changed while away is in the refresh it triggers.
  source.addEventListener('hello', () => {
    stopTimer();
    state.live = true;
    showLive();
    soon();
  });
  source.addEventListener('settings', soon);
  source.addEventListener('audit', soon);
  // the WhatsApp account changed (a number's quality, a template, the pause): the numbers
  // and the platform health panel are read again
  source.addEventListener('account', soon);
  source.addEventListener('session_ended', () => {
    source.close();
    goSignIn('session_expired');
  });
  source.onerror = () => {
    state.live = false;
    showLive();
    if (!state.timer) startTimer();
    if (source.readyState === EventSource.CLOSED) {
      // refused (too many streams, the session ended): the poll goes on, and asks again
      live = null;
      setTimeout(startLive, REFRESH_MS);
    }
  };
}

/** The tenant holding phone P (by either list), or null. */
function holderOf(p) {
  const tenants = state.tenants || [];
  return tenants.find((x) => x.tenant_id === p.assigned_tenant_id)
    || tenants.find((x) => x.phone_number_id === p.id) || null;
}

/**
 * The numbers nobody holds, by the phone list and by the tenants list. The platform's
 * default number (is_default) is never one of them: it sends for every bakery without a
 * number of its own, and the server refuses to assign it (409 phone_number_reserved).
 */
function freePhones() {
  if (!state.phones) return [];
  const held = new Set((state.tenants || []).map((x) => x.phone_number_id).filter(Boolean));
  return state.phones.filter((p) => !p.is_default && !p.assigned_tenant_id && !held.has(p.id));
}

/** The platform's default number, null when the account has none or the list failed. */
function platformPhone() {
  return (state.phones || []).find((p) => p.is_default === true) || null;
}

function phoneById(id) {
  return (state.phones || []).find((p) => p.id === id) || null;
}

/** 'green', 'yellow', 'red' or 'unknown': Meta's quality rating of P. */
function quality(p) {
  const r = String((p && p.quality_rating) || '').toLowerCase();
  return r === 'green' || r === 'yellow' || r === 'red' ? r : 'unknown';
}

/** 'approved', 'pending', 'declined', 'other', or null when the health is unknown. */
function nameStatus(p) {
  const h = state.health && state.health.get(p.id);
  const s = h && typeof h.name_status === 'string' ? h.name_status : null;
  if (!s) return null;
  if (NAME_OK.includes(s)) return 'approved';
  if (s === 'PENDING_REVIEW') return 'pending';
  if (s === 'DECLINED') return 'declined';
  return 'other';
}

/**
 * Whether P can send now, by the account's health: {known, ready, reasons: [texts]}.
 * Not known when the health could not be had or does not list P.
 */
function readiness(p) {
  const h = state.health && state.health.get(p.id);
  if (!h) return { known: false, ready: false, reasons: [] };
  const reasons = [];
  if (h.status && h.status !== 'CONNECTED') reasons.push(t('ready.status', { status: metaStatus(h.status) }));
  const name = nameStatus(p);
  if (name && name !== 'approved') reasons.push(t(`ready.name_${name}`));
  if (h.can_send_message === 'BLOCKED') reasons.push(t('ready.blocked'));
  else if (h.can_send_message === 'LIMITED') reasons.push(t('ready.limited'));
  if (h.held && h.held.until) {
    const until = new Date(h.held.until);
    reasons.push(t('ready.held', { time: Number.isNaN(until.getTime()) ? h.held.until : until.toLocaleTimeString(LOCALES[getLang()]) }));
  }
  return { known: true, ready: reasons.length === 0, reasons };
}

/** Meta's status of a number (CONNECTED, FLAGGED, ...) in the page's language. */
function metaStatus(s) {
  const key = `meta_status.${String(s).toLowerCase()}`;
  const text = t(key);
  return text === key ? String(s) : text;
}

/** Whether P's verified name is not the name of the bakery X (accents and case aside). */
function nameDiffers(p, x) {
  if (!p || !x || !p.verified_name) return false;
  const norm = (s) => fold(s).replace(/\s+/g, ' ').trim();
  return norm(p.verified_name) !== norm(x.tenant_name);
}

/**
 * Where the bakery's orders go out from, as notification-service decides it: nowhere
 * while WhatsApp is off; its own number; else the platform's number; else nowhere.
 */
function tenantStatus(x) {
  if (!x.whatsapp_enabled) return { key: 'status.off', cls: 'badge-neutral' };
  if (state.platformOn === false) return { key: 'status.platform_disabled', cls: 'badge-warn' };
  if (x.phone_number_id) return { key: 'status.active', cls: 'badge-ok' };
  if (!state.phones) return { key: 'status.no_phone', cls: 'badge-warn' };
  if (platformPhone()) return { key: 'status.platform', cls: 'badge-warn' };
  return { key: 'status.no_sender', cls: 'badge-warn' };
}

/** The line under the bakery's name: its number, or where its orders go without one. */
function tenantPhoneLine(x) {
  if (x.phone_number_id) {
    return { text: t('tenants.phone', { number: x.display_phone_number || x.phone_number_id }), cls: '' };
  }
  if (x.whatsapp_enabled && state.phones && state.platformOn !== false) {
    const platform = platformPhone();
    if (platform) {
      return { text: t('tenants.platform_phone', { number: platform.display_phone_number || platform.id }), cls: 'warn' };
    }
    return { text: t('tenants.no_sender'), cls: 'warn' };
  }
  return { text: t('tenants.no_phone'), cls: 'muted' };
}

/** A sender number as the admin knows it: "+34 612 345 678", marked when it is the platform's. */
function senderLabel(phoneId) {
  const p = phoneById(phoneId);
  const number = (p && p.display_phone_number) || phoneId;
  return p && p.is_default ? t('details.platform_number', { number }) : number;
}

function tenantName(id) {
  const x = (state.tenants || []).find((y) => y.tenant_id === id);
  return x ? x.tenant_name : '';
}

function digitsOf(s) {
  return String(s || '').replace(/\D/g, '');
}

function byNumber(a, b) {
  return digitsOf(a).localeCompare(digitsOf(b), 'en', { numeric: true });
}

// ---- badges -------------------------------------------------------------------------

/** "Calidad: Alta" as a badge, coloured by the rating; the label is hidden when SHORT. */
function qualityBadge(p, short) {
  const q = quality(p);
  const badge = el('span', `badge quality quality-${q}`);
  badge.dataset.quality = q;
  badge.append(el('span', 'dot'));
  badge.append(el('span', short ? 'sr-only' : '', `${t('phones.col.quality')}: `));
  badge.append(document.createTextNode(t(`quality.${q}`)));
  return badge;
}

/** "Lista", "No lista: ..." or "Sin comprobar", as an element with class ready-*. */
function readinessNode(p) {
  const r = readiness(p);
  if (!r.known) return el('span', 'ready ready-unknown', t('ready.unknown'));
  if (r.ready) return el('span', 'ready ready-ok', t('ready.ok'));
  return el('span', 'ready ready-no', t('ready.not', { reasons: r.reasons.join('; ') }));
}

// ---- phone numbers ------------------------------------------------------------------

function phoneMatches(p) {
  const holderFilter = $('phones-holder-filter').value;
  const qualityFilter = $('phones-quality-filter').value;
  const nameFilter = $('phones-name-filter').value;
  const holder = holderOf(p);
  if (holderFilter === 'free' && (p.is_default || holder)) return false;
  if (holderFilter === 'assigned' && (p.is_default || !holder)) return false;
  if (holderFilter === 'platform' && !p.is_default) return false;
  if (qualityFilter && quality(p) !== qualityFilter) return false;
  if (nameFilter === 'mismatch' && !nameDiffers(p, holder)) return false;
  if (nameFilter && nameFilter !== 'mismatch') {
    const n = nameStatus(p);
    if (nameFilter === 'pending' ? !(n === 'pending' || n === 'other') : n !== nameFilter) return false;
  }
  const q = $('phones-search').value.trim();
  if (q) {
    const f = fold(q);
    if (/\p{L}/u.test(f)) {
      if (!fold(`${p.verified_name || ''} ${holder ? holder.tenant_name : ''}`).includes(f)) return false;
    } else if (!digitsOf(p.display_phone_number || p.id).includes(digitsOf(q))) {
      return false;
    }
  }
  return true;
}

const SORTS = {
  number: (a, b) => byNumber(a.display_phone_number || a.id, b.display_phone_number || b.id),
  name: (a, b) => fold(a.verified_name).localeCompare(fold(b.verified_name)),
  quality: (a, b) => QUALITY_RANK[quality(a)] - QUALITY_RANK[quality(b)],
  ready: (a, b) => readyRank(a) - readyRank(b),
  holder: (a, b) => holderKey(a).localeCompare(holderKey(b)),
};

function readyRank(p) {
  const r = readiness(p);
  return r.known ? (r.ready ? 0 : 2) : 1;
}

/** Free numbers first, then the platform's, then by holder name. */
function holderKey(p) {
  if (p.is_default) return '1';
  const h = holderOf(p);
  return h ? `2${fold(h.tenant_name)}` : '0';
}

function renderPhones() {
  const errorBox = $('phones-error');
  if (state.phonesError) {
    const { text, detail } = errorText(state.phonesError);
    errorBox.replaceChildren(el('p', 'notice-title', t('phones.unavailable')), el('p', '', text));
    if (detail) errorBox.append(el('p', 'msg-detail', t('err.detail', { message: detail })));
    errorBox.hidden = false;
  } else {
    errorBox.hidden = true;
    errorBox.replaceChildren();
  }
  const all = state.phones || [];
  $('phones-count').textContent = state.phones ? `(${all.length})` : '';
  $('phones-summary').textContent = state.phones
    ? t('phones.summary', { total: all.length, free: freePhones().length }) : '';
  $('phones-toggle').setAttribute('aria-expanded', String(table.open));
  $('phones-panel').hidden = !table.open;
  if (!table.open) return;

  const sort = SORTS[table.sort] || SORTS.number;
  const list = all.filter(phoneMatches)
    .sort((a, b) => table.dir * sort(a, b) || SORTS.number(a, b));
  const pages = Math.max(1, Math.ceil(list.length / PAGE_SIZE));
  table.page = Math.min(Math.max(1, table.page), pages);
  const from = (table.page - 1) * PAGE_SIZE;
  const slice = list.slice(from, from + PAGE_SIZE);

  for (const th of document.querySelectorAll('#phones-table th[data-sort]')) {
    if (th.dataset.sort === table.sort) th.setAttribute('aria-sort', table.dir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
  const filtered = list.length !== all.length;
  $('phones-shown').textContent = !state.phones ? '' : list.length === 0 ? ''
    : t(filtered ? 'phones.shown_filtered' : 'phones.shown',
      { from: from + 1, to: from + slice.length, total: list.length, all: all.length });
  const empty = $('phones-empty');
  empty.textContent = !state.phones ? '' : all.length === 0 ? t('phones.empty') : t('phones.no_match');
  empty.hidden = !state.phones || list.length !== 0;
  $('phones-table').hidden = slice.length === 0;
  $('phones-pager').hidden = pages <= 1;
  $('phones-page').textContent = t('phones.page', { page: table.page, pages });
  setBusy($('phones-prev'), false, t('phones.prev'));
  setBusy($('phones-next'), false, t('phones.next'));
  $('phones-prev').setAttribute('aria-disabled', String(table.page <= 1));
  $('phones-next').setAttribute('aria-disabled', String(table.page >= pages));

  $('phones-body').replaceChildren(...slice.map((p) => {
    // Explicit roles: the table keeps its semantics when CSS lays it out as cards.
    const tr = el('tr');
    tr.setAttribute('role', 'row');
    tr.dataset.phoneId = p.id;
    const num = el('td', 'phone-number');
    num.append(el('span', 'num', p.display_phone_number || p.id));
    tr.append(num);
    const name = el('td', 'phone-name');
    name.append(el('span', 'verified', p.verified_name || '—'));
    const ns = nameStatus(p);
    if (ns && ns !== 'approved') name.append(el('span', 'name-status warn', t(`name.${ns}`)));
    tr.append(name);
    const q = el('td', 'phone-quality');
    q.append(qualityBadge(p, true));
    tr.append(q);
    const ready = el('td', 'phone-ready');
    ready.append(readinessNode(p));
    tr.append(ready);
    const holder = el('td', 'phone-holder');
    const h = holderOf(p);
    if (p.is_default) {
      holder.append(el('span', 'holder-platform', t('phones.platform')));
    } else if (!h && !p.assigned_tenant_id) {
      holder.append(el('span', 'holder-free', t('phones.free')));
    } else {
      holder.append(el('span', 'sr-only', `${t('phones.col.holder')}: `));
      holder.append(el('span', 'holder-name', (h && h.tenant_name) || p.assigned_tenant_name || '—'));
      if (nameDiffers(p, h)) holder.append(el('span', 'name-mismatch warn', t('phones.name_differs')));
    }
    tr.append(holder);
    for (const td of tr.children) td.setAttribute('role', 'cell');
    return tr;
  }));
}

// ---- tenants ------------------------------------------------------------------------

function settingsHref(id) {
  return `/app/settings/notifications?tenant=${encodeURIComponent(id)}`;
}

function createRow(x) {
  const li = el('li', 'tenant');
  li.dataset.tenantId = x.tenant_id;
  const head = el('div', 'tenant-head');
  const name = el('h3', 'tenant-name');
  const nameText = el('span', 'tenant-name-text');
  name.append(nameText);
  const badge = el('span', 'badge tenant-status');
  head.append(name, badge);
  const info = el('div', 'tenant-info');
  const phone = el('p', 'tenant-phone');
  const quality = el('p', 'tenant-quality');
  const link = el('a', 'tenant-link');
  const details = createDetails({
    tenantId: x.tenant_id,
    phoneLabel: senderLabel,
    onAuth: (e) => {
      if (!authProblem(e)) return false;
      stopTimer();
      showSignIn(e);
      return true;
    },
  });
  info.append(phone, quality, link, details.button);
  const warnings = el('div', 'tenant-warnings');
  const actions = el('div', 'tenant-actions');
  const msg = el('div', 'row-msg');
  msg.setAttribute('aria-live', 'polite');
  const main = el('div', 'tenant-main');
  main.append(head, info, warnings);
  li.append(main, actions, msg, details.panel);
  return { li, nameText, badge, phone, quality, link, details, warnings, actions, msg, mode: '', combo: null, assignBtn: null, unassignBtn: null };
}

/** The picker's options: the free numbers, free high-quality ready ones first. */
function comboOptions() {
  const risky = (p) => {
    const r = readiness(p);
    return quality(p) === 'red' || (r.known && !r.ready) ? 1 : 0;
  };
  return freePhones()
    .sort((a, b) => risky(a) - risky(b) || QUALITY_RANK[quality(a)] - QUALITY_RANK[quality(b)]
      || byNumber(a.display_phone_number, b.display_phone_number))
    .map((p) => ({
      id: p.id,
      label: p.verified_name ? `${p.display_phone_number || p.id} · ${p.verified_name}` : (p.display_phone_number || p.id),
      search: `${p.verified_name || ''} ${p.display_phone_number || ''}`,
      digits: digitsOf(p.display_phone_number || p.id),
      phone: p,
    }));
}

function renderOption(o, li) {
  const p = o.phone;
  const r = readiness(p);
  if (quality(p) === 'red' || (r.known && !r.ready)) li.classList.add('risky');
  const top = el('span', 'opt-top');
  top.append(el('span', 'num', p.display_phone_number || p.id));
  if (p.verified_name) top.append(el('span', 'opt-name', p.verified_name));
  const bottom = el('span', 'opt-bottom');
  bottom.append(qualityBadge(p, false), readinessNode(p));
  li.append(top, bottom);
}

function buildAssignControls(rec, x) {
  const wrap = el('div', 'assign');
  const combo = createCombo({
    options: comboOptions,
    render: renderOption,
    announce: (text) => {
      $('combo-status').textContent = text;
    },
    texts: () => ({
      empty: !state.phones ? t('assign.phones_unavailable') : freePhones().length ? t('assign.no_match') : t('assign.no_free'),
      count: (n) => t('assign.count', { n }),
    }),
    onChange: () => clearMessage(x.tenant_id),
    onSubmit: () => assign(x.tenant_id),
  });
  const label = el('label', 'sr-only');
  label.htmlFor = combo.input.id;
  const btn = el('button', 'btn btn-primary assign-btn');
  btn.type = 'button';
  btn.addEventListener('click', () => assign(x.tenant_id));
  wrap.append(label, combo.root, btn);
  rec.actions.replaceChildren(wrap);
  rec.combo = combo;
  rec.comboLabel = label;
  rec.assignBtn = btn;
  rec.unassignBtn = null;
}

function buildUnassignControls(rec, x) {
  const btn = el('button', 'btn btn-danger-outline unassign-btn');
  btn.type = 'button';
  btn.addEventListener('click', () => confirmUnassign(x.tenant_id, btn));
  rec.actions.replaceChildren(btn);
  rec.unassignBtn = btn;
  rec.combo = null;
  rec.assignBtn = null;
}

/** The picker follows the new lists; says so when the chosen number was taken. */
function updateCombo(rec, x) {
  const combo = rec.combo;
  const chosen = combo.value;
  const chosenPhone = chosen ? phoneById(chosen) : null;
  combo.input.placeholder = !state.phones ? t('assign.phones_unavailable')
    : freePhones().length ? t('assign.placeholder') : t('assign.no_free');
  if (!combo.refresh() && !messages.has(x.tenant_id)) {
    setMessage(x.tenant_id, 'error', t('assign.gone', {
      number: (chosenPhone && chosenPhone.display_phone_number) || chosen,
    }));
  }
}

function updateRow(rec, x) {
  const status = tenantStatus(x);
  rec.nameText.textContent = x.tenant_name;
  rec.badge.className = `badge tenant-status ${status.cls}`;
  rec.badge.textContent = t(status.key);
  const line = tenantPhoneLine(x);
  rec.phone.textContent = line.text;
  rec.phone.classList.toggle('muted', line.cls === 'muted');
  rec.phone.classList.toggle('warn', line.cls === 'warn');
  rec.link.href = settingsHref(x.tenant_id);
  rec.link.textContent = t('tenants.settings_link');
  rec.link.setAttribute('aria-label', t('tenants.settings_link_label', { name: x.tenant_name }));
  rec.details.setName(x.tenant_name);

  // The number's quality, readiness and verified name, as the account reports them.
  const own = x.phone_number_id ? phoneById(x.phone_number_id) : null;
  rec.quality.replaceChildren(...(own ? [qualityBadge(own, false)] : []));
  rec.quality.hidden = !own;
  const warnings = [];
  if (own && nameDiffers(own, x)) {
    warnings.push(t('tenants.name_differs', { verified: own.verified_name, name: x.tenant_name }));
  }
  if (own) {
    const r = readiness(own);
    if (r.known && !r.ready) warnings.push(t('tenants.not_ready', { reasons: r.reasons.join('; ') }));
  }
  const q = state.quota && state.quota.get(x.tenant_id);
  if (q) warnings.push(t(q.action === 'quota_reached' ? 'tenants.quota_reached' : 'tenants.quota_warning', q));
  const sig = warnings.join('\n');
  if (rec.warnings.dataset.sig !== sig) {
    rec.warnings.replaceChildren(...warnings.map((w) => el('p', 'tenant-warning', w)));
    rec.warnings.dataset.sig = sig;
  }
  rec.warnings.hidden = warnings.length === 0;

  const mode = x.phone_number_id ? 'assigned' : 'free';
  if (mode !== rec.mode) {
    const hadFocus = rec.actions.contains(document.activeElement);
    if (mode === 'assigned') buildUnassignControls(rec, x);
    else buildAssignControls(rec, x);
    rec.mode = mode;
    if (hadFocus) (rec.unassignBtn || rec.combo.input).focus();
  }
  const isBusy = busy.has(x.tenant_id);
  if (mode === 'free') {
    rec.comboLabel.textContent = t('assign.select_label', { name: x.tenant_name });
    updateCombo(rec, x);
    setBusy(rec.assignBtn, isBusy, isBusy ? t('assign.busy') : t('assign.button'));
    rec.assignBtn.setAttribute('aria-label', isBusy ? t('assign.busy') : t('assign.button_label', { name: x.tenant_name }));
  } else {
    setBusy(rec.unassignBtn, isBusy, isBusy ? t('unassign.busy') : t('unassign.button'));
    rec.unassignBtn.setAttribute('aria-label', isBusy ? t('unassign.busy') : t('unassign.button_label', { name: x.tenant_name }));
  }
  renderMessage(rec, x.tenant_id);
}

/** Marks BUTTON busy without disabling it, so that it keeps the keyboard focus. */
function setBusy(button, isBusy, text) {
  if (button.textContent !== text) button.textContent = text;
  if (isBusy) {
    button.setAttribute('aria-disabled', 'true');
    button.setAttribute('aria-busy', 'true');
  } else {
    button.removeAttribute('aria-disabled');
    button.removeAttribute('aria-busy');
  }
}

function renderTenants() {
  const list = $('tenant-list');
  const errorBox = $('tenants-error');
  if (state.tenantsError) {
    const { text, detail } = errorText(state.tenantsError);
    errorBox.replaceChildren(el('p', 'notice-title', t('tenants.unavailable')), el('p', '', text));
    if (detail) errorBox.append(el('p', 'msg-detail', t('err.detail', { message: detail })));
    errorBox.hidden = false;
  } else {
    errorBox.hidden = true;
    errorBox.replaceChildren();
  }
  const tenants = state.tenants || [];
  const seen = new Set();
  tenants.forEach((x, i) => {
    seen.add(x.tenant_id);
    let rec = rows.get(x.tenant_id);
    if (!rec) {
      rec = createRow(x);
      rows.set(x.tenant_id, rec);
    }
    updateRow(rec, x);
    // Keep the server's order, moving only what is out of place (moving blurs).
    if (list.children[i] !== rec.li) list.insertBefore(rec.li, list.children[i] || null);
  });
  for (const [id, rec] of rows) {
    if (!seen.has(id)) {
      rec.li.remove();
      rows.delete(id);
    }
  }
  $('tenants-count').textContent = state.tenants ? `(${tenants.length})` : '';
  applyFilter();
}

function applyFilter() {
  const query = $('filter').value.trim();
  const q = fold(query);
  const tenants = state.tenants || [];
  let shown = 0;
  for (const x of tenants) {
    const rec = rows.get(x.tenant_id);
    if (!rec) continue;
    const hay = fold(`${x.tenant_name} ${x.display_phone_number || ''} ${digitsOf(x.display_phone_number)}`);
    const match = !q || hay.includes(q) || (/\d/.test(q) && hay.includes(digitsOf(q)));
    rec.li.hidden = !match;
    if (match) shown++;
  }
  $('tenants-shown').textContent = state.tenants ? t('tenants.showing', { shown, total: tenants.length }) : '';
  const empty = $('tenants-empty');
  if (state.tenants && tenants.length === 0) {
    empty.textContent = t('tenants.none');
    empty.hidden = false;
  } else if (state.tenants && shown === 0) {
    empty.textContent = t('tenants.no_match', { query });
    empty.hidden = false;
  } else {
    empty.hidden = true;
  }
}

function render() {
  $('platform-off').hidden = state.platformOn !== false;
  renderHealth(state.healthDoc, state.healthError, (h) => readiness(h).ready);
  renderTenants();
  renderPhones();
  const time = state.updatedAt ? state.updatedAt.toLocaleTimeString(LOCALES[getLang()] || 'es-ES') : '';
  $('updated').textContent = time ? t('admin.updated', { time }) : '';
  $('refresh-tools').hidden = false;
}

// ---- row messages -------------------------------------------------------------------

function setMessage(id, kind, text, detail = '') {
  const old = messages.get(id);
  if (old && old.timer) clearTimeout(old.timer);
  const m = { kind, text, detail, timer: 0 };
  if (kind === 'ok') {
    m.timer = setTimeout(() => {
      if (messages.get(id) === m) clearMessage(id);
    }, SUCCESS_MESSAGE_MS);
  }
  messages.set(id, m);
  const rec = rows.get(id);
  if (rec) renderMessage(rec, id);
}

function clearMessage(id) {
  const old = messages.get(id);
  if (!old) return;
  if (old.timer) clearTimeout(old.timer);
  messages.delete(id);
  const rec = rows.get(id);
  if (rec) renderMessage(rec, id);
}

function renderMessage(rec, id) {
  const m = messages.get(id);
  const current = rec.msg.firstElementChild;
  if (!m) {
    if (current) rec.msg.replaceChildren();
    return;
  }
  const sig = `${m.kind}\n${m.text}\n${m.detail}`;
  if (current && current.dataset.sig === sig) return;
  const p = el('p', `row-msg-text ${m.kind === 'ok' ? 'msg-ok' : 'msg-error'}`);
  p.append(el('span', 'msg-main', m.text));
  if (m.detail) p.append(el('span', 'msg-detail', t('err.detail', { message: m.detail })));
  p.dataset.kind = m.kind;
  p.dataset.sig = sig;
  rec.msg.replaceChildren(p);
}

// ---- actions ------------------------------------------------------------------------

/** Why assigning P deserves a second thought (low quality, not ready), as sentences. */
function assignRisks(p) {
  const risks = [];
  const number = p.display_phone_number || p.id;
  if (quality(p) === 'red') risks.push(t('assign.risk_red', { number }));
  const r = readiness(p);
  if (r.known && !r.ready) risks.push(t('assign.risk_not_ready', { number, reasons: r.reasons.join('; ') }));
  return risks;
}

/** Opens the confirmation of a risky assignment; resolves with whether it was confirmed. */
function confirmAssign(id, p, risks) {
  const dialog = $('assign-dialog');
  const texts = [...risks, t('assign.confirm_question', { number: p.display_phone_number || p.id, name: tenantName(id) })];
  $('assign-dialog-text').replaceChildren(...texts.map((x) => el('p', '', x)));
  dialog.returnValue = '';
  dialog.dataset.tenantId = id;
  dialog.showModal();
  $('assign-cancel').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
  });
}

async function assign(id) {
  const rec = rows.get(id);
  if (!rec || !rec.combo || busy.has(id)) return;
  const phoneId = rec.combo.value;
  const name = tenantName(id);
  if (!phoneId) {
    setMessage(id, 'error', t('assign.choose_first'));
    rec.combo.input.focus();
    return;
  }
  const phone = phoneById(phoneId);
  const body = { phone_number_id: phoneId };
  if (phone && phone.display_phone_number) body.display_phone_number = phone.display_phone_number;
  const number = body.display_phone_number || phoneId;
  const risks = phone ? assignRisks(phone) : [];
  if (risks.length) {
    const ok = await confirmAssign(id, phone, risks);
    const now = rows.get(id);
    if (now && (now.combo || now.unassignBtn)) (now.combo ? now.combo.input : now.unassignBtn).focus();
    if (!ok || busy.has(id)) return;
  }
  clearMessage(id);
  busy.add(id);
  updateRow(rec, state.tenants.find((x) => x.tenant_id === id));
  try {
    const res = await api('POST', `/api/v1/admin/whatsapp/tenants/${encodeURIComponent(id)}/assign-phone`, body);
    setMessage(id, 'ok', t('assign.done', { number: (res && res.display_phone_number) || number, name }));
  } catch (e) {
    if (authProblem(e)) {
      busy.delete(id);
      stopTimer();
      showSignIn(e);
      return;
    }
    const vars = { number, name };
    if (e instanceof ApiError && e.code === 'phone_already_assigned') {
      const holderId = e.data && e.data.assigned_tenant_id;
      vars.holder = (e.data && e.data.assigned_tenant_name) || tenantName(holderId) || '';
      if (!vars.holder) e.code = 'phone_already_assigned_unknown';
    }
    const { text, detail } = errorText(e, vars);
    setMessage(id, 'error', t('assign.failed', { message: text }), detail);
  }
  busy.delete(id);
  await refresh();
}

/** What the unassign dialog says will happen to the bakery's orders afterwards. */
function unassignText(x) {
  const vars = { number: x.display_phone_number || x.phone_number_id, name: x.tenant_name };
  if (state.platformOn === false) return t('unassign.confirm_platform_disabled', vars);
  if (!state.phones) return t('unassign.confirm_unknown', vars);
  const platform = platformPhone();
  if (!platform) return t('unassign.confirm_none', vars);
  vars.platform = platform.display_phone_number || platform.id;
  if (!platform.verified_name) return t('unassign.confirm_platform_unnamed', vars);
  vars.verified = platform.verified_name;
  return t('unassign.confirm_platform', vars);
}

function confirmUnassign(id, trigger) {
  if (busy.has(id)) return;
  const x = (state.tenants || []).find((y) => y.tenant_id === id);
  if (!x) return;
  const dialog = $('confirm-dialog');
  $('confirm-text').textContent = unassignText(x);
  dialog.returnValue = '';
  dialog.dataset.tenantId = id;
  dialog.showModal();
  $('confirm-cancel').focus();
  dialog.addEventListener('close', () => {
    const rec = rows.get(id);
    if (dialog.returnValue === 'confirm') {
      unassign(id);
    }
    // Back to where the user was: the button, or what replaced it in the row.
    if (document.body.contains(trigger)) trigger.focus();
    else if (rec && (rec.unassignBtn || rec.combo)) (rec.unassignBtn || rec.combo.input).focus();
  }, { once: true });
}

async function unassign(id) {
  const rec = rows.get(id);
  if (!rec || busy.has(id)) return;
  const name = tenantName(id);
  clearMessage(id);
  busy.add(id);
  updateRow(rec, state.tenants.find((x) => x.tenant_id === id));
  try {
    await api('DELETE', `/api/v1/admin/whatsapp/tenants/${encodeURIComponent(id)}/unassign-phone`);
    setMessage(id, 'ok', t('unassign.done', { name }));
  } catch (e) {
    if (authProblem(e)) {
      busy.delete(id);
      stopTimer();
      showSignIn(e);
      return;
    }
    const { text, detail } = errorText(e, { name });
    setMessage(id, 'error', t('unassign.failed', { message: text }), detail);
  }
  busy.delete(id);
  await refresh();
}

// ---- start --------------------------------------------------------------------------

function wire() {
  wireHealth();
  $('filter').addEventListener('input', applyFilter);
  $('refresh').addEventListener('click', () => refresh());
  $('phones-toggle').addEventListener('click', () => {
    table.open = !table.open;
    renderPhones();
  });
  for (const id of ['phones-search', 'phones-holder-filter', 'phones-quality-filter', 'phones-name-filter']) {
    $(id).addEventListener(id === 'phones-search' ? 'input' : 'change', () => {
      table.page = 1;
      renderPhones();
    });
  }
  for (const b of document.querySelectorAll('#phones-table .sort-btn')) {
    b.addEventListener('click', () => {
      if (table.sort === b.dataset.sort) table.dir = -table.dir;
      else {
        table.sort = b.dataset.sort;
        table.dir = 1;
      }
      table.page = 1;
      renderPhones();
    });
  }
  const turn = (delta) => () => {
    const btn = $(delta < 0 ? 'phones-prev' : 'phones-next');
    if (btn.getAttribute('aria-disabled') === 'true') return;
    table.page += delta;
    renderPhones();
  };
  $('phones-prev').addEventListener('click', turn(-1));
  $('phones-next').addEventListener('click', turn(1));
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.started && state.timer) refresh();
  });
  onLangChange(() => {
    for (const rec of rows.values()) rec.details.translate();
    if (state.started) render();
    showLive();
  });
}

startPage({
  titleKey: 'admin.doc_title',
  start: async () => {
    state.started = false;
    await refresh();
    if (state.started) {
      startTimer();
      showLive();
      startLive();
    }
  },
});
wire();
