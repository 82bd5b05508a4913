// settings.js - the bakery's Notification Settings card (/app/settings/notifications):
// WhatsApp on/off and the message language. The number is assigned by the platform
// admin and only shown here. The state box says where the bakery's orders go out from,
// as tenant-service's GET .../whatsapp/sender answers it (off, its own number, the
// platform's number, nowhere, or the platform's switch off); it is asked again after
// every save. The languages come from GET .../whatsapp/languages: one whose template
// Meta has not approved is offered disabled, with a note, except the bakery's current
// one, which stays selected (and selectable) with the note. The tenant comes from the
// token; a platform admin may name one with ?tenant=<id>. Owners and tenant admins may
// save; members and viewers read. The own number's quality is shown as Meta rates it
// (green only when it is high); changes not yet saved are marked, and leaving the page
// with them asks first; the platform's support contact comes from tenant-service.

import {
  api, ApiError, errorText, startPage, pageReady, showSignIn, currentSession, t, onLangChange, el,
} from './common.js';
import { startOrders, wireOrders, renderOrders } from './orders.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EDIT_ROLES = ['owner', 'admin'];

const $ = (id) => document.getElementById(id);

const state = {
  tenantId: '',
  tenantName: '',
  role: '', // the tenant role shown in the read-only note
  canEdit: false,
  settings: null,
  sender: null, // the answer of GET .../whatsapp/sender, or null
  senderError: null, // the ApiError of its last call, or null
  plan: null, // the answer of GET .../plan ({plan, monthly_quota, usage}), or null
  planError: null, // the error of its last call, or null
  languages: null, // [{code, name, available}] of GET .../whatsapp/languages, or null
  languagesKnown: false, // its template_status_known: Meta's approval could be checked
  saving: false,
  status: null, // {kind, key, message} of the last save
  problem: null, // {key, vars, link} shown instead of the form
  support: null, // {email, phone} of GET /api/v1/support-contact, or null
};

function settingsUrl() {
  return `/api/v1/tenants/${encodeURIComponent(state.tenantId)}/settings/notifications`;
}

/** The settings object of an answer: bare, or wrapped by a server that adds one. */
function unwrap(res) {
  if (res && typeof res === 'object' && res.settings && typeof res.settings === 'object') return res.settings;
  return res;
}

function senderUrl() {
  return `/api/v1/tenants/${encodeURIComponent(state.tenantId)}/whatsapp/sender`;
}

function planUrl() {
  return `/api/v1/tenants/${encodeURIComponent(state.tenantId)}/plan`;
}

function languagesUrl() {
  return `/api/v1/tenants/${encodeURIComponent(state.tenantId)}/whatsapp/languages`;
}

/** The languages of the markup, all offered: used when the list cannot be had. */
const MARKUP_LANGUAGES = [...document.querySelectorAll('#wa-language option')].map(
  (o) => ({ code: o.value, name: o.textContent, available: true }));

function hasPhone(s) {
  return Boolean(s && typeof s.whatsapp_phone_number_id === 'string' && s.whatsapp_phone_number_id);
}

/** The failure of the sender call in the page's language, the server's sentence as a detail. */
function senderErrorTexts() {
  if (!state.senderError) return [];
  const { text, detail } = errorText(state.senderError);
  return detail ? [text, t('err.detail', { message: detail })] : [text];
}

/**
 * What the state box shows: {state, icon, title, texts, phoneLabel, phone, phoneCls}.
 * Green only when the orders go out from the bakery's own number.
 */
