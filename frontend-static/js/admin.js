// admin.js - the WhatsApp Admin Management page (/app/admin/whatsapp): the master
// account's phone numbers and who holds each (the platform's default number labelled as
// such and never offered), the bakeries with where their orders go out from, assign
// and unassign. The lists are refreshed after each action and every 15 seconds; rows are
// updated in place so an open dropdown, its selection and the focus survive a refresh.

import { api, ApiError, startPage, pageReady, showSignIn, t, getLang, onLangChange, fold, el } from './common.js';

const REFRESH_MS = 15000;
const SUCCESS_MESSAGE_MS = 10000;
const PHONES_URL = '/api/v1/admin/whatsapp/phone-numbers';
const TENANTS_URL = '/api/v1/admin/whatsapp/tenants';
const QUALITY = ['GREEN', 'YELLOW', 'RED'];

const $ = (id) => document.getElementById(id);

const state = {
  phones: null, // array, or null when not (yet) loaded
  phonesError: null, // ApiError of the last phone-number load, or null
  tenants: null,
  tenantsError: null,
  updatedAt: null,
  platformOn: null, // ENABLE_WHATSAPP_NOTIFICATIONS as the sender endpoint reports it; null: unknown
  seq: 0, // sequence number of the newest refresh; older answers are dropped
  started: false,
  timer: 0,
};

/** tenant_id -> row record (the <li> and its parts). */
const rows = new Map();
/** tenant ids with an assign/unassign in flight. */
const busy = new Set();
/** tenant_id -> {kind: 'ok'|'error', text, timer}: the message under a row. */
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
  const [phones, tenants] = await Promise.allSettled([api('GET', PHONES_URL), api('GET', TENANTS_URL)]);
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
  state.updatedAt = new Date();
  render();
  if (!state.started) {
    state.started = true;
    pageReady();
  }
  checkPlatform(seq);
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

function tenantName(id) {
  const x = (state.tenants || []).find((y) => y.tenant_id === id);
  return x ? x.tenant_name : '';
}

// ---- phone numbers ------------------------------------------------------------------

function qualityBadge(rating) {
  const r = String(rating || '').toUpperCase();
  const known = QUALITY.includes(r);
  const badge = el('span', `badge quality quality-${known ? r.toLowerCase() : 'unknown'}`);
  badge.append(el('span', 'dot'));
  badge.append(el('span', 'sr-only', `${t('phones.col.quality')}: `));
  badge.append(document.createTextNode(known ? r : t('quality.unknown')));
  return badge;
}

function byNumber(a, b) {
  return String(a || '').replace(/\D/g, '').localeCompare(String(b || '').replace(/\D/g, ''), 'en', { numeric: true });
}

