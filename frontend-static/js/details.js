// details.js - a bakery's "Detalles" on the admin page (issue 22): opened from its row,
// it shows the diagnostics checklist (GET .../tenants/{id}/diagnostics), its last 30 days
// of WhatsApp messages by status and skip reason (GET .../tenants/{id}/activity), its
// audit log (GET .../audit-log?tenant_id=) and sends a test message to a phone the admin
// types (POST .../tenants/{id}/test-message), then reads that message back until it is
// read, failed or skipped, saying what happened. Every text is the backend's state.

import { api, ApiError, errorText, getLang, t, el, LOCALES } from './common.js';

const DAYS = 30;
const AUDIT_LIMIT = 20;
const POLL_MS = 700;
const POLL_FOR_MS = 30000;
const FINAL = ['read', 'failed', 'skipped', 'canceled'];
const COUNTS = ['sent', 'delivered', 'read', 'failed', 'skipped', 'pending'];

const base = (id) => `/api/v1/admin/whatsapp/tenants/${encodeURIComponent(id)}`;

function when(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(LOCALES[getLang()], { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** KEY's text, or FALLBACK's (with VARS) when the page has none for it. */
function known(key, fallback, vars) {
  const text = t(key, vars);
  return text === key ? t(fallback, vars) : text;
}

function section(titleKey, cls) {
  const box = el('section', `details-part ${cls}`);
  const title = el('h4', 'details-title', t(titleKey));
  const body = el('div', 'details-body');
  box.append(title, body);
  return { box, title, body, titleKey };
}

function problem(body, e, onAuth) {
  if (onAuth(e)) return;
  const { text, detail } = errorText(e);
  body.replaceChildren(el('p', 'msg-error', text));
  if (detail) body.append(el('p', 'msg-detail', t('err.detail', { message: detail })));
}

function renderChecks(body, diag) {
  const list = el('ul', 'checks');
  for (const c of diag.checks || []) {
    const li = el('li', `check ${c.ok ? 'check-ok' : 'check-fail'}`);
    li.dataset.check = c.name;
    li.append(el('span', 'check-state', t(c.ok ? 'details.check.ok' : 'details.check.fail')), ' ');
    li.append(el('span', 'check-name', known(`details.check.${c.name}`, 'details.check.other', { name: c.name })));
    if (c.detail) li.append(el('span', 'msg-detail', t('err.detail', { message: c.detail })));
    list.append(li);
  }
  body.replaceChildren(list);
}

function renderActivity(body, a) {
  const dl = el('dl', 'activity');
  for (const k of COUNTS) {
    const item = el('div', 'activity-item');
    item.dataset.count = k;
    item.append(el('dt', '', t(`details.count.${k}`)), el('dd', '', String(a[k] ?? 0)));
    dl.append(item);
  }
  const reasons = Object.entries(a.skipped_by_reason || {});
  const nodes = [dl];
  if (reasons.length) {
    const ul = el('ul', 'skip-reasons');
    for (const [reason, n] of reasons) {
      const li = el('li', '', t('details.skip_line', {
        reason: known(`details.reason.${reason}`, 'details.reason.other', { reason }), n,
      }));
      li.dataset.reason = reason;
      ul.append(li);
    }
    nodes.push(el('p', 'skip-title', t('details.skipped_by_reason')), ul);
  }
  body.replaceChildren(...nodes);
}

function renderAudit(body, rows) {
  if (!rows.length) {
    body.replaceChildren(el('p', 'empty', t('details.audit_empty')));
    return;
  }
  const list = el('ul', 'audit');
  for (const r of rows) {
    const li = el('li', 'audit-row');
    li.dataset.action = r.action;
    li.append(el('span', 'audit-when', when(r.created_at)));
    li.append(el('span', 'audit-what', known(`details.audit.${r.action}`, 'details.audit.other', {
      action: r.action, number: r.display_phone_number || r.phone_number_id || '',
    })));
    li.append(el('span', 'audit-who', t('details.audit_by', { actor: r.actor })));
    if (r.reason) li.append(el('span', 'audit-reason', r.reason));
    list.append(li);
  }
  body.replaceChildren(list);
}

/**
 * The details of one bakery: OPTS = {tenantId, phoneLabel(phoneId) -> text, onAuth(e) ->
 * true when E was an auth problem the page handled}. Returns {button, panel, setName(name),
 * translate()}; the caller puts them in the row and calls setName on each refresh.
 */
export function createDetails(opts) {
  const { tenantId, phoneLabel, onAuth } = opts;
  let name = '';
  let open = false;
  let test = null; // {id, to, timer, until} of the test message being followed
  const panelId = `details-${tenantId}`;

  const button = el('button', 'btn btn-secondary details-btn');
  button.type = 'button';
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', panelId);
  const panel = el('div', 'tenant-details');
  panel.id = panelId;
  panel.hidden = true;

  const checks = section('details.checks', 'details-checks');
  const activity = section('details.activity', 'details-activity');
  const audit = section('details.audit', 'details-audit');
  const sender = section('details.test', 'details-test');

  const form = el('form', 'test-form');
  form.noValidate = true;
  const label = el('label', '', t('details.test_phone'));
  const input = el('input');
  input.type = 'tel';
  input.id = `test-phone-${tenantId}`;
  input.autocomplete = 'off';
  input.placeholder = '+34 600 000 000';
  label.htmlFor = input.id;
  const send = el('button', 'btn btn-primary test-send');
  send.type = 'submit';
  const result = el('div', 'test-result');
  result.setAttribute('role', 'status');
  form.append(label, input, send);
  sender.body.append(form, result);
  panel.append(checks.box, activity.box, audit.box, sender.box);

  function relabel() {
    button.textContent = t('details.button');
    button.setAttribute('aria-label', t('details.button_label', { name }));
    for (const s of [checks, activity, audit, sender]) s.title.textContent = t(s.titleKey);
    label.textContent = t('details.test_phone');
    send.textContent = test && !test.done ? t('details.test_busy') : t('details.test_send');
  }

  async function loadActivity() {
    try {
      renderActivity(activity.body, await api('GET', `${base(tenantId)}/activity?days=${DAYS}`));
    } catch (e) {
      problem(activity.body, e, onAuth);
    }
  }

  async function load() {
    for (const s of [checks, activity, audit]) s.body.replaceChildren(el('p', 'loading', t('loading')));
    const [d, , a] = await Promise.allSettled([
      api('GET', `${base(tenantId)}/diagnostics`),
      loadActivity(),
      api('GET', `/api/v1/admin/whatsapp/audit-log?tenant_id=${encodeURIComponent(tenantId)}&limit=${AUDIT_LIMIT}`),
    ]);
    if (d.status === 'fulfilled') renderChecks(checks.body, d.value);
    else problem(checks.body, d.reason, onAuth);
    if (a.status === 'fulfilled' && Array.isArray(a.value)) renderAudit(audit.body, a.value);
    else problem(audit.body, a.reason || new ApiError(0, 'bad_response', ''), onAuth);
    panel.dataset.loaded = 'true';
  }

  /** What became of the test message M, as a sentence: {text, detail, kind}. */
  function outcome(m) {
    const vars = { to: m.recipient_phone, from: m.phone_number_id ? phoneLabel(m.phone_number_id) : '' };
    switch (m.status) {
      case 'queued':
      case 'sending':
        return { text: t('details.test.queued', vars), kind: 'busy' };
      case 'sent':
      case 'delivered':
      case 'read':
        return { text: t(`details.test.${m.status}`, vars), kind: 'ok' };
      case 'skipped':
        return {
          text: t('details.test.skipped', { reason: known(`details.reason.${m.skip_reason}`, 'details.reason.other', { reason: m.skip_reason }) }),
          kind: 'error',
        };
      case 'failed':
        return { text: t('details.test.failed', { ...vars, code: m.error_code ?? '—' }), detail: m.error_message || '', kind: 'error' };
      default:
        return { text: t('details.test.other', { status: m.status }), kind: 'error' };
    }
  }

  function say(o) {
    const p = el('p', o.kind === 'ok' ? 'msg-ok' : o.kind === 'error' ? 'msg-error' : 'msg-busy', o.text);
    result.replaceChildren(p);
    if (o.detail) result.append(el('p', 'msg-detail', t('err.detail', { message: o.detail })));
    result.dataset.kind = o.kind;
  }

  async function follow() {
    const current = test;
    let m;
    try {
      m = await api('GET', `${base(tenantId)}/test-message/${encodeURIComponent(current.id)}`);
    } catch (e) {
      if (!onAuth(e)) say({ ...errorText(e), kind: 'error' });
      current.done = true;
      relabel();
      return;
    }
    if (test !== current) return;
    say(outcome(m));
    result.dataset.status = m.status;
    if (FINAL.includes(m.status) || Date.now() > current.until) {
      current.done = true;
      relabel();
      loadActivity();
      return;
    }
    current.timer = setTimeout(follow, POLL_MS);
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (test && !test.done) return;
    const phone = input.value.trim();
    if (!phone) {
      say({ text: t('details.test_phone_missing'), kind: 'error' });
      input.focus();
      return;
    }
    test = { id: '', done: false, until: Date.now() + POLL_FOR_MS, timer: 0 };
    relabel();
    delete result.dataset.status;
    say({ text: t('details.test.sending'), kind: 'busy' });
    try {
      const r = await api('POST', `${base(tenantId)}/test-message`, { phone });
      test.id = r.message_id;
      follow();
    } catch (e) {
      test.done = true;
      relabel();
      if (!onAuth(e)) {
        const { text, detail } = errorText(e);
        say({ text: t('details.test_refused', { message: text }), detail, kind: 'error' });
      }
    }
  });

  button.addEventListener('click', () => {
    open = !open;
    button.setAttribute('aria-expanded', String(open));
    panel.hidden = !open;
    if (open) load();
  });

  return {
    button,
    panel,
    setName(n) {
      if (n === name) return;
      name = n;
      relabel();
    },
    /** The page's language changed: the labels, and an open panel read again in it. */
    translate() {
      relabel();
      if (open) load();
    },
  };
}