function senderView() {
  const x = state.sender;
  if (!x) {
    return {
      state: 'unknown', icon: 'warn', title: t('settings.sender_failed_title'),
      texts: senderErrorTexts(),
    };
  }
  const number = x.display_phone_number || x.phone_number_id || '';
  const s = state.settings;
  switch (x.state) {
    case 'assigned': {
      // Green only for a number Meta rates high (or has not rated): never a tick on a
      // low-quality one.
      const q = qualityOf(x.quality_rating);
      const good = q === 'green' || q === 'unknown';
      return {
        state: 'assigned', icon: good ? 'ok' : 'warn',
        title: t(q === 'red' ? 'settings.configured_red' : q === 'yellow' ? 'settings.configured_yellow' : 'settings.configured'),
        texts: [t(q === 'red' ? 'settings.assigned_text_red' : q === 'yellow' ? 'settings.assigned_text_yellow' : 'settings.assigned_text')],
        phoneLabel: t('settings.phone_label'), phone: number, phoneCls: good ? 'badge-ok' : 'badge-warn', quality: q,
      };
    }
    case 'platform': {
      const texts = [t('settings.platform_text', { number })];
      if (x.verified_name) texts.push(t('settings.platform_name', { verified: x.verified_name }));
      return { state: 'platform', icon: 'warn', title: t('settings.platform_title'), texts };
    }
    case 'none':
      return { state: 'none', icon: 'warn', title: t('settings.none_title'), texts: [t('settings.none_text')] };
    case 'platform_disabled':
      return {
        state: 'platform_disabled', icon: 'warn', title: t('settings.platform_disabled_title'),
        texts: [t('settings.platform_disabled_text')],
      };
    case 'off': {
      // Off: nothing is sent. The number the bakery holds, if any, is still worth showing.
      const view = { state: 'off', icon: 'off', title: t('settings.off_title'), texts: [t('settings.off_text')] };
      if (hasPhone(s)) {
        view.phoneLabel = t('settings.assigned_phone_label');
        view.phone = s.whatsapp_display_phone_number || s.whatsapp_phone_number_id;
        view.phoneCls = 'badge-neutral';
      }
      return view;
    }
    default:
      // A state this page does not know: say it cannot tell rather than guess.
      return { state: 'unknown', icon: 'warn', title: t('settings.sender_failed_title'), texts: [] };
  }
}

/** 'green', 'yellow', 'red' or 'unknown': Meta's quality rating R. */
function qualityOf(r) {
  const q = String(r || '').toLowerCase();
  return q === 'green' || q === 'yellow' || q === 'red' ? q : 'unknown';
}

function renderSender() {
  const box = $('wa-state');
  const v = senderView();
  const cls = v.icon === 'ok' ? 'wa-ok' : v.icon === 'off' ? 'wa-off' : 'wa-warn';
  box.className = `wa-state ${cls}`;
  box.dataset.state = v.state;
  box.dataset.icon = v.icon;
  const title = $('wa-state-title');
  if (title.textContent !== v.title) title.textContent = v.title;
  const textBox = $('wa-state-text');
  const texts = v.texts.filter(Boolean);
  // Replaced only when it changes, so the live region speaks only of real changes.
  if (textBox.textContent !== texts.join(' ')) textBox.textContent = texts.join(' ');
  textBox.hidden = texts.length === 0;
  const line = $('wa-phone-line');
  line.hidden = !v.phone;
  const label = $('wa-phone-label');
  if (label.textContent !== (v.phone ? v.phoneLabel : '')) label.textContent = v.phone ? v.phoneLabel : '';
  const badge = $('wa-phone');
  if (badge.textContent !== (v.phone || '')) badge.textContent = v.phone || '';
  badge.className = `badge badge-phone ${v.phoneCls || 'badge-neutral'}`;
  const quality = $('wa-quality');
  quality.hidden = !v.quality;
  box.dataset.quality = v.quality || '';
  if (v.quality) {
    quality.className = `badge quality quality-${v.quality}`;
    const text = `${t('phones.col.quality')}: ${t(`quality.${v.quality}`)}`;
    if (quality.textContent !== text) quality.textContent = text;
  }
  box.hidden = false;
}

/** The support contact under the card, when the platform configured one. */
function renderSupport() {
  const s = state.support;
  const email = s && typeof s.email === 'string' && s.email ? s.email : '';
  const phone = s && typeof s.phone === 'string' && s.phone ? s.phone : '';
  const a = $('support-email');
  a.hidden = !email;
  a.textContent = email;
  if (email) a.href = `mailto:${email}`;
  const b = $('support-phone');
  b.hidden = !phone;
  b.textContent = phone;
  if (phone) b.href = `tel:${phone.replace(/[^+\d]/g, '')}`;
  $('support').hidden = !email && !phone;
}

/** Whether the form holds changes not saved yet (only those who may save have any). */
function isDirty() {
  const s = state.settings;
  if (!s || !state.canEdit) return false;
  return $('wa-enabled').checked !== (s.whatsapp_enabled === true)
    || $('wa-language').value !== (currentLanguage() || 'es');
}

function renderDirty() {
  const dirty = isDirty();
  $('dirty-note').hidden = !dirty;
  $('settings-form').classList.toggle('dirty', dirty);
}

/**
 * The plan line and this month's messages, as tenant-service and notification-service
 * count them (GET .../plan with its usage); never worked out here.
 */