function renderPhones() {
  const table = $('phones-table');
  const body = $('phones-body');
  const errorBox = $('phones-error');
  const empty = $('phones-empty');
  if (state.phonesError) {
    errorBox.replaceChildren(el('p', 'notice-title', t('phones.unavailable')),
      el('p', '', state.phonesError.message));
    errorBox.hidden = false;
  } else {
    errorBox.hidden = true;
    errorBox.replaceChildren();
  }
  // By number, the way people look one up (the WABA lists newest first).
  const phones = [...(state.phones || [])].sort((a, b) => byNumber(a.display_phone_number, b.display_phone_number));
  $('phones-count').textContent = state.phones ? `(${phones.length})` : '';
  $('phones-summary').textContent = state.phones
    ? t('phones.summary', { total: phones.length, free: freePhones().length }) : '';
  empty.hidden = !(state.phones && phones.length === 0);
  table.hidden = phones.length === 0;
  const free = new Set(freePhones().map((p) => p.id));
  body.replaceChildren(...phones.map((p) => {
    // Explicit roles: the table keeps its semantics when CSS lays it out as cards.
    const tr = el('tr');
    tr.setAttribute('role', 'row');
    tr.dataset.phoneId = p.id;
    const num = el('td', 'phone-number');
    num.append(el('span', 'num', p.display_phone_number || p.id));
    tr.append(num);
    const name = el('td', 'phone-name', p.verified_name || '—');
    name.dataset.label = t('phones.col.name');
    tr.append(name);
    const q = el('td', 'phone-quality');
    q.append(qualityBadge(p.quality_rating));
    tr.append(q);
    const holder = el('td', 'phone-holder');
    if (p.is_default) {
      holder.append(el('span', 'holder-platform', t('phones.platform')));
    } else if (free.has(p.id)) {
      holder.append(el('span', 'holder-free', t('phones.free')));
    } else {
      const holderName = p.assigned_tenant_name || tenantName(p.assigned_tenant_id) ||
        tenantName((state.tenants || []).find((x) => x.phone_number_id === p.id)?.tenant_id) || '—';
      holder.append(el('span', 'sr-only', `${t('phones.col.holder')}: `));
      holder.append(el('span', 'holder-name', holderName));
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
  const link = el('a', 'tenant-link');
  info.append(phone, link);
  const actions = el('div', 'tenant-actions');
  const msg = el('div', 'row-msg');
  msg.setAttribute('aria-live', 'polite');
  const main = el('div', 'tenant-main');
  main.append(head, info);
  li.append(main, actions, msg);
  return { li, nameText, badge, phone, link, actions, msg, mode: '', select: null, assignBtn: null, unassignBtn: null, optionsKey: '', lang: '' };
}

function buildAssignControls(rec, x) {
  const id = `assign-${x.tenant_id}`;
  const wrap = el('div', 'assign');
  const label = el('label', 'sr-only');
  label.htmlFor = id;
  const select = el('select', 'select');
  select.id = id;
  const btn = el('button', 'btn btn-primary assign-btn');
  btn.type = 'button';
  btn.addEventListener('click', () => assign(x.tenant_id));
  select.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') {
      ev.preventDefault();
      assign(x.tenant_id);
    }
  });
  select.addEventListener('change', () => clearMessage(x.tenant_id));
  select.addEventListener('blur', () => {
    if (rec.deferredOptions) {
      rec.deferredOptions = false;
      const current = (state.tenants || []).find((y) => y.tenant_id === x.tenant_id);
      if (current) updateRow(rec, current);
    }
  });
  wrap.append(label, select, btn);
  rec.actions.replaceChildren(wrap);
  rec.select = select;
  rec.selectLabel = label;
  rec.assignBtn = btn;
  rec.unassignBtn = null;
  rec.optionsKey = '';
}

function buildUnassignControls(rec, x) {
  const btn = el('button', 'btn btn-danger-outline unassign-btn');
  btn.type = 'button';
  btn.addEventListener('click', () => confirmUnassign(x.tenant_id, btn));
  rec.actions.replaceChildren(btn);
  rec.unassignBtn = btn;
  rec.select = null;
  rec.assignBtn = null;
  rec.optionsKey = '';
}

function fillOptions(rec, x) {
  const select = rec.select;
  const free = freePhones().sort((a, b) => byNumber(a.display_phone_number, b.display_phone_number));
  const key = [getLang(), state.phones ? 'ok' : 'none', ...free.map((p) => `${p.id}|${p.display_phone_number}|${p.verified_name}`)].join('\n');
  if (key === rec.optionsKey) return;
  if (rec.optionsKey && document.activeElement === select) {
    // Never change the options under the user's hands: wait until the list loses focus.
    rec.deferredOptions = true;
    return;
  }
  const chosen = select.value;
  const chosenText = chosen ? select.selectedOptions[0]?.dataset.number || chosen : '';
  const opts = [];
  const placeholder = el('option', '', !state.phones ? t('assign.phones_unavailable')
    : free.length ? t('assign.placeholder') : t('assign.no_free'));
  placeholder.value = '';
  opts.push(placeholder);
  for (const p of free) {
    const o = el('option', '', p.verified_name ? `${p.display_phone_number} · ${p.verified_name}` : p.display_phone_number);
    o.value = p.id;
    o.dataset.number = p.display_phone_number || p.id;
    opts.push(o);
  }
  select.replaceChildren(...opts);
  if (chosen && free.some((p) => p.id === chosen)) {
    select.value = chosen;
  } else {
    select.value = '';
    // Say why the choice vanished, unless the row already explains (e.g. the 409).
    if (chosen && rec.optionsKey && !messages.has(x.tenant_id)) {
      setMessage(x.tenant_id, 'error', t('assign.gone', { number: chosenText }));
    }
  }
  rec.optionsKey = key;
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

  const mode = x.phone_number_id ? 'assigned' : 'free';
  if (mode !== rec.mode) {
    const hadFocus = rec.actions.contains(document.activeElement);
    if (mode === 'assigned') buildUnassignControls(rec, x);
    else buildAssignControls(rec, x);
    rec.mode = mode;
    if (hadFocus) (rec.unassignBtn || rec.select).focus();
  }
  const isBusy = busy.has(x.tenant_id);
  if (mode === 'free') {
    rec.selectLabel.textContent = t('assign.select_label', { name: x.tenant_name });
    fillOptions(rec, x);
    setBusy(rec.assignBtn, isBusy, isBusy ? t('assign.busy') : t('assign.button'));
    rec.assignBtn.setAttribute('aria-label', isBusy ? t('assign.busy') : t('assign.button_label', { name: x.tenant_name }));
    rec.select.disabled = false;
  } else {
    setBusy(rec.unassignBtn, isBusy, isBusy ? t('unassign.busy') : t('unassign.button'));
    rec.unassignBtn.setAttribute('aria-label', isBusy ? t('unassign.busy') : t('unassign.button_label', { name: x.tenant_name }));
  }
  renderMessage(rec, x.tenant_id);
}

/** Marks BUTTON busy without disabling it, so that it keeps the keyboard focus. */
function setBusy(button, isBusy, text) {
  button.textContent = text;
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
    errorBox.replaceChildren(el('p', 'notice-title', t('tenants.unavailable')),
      el('p', '', state.tenantsError.message));
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
    const hay = fold(`${x.tenant_name} ${x.display_phone_number || ''} ${(x.display_phone_number || '').replace(/\D/g, '')}`);
    const match = !q || hay.includes(q) || (/\d/.test(q) && hay.includes(q.replace(/\D/g, '')));
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
  renderPhones();
  renderTenants();
  const time = state.updatedAt
    ? state.updatedAt.toLocaleTimeString({ es: 'es-ES', en: 'en-GB', eu: 'eu-ES' }[getLang()] || 'es-ES') : '';
  $('updated').textContent = time ? t('admin.updated', { time }) : '';
  $('refresh-tools').hidden = false;
}

// ---- row messages -------------------------------------------------------------------

function setMessage(id, kind, text) {
  const old = messages.get(id);
  if (old && old.timer) clearTimeout(old.timer);
  const m = { kind, text, timer: 0 };
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
  if (current && current.textContent === m.text && current.dataset.kind === m.kind) return;
  const p = el('p', `row-msg-text ${m.kind === 'ok' ? 'msg-ok' : 'msg-error'}`, m.text);
  p.dataset.kind = m.kind;
  rec.msg.replaceChildren(p);
}

// ---- actions ------------------------------------------------------------------------

async function assign(id) {
  const rec = rows.get(id);
  if (!rec || !rec.select || busy.has(id)) return;
  const phoneId = rec.select.value;
  const name = tenantName(id);
  if (!phoneId) {
    setMessage(id, 'error', t('assign.choose_first'));
    rec.select.focus();
    return;
  }
  const phone = (state.phones || []).find((p) => p.id === phoneId);
  const body = { phone_number_id: phoneId };
  if (phone && phone.display_phone_number) body.display_phone_number = phone.display_phone_number;
  clearMessage(id);
  busy.add(id);
  updateRow(rec, state.tenants.find((x) => x.tenant_id === id));
  try {
    const res = await api('POST', `/api/v1/admin/whatsapp/tenants/${encodeURIComponent(id)}/assign-phone`, body);
    setMessage(id, 'ok', t('assign.done', {
      number: (res && res.display_phone_number) || body.display_phone_number || phoneId, name,
    }));
  } catch (e) {
    if (authProblem(e)) {
      busy.delete(id);
      stopTimer();
      showSignIn(e);
      return;
    }
    if (e instanceof ApiError && e.code === 'phone_number_reserved') {
      setMessage(id, 'error', t('assign.reserved', { number: body.display_phone_number || phoneId }));
    } else {
      setMessage(id, 'error', t('assign.failed', { message: e.message }));
    }
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
    else if (rec && (rec.unassignBtn || rec.select)) (rec.unassignBtn || rec.select).focus();
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
    setMessage(id, 'error', t('unassign.failed', { message: e.message }));
  }
  busy.delete(id);
  await refresh();
}

// ---- start --------------------------------------------------------------------------

function wire() {
  $('filter').addEventListener('input', applyFilter);
  $('refresh').addEventListener('click', () => refresh());
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.started && state.timer) refresh();
  });
  onLangChange(() => {
    if (state.started) render();
  });
}

startPage({
  titleKey: 'admin.doc_title',
  start: async () => {
    state.started = false;
    await refresh();
    if (state.started) startTimer();
  },
});
wire();