function renderPlan() {
  const box = $('wa-plan');
  const p = state.plan;
  // Not "included" on a plan without WhatsApp messages.
  $('included-notice').hidden = Boolean(p && p.monthly_quota === 0);
  const badge = $('wa-plan-badge');
  const usageLine = $('wa-plan-usage');
  box.hidden = !p && !state.planError;
  if (box.hidden) return;
  if (!p) {
    badge.hidden = true;
    usageLine.textContent = t('settings.plan_failed', { message: errorText(state.planError).text });
    box.dataset.plan = '';
    return;
  }
  const name = ['basic', 'standard', 'enterprise'].includes(p.plan) ? t(`plan.${p.plan}`) : String(p.plan);
  badge.hidden = false;
  if (badge.textContent !== name) badge.textContent = name;
  const quota = p.monthly_quota;
  const usage = p.usage && typeof p.usage === 'object' && Number.isInteger(p.usage.used) ? p.usage : null;
  let text;
  if (quota === null) {
    text = usage ? t('settings.plan_unlimited', { plan: name, used: usage.used })
      : t('settings.plan_unlimited_unknown', { plan: name });
  } else if (quota === 0) {
    text = t('settings.plan_none');
  } else if (usage) {
    text = t('settings.plan_usage', { used: usage.used, quota });
  } else {
    text = t('settings.plan_usage_unknown', { quota });
  }
  // Replaced only when it changes, so the live region speaks only of real changes.
  if (usageLine.textContent !== text) usageLine.textContent = text;
  box.dataset.plan = String(p.plan);
  box.dataset.used = usage ? String(usage.used) : '';
}

// ---- render -------------------------------------------------------------------------

function renderSubtitle() {
  $('subtitle').textContent = state.tenantName
    ? t('settings.subtitle_tenant', { name: state.tenantName }) : t('settings.subtitle');
}

function renderProblem() {
  const box = $('page-problem');
  if (!state.problem) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const p = el('p', '', t(state.problem.key, state.problem.vars));
  box.replaceChildren(p);
  if (state.problem.link) {
    const a = el('a', '', t('settings.pick_tenant_link'));
    a.href = '/app/admin/whatsapp';
    const line = el('p');
    line.append(a);
    box.append(line);
  }
  box.hidden = false;
}

function render() {
  renderSubtitle();
  renderProblem();
  const form = $('settings-form');
  const s = state.settings;
  form.hidden = !s;
  if (!s) return;

  renderSender();
  renderPlan();
  renderLanguages();
  renderSupport();
  renderDirty();
  $('wa-enabled-hint').textContent = t('settings.toggle_hint');

  const readOnly = !state.canEdit;
  $('readonly-note').hidden = !readOnly;
  $('readonly-text').textContent = t('settings.readonly', {
    role: t(`role.${EDIT_ROLES.concat(['member', 'viewer']).includes(state.role) ? state.role : 'unknown'}`),
  });
  $('settings-fields').disabled = readOnly;
  const save = $('save');
  save.hidden = false;
  save.disabled = readOnly;
  if (readOnly) save.setAttribute('aria-describedby', 'readonly-text');
  else save.removeAttribute('aria-describedby');
  save.textContent = state.saving ? t('settings.saving') : t('settings.save');
  if (state.saving) save.setAttribute('aria-busy', 'true');
  else save.removeAttribute('aria-busy');
  renderStatus();
}

/** The saved message language, or '' when the settings have none. */
function currentLanguage() {
  const v = state.settings && state.settings.whatsapp_default_language;
  return typeof v === 'string' ? v : '';
}

/**
 * Fills the language select: one option per language, in the API's order with its own
 * name; one Meta has not approved is disabled and says so, unless it is the current one
 * (kept selectable, so a change of mind can go back to it). Rebuilt only when an option
 * changes, so an open list or a screen reader is not disturbed; the choice is kept.
 */
function renderLanguages() {
  const select = $('wa-language');
  const current = currentLanguage();
  const list = (state.languages || MARKUP_LANGUAGES).map((l) => ({ code: l.code, name: l.name, available: l.available !== false }));
  if (current && !list.some((l) => l.code === current)) list.push({ code: current, name: current, available: true });
  const items = list.map((l) => ({
    code: l.code,
    name: l.name,
    label: l.available ? l.name : t('settings.language_pending', { name: l.name }),
    // The name alone is in its language; with the note the label is in the page's.
    lang: l.available ? l.code : '',
    pending: !l.available,
    disabled: !l.available && l.code !== current,
  }));
  const sig = JSON.stringify(items);
  if (select.dataset.sig !== sig) {
    const chosen = select.value;
    select.replaceChildren(...items.map((x) => {
      const o = el('option', '', x.label);
      o.value = x.code;
      if (x.lang) o.lang = x.lang;
      if (x.pending) o.dataset.pending = x.name;
      o.disabled = x.disabled;
      return o;
    }));
    select.dataset.sig = sig;
    const keep = items.find((x) => x.code === chosen && !x.disabled);
    select.value = keep ? chosen : current;
  }
  renderLanguageNote();
  const unchecked = $('wa-language-unchecked');
  unchecked.hidden = state.languagesKnown;
  select.setAttribute('aria-describedby', state.languagesKnown ? 'wa-language-hint' : 'wa-language-hint wa-language-unchecked');
}

/**
 * Repeats the note of a selected language Meta has not approved under the select, where
 * a narrow screen shows it whole (the select cuts long labels).
 */
function renderLanguageNote() {
  const o = $('wa-language').selectedOptions[0];
  const name = o ? o.dataset.pending : undefined;
  const note = $('wa-language-pending');
  const text = name ? t('settings.language_pending_hint', { name }) : '';
  if (note.textContent !== text) note.textContent = text;
  note.hidden = !name;
}

/** Puts the values of S into the form (on load and after a save, not on language change). */
function fillForm(s) {
  $('wa-enabled').checked = s.whatsapp_enabled === true;
  renderLanguages();
  const select = $('wa-language');
  const lang = currentLanguage();
  select.value = [...select.options].some((o) => o.value === lang) ? lang : 'es';
  renderLanguageNote();
}

function renderStatus() {
  const box = $('save-status');
  const st = state.status;
  if (!st) {
    box.replaceChildren();
    return;
  }
  const text = st.kind === 'ok' ? t(st.key) : t(st.key, { message: st.message });
  const sig = `${text}\n${st.detail || ''}`;
  const current = box.firstElementChild;
  if (current && current.dataset.sig === sig) return;
  const p = el('p', `status-text ${st.kind === 'ok' ? 'msg-ok' : 'msg-error'}`);
  p.append(el('span', 'msg-main', text));
  if (st.detail) p.append(el('span', 'msg-detail', t('err.detail', { message: st.detail })));
  p.dataset.sig = sig;
  box.replaceChildren(p);
}

// ---- load and save ------------------------------------------------------------------

/** Counts the loads: a load overtaken by a newer one (a new #token=) stops where it is. */
let loadSeq = 0;

async function load() {
  const seq = ++loadSeq;
  state.settings = null;
  state.sender = null;
  state.senderError = null;
  state.plan = null;
  state.planError = null;
  state.languages = null;
  state.languagesKnown = false;
  state.problem = null;
  state.status = null;
  state.tenantName = '';
  startOrders('', false);
  const claims = currentSession();
  const isPlatformAdmin = claims.role === 'admin';
  const asked = new URLSearchParams(location.search).get('tenant');
  if (isPlatformAdmin) {
    state.role = 'admin';
    state.canEdit = true;
    if (!asked) {
      state.problem = { key: 'settings.pick_tenant', link: true };
    } else if (!UUID_RE.test(asked)) {
      state.problem = { key: 'settings.bad_tenant' };
    } else {
      state.tenantId = asked.toLowerCase();
    }
  } else {
    state.role = typeof claims.tenant_role === 'string' ? claims.tenant_role : '';
    state.canEdit = claims.role === 'user' && EDIT_ROLES.includes(state.role);
    if (typeof claims.tenant_id === 'string' && claims.tenant_id) state.tenantId = claims.tenant_id;
    else state.problem = { key: 'settings.no_tenant' };
  }
  if (state.problem) {
    render();
    pageReady();
    return;
  }
  let settings;
  // All at once; the auth error of the sender and languages calls, if any, is a value
  // (never an unhandled rejection while the settings call is still running).
  const senderAuthError = loadSender().then(() => null, (e) => e);
  const languagesAuthError = loadLanguages().then(() => null, (e) => e);
  const planLoaded = loadPlan();
  loadSupport();
  try {
    settings = unwrap(await api('GET', settingsUrl()));
  } catch (e) {
    await Promise.all([senderAuthError, languagesAuthError, planLoaded]);
    if (seq !== loadSeq) return;
    if (e instanceof ApiError && e.isAuth) {
      showSignIn(e);
      return;
    }
    state.problem = { key: 'settings.load_failed', vars: { message: errorText(e).text } };
    render();
    pageReady();
    return;
  }
  if (seq !== loadSeq) return;
  state.settings = settings && typeof settings === 'object' ? settings : {};
  await planLoaded;
  const authError = (await senderAuthError) || (await languagesAuthError);
  if (seq !== loadSeq) return;
  if (authError) {
    showSignIn(authError);
    return;
  }
  fillForm(state.settings);
  render();
  pageReady();
  loadTenantName();
  startOrders(state.tenantId, state.canEdit);
}

/**
 * Asks where the bakery's orders go out from into state.sender (state.senderError when
 * that fails). Rejects only with an auth ApiError (401/403), for the caller to sign in.
 */
async function loadSender() {
  const id = state.tenantId;
  try {
    const x = await api('GET', senderUrl());
    if (id !== state.tenantId) return;
    state.sender = x && typeof x === 'object' && typeof x.state === 'string' ? x : null;
    state.senderError = state.sender ? null : new ApiError(0, 'bad_response', t('err.generic', { status: 200, message: 'bad_response' }));
  } catch (e) {
    if (e instanceof ApiError && e.isAuth) throw e;
    if (id !== state.tenantId) return;
    state.sender = null;
    state.senderError = e;
  }
}

/** Asks for the plan and this month's usage into state.plan (state.planError). Never rejects. */
async function loadPlan() {
  const id = state.tenantId;
  try {
    const x = await api('GET', planUrl());
    if (id !== state.tenantId) return;
    const ok = x && typeof x === 'object' && typeof x.plan === 'string'
      && (x.monthly_quota === null || Number.isInteger(x.monthly_quota));
    state.plan = ok ? x : null;
    state.planError = ok ? null : new ApiError(0, 'bad_response', t('err.generic', { status: 200, message: 'bad_response' }));
  } catch (e) {
    if (id !== state.tenantId) return;
    state.plan = null;
    state.planError = e;
  }
}

/**
 * Asks which languages may be picked into state.languages and state.languagesKnown; when
 * that fails the markup's list is offered, all of it, saying Meta's approval could not be
 * checked. Rejects only with an auth ApiError (401/403), for the caller to sign in.
 */
async function loadLanguages() {
  const id = state.tenantId;
  let list = null;
  let known = false;
  try {
    const x = await api('GET', languagesUrl());
    if (x && Array.isArray(x.languages)
      && x.languages.every((l) => l && typeof l.code === 'string' && typeof l.name === 'string')) {
      list = x.languages;
      known = x.template_status_known === true;
    }
  } catch (e) {
    if (e instanceof ApiError && e.isAuth) throw e;
  }
  if (id !== state.tenantId) return;
  state.languages = list;
  state.languagesKnown = known;
}

/** The platform's support contact; the card works without it. */
async function loadSupport() {
  try {
    const x = await api('GET', '/api/v1/support-contact');
    state.support = x && typeof x === 'object' ? x : null;
  } catch (_) {
    state.support = null;
  }
  if (state.settings) renderSupport();
}

/** The bakery's name for the subtitle; the page works without it. */
async function loadTenantName() {
  const id = state.tenantId;
  try {
    const x = await api('GET', `/api/v1/tenants/${encodeURIComponent(id)}`);
    const name = x && (x.name || x.tenant_name || (x.tenant && x.tenant.name));
    if (id === state.tenantId && typeof name === 'string') {
      state.tenantName = name;
      renderSubtitle();
    }
  } catch (_) {
    // not shown
  }
}

async function save(ev) {
  ev.preventDefault();
  if (!state.canEdit || state.saving || !state.settings) return;
  const body = {
    whatsapp_enabled: $('wa-enabled').checked,
    whatsapp_default_language: $('wa-language').value,
  };
  state.saving = true;
  state.status = null;
  render();
  try {
    const res = unwrap(await api('PUT', settingsUrl(), body));
    state.settings = res && typeof res === 'object' ? res : { ...state.settings, ...body };
    fillForm(state.settings);
    state.status = { kind: 'ok', key: 'settings.saved' };
    // The switch may have changed where the orders go out from: ask again.
    try {
      await loadSender();
    } catch (e) {
      state.saving = false;
      showSignIn(e);
      return;
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      state.saving = false;
      showSignIn(e);
      return;
    }
    const { text, detail } = errorText(e);
    state.status = { kind: 'error', key: 'settings.save_failed', message: text, detail };
  }
  state.saving = false;
  render();
}

function wire() {
  $('settings-form').addEventListener('submit', save);
  // A change after a save makes the old "saved" line wrong.
  for (const id of ['wa-enabled', 'wa-language']) {
    $(id).addEventListener('change', () => {
      if (state.status && state.status.kind === 'ok') {
        state.status = null;
        renderStatus();
      }
      renderDirty();
    });
  }
  // Leaving with changes not saved asks first (the browser words the question).
  window.addEventListener('beforeunload', (ev) => {
    if (!isDirty()) return;
    ev.preventDefault();
    ev.returnValue = '';
  });
  $('wa-language').addEventListener('change', renderLanguageNote);
  wireOrders();
  onLangChange(() => {
    render();
    renderOrders();
  });
}

wire();
startPage({ titleKey: 'settings.doc_title', start: load });
