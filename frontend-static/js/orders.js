// orders.js - "Últimos pedidos" on the owner's card (issue 21): the bakery's recent
// purchase orders as notification-service tells their story (GET .../orders through
// tenant-service), each with its delivery state and, when it did not reach the supplier,
// why; owners and tenant admins may send one again, fixing the supplier's phone or
// email (POST .../messages/{id}/resend). Only a phone changed: WhatsApp to it; only an
// email given: the order goes by email; both: by the same channel as before.

import { api, ApiError, errorText, getLang, t, el, LOCALES } from './common.js';

const $ = (id) => document.getElementById(id);
const LIMIT = 10;
const NOT_DELIVERED = ['failed', 'skipped', 'canceled'];
const STATE_CLASS = {
  queued: 'badge-neutral', sending: 'badge-neutral', sent: 'badge-ok', delivered: 'badge-ok',
  read: 'badge-ok', failed: 'badge-error', skipped: 'badge-warn', canceled: 'badge-neutral',
};
// Meta's codes and our skip reasons the page words itself; others get a general sentence.
const KNOWN_CODES = ['131026', '131047', '131049', '131050'];
const KNOWN_SKIPS = ['recipient_opted_out', 'whatsapp_disabled_for_tenant', 'po_notifications_disabled',
  'quota_exceeded', 'no_sender_phone_number', 'whatsapp_notifications_disabled'];

const state = {
  tenantId: '',
  canEdit: false,
  orders: null, // the answer's orders, or null
  error: null, // the ApiError of the last load, or null
  open: null, // {event, phone, email, key, busy, problem, fieldProblem} of the open resend form
  done: null, // {event, text} of the last resend, for its line
};

function ordersUrl() {
  return `/api/v1/tenants/${encodeURIComponent(state.tenantId)}/orders?limit=${LIMIT}`;
}

/** The message a resend acts on: the order's newest. */
function lastMessage(order) {
  const list = Array.isArray(order.messages) ? order.messages : [];
  return list.length ? list[list.length - 1] : null;
}

function money(order) {
  const amount = Number(order.total_amount);
  if (!Number.isFinite(amount) || typeof order.currency !== 'string') return '';
  try {
    return new Intl.NumberFormat(LOCALES[getLang()], { style: 'currency', currency: order.currency }).format(amount);
  } catch (_) {
    return `${order.total_amount} ${order.currency}`;
  }
}

function when(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(LOCALES[getLang()], { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** Why ORDER did not reach its supplier: {text, detail}, or null when it did or may. */
function reason(order) {
  if (!NOT_DELIVERED.includes(order.status)) return null;
  if (order.status === 'canceled') return { text: t('orders.reason.canceled'), detail: '' };
  if (order.status === 'skipped') {
    const r = String(order.skip_reason || '');
    return KNOWN_SKIPS.includes(r) ? { text: t(`orders.reason.${r}`), detail: '' }
      : { text: t('orders.reason.skipped_other', { reason: r || '?' }), detail: '' };
  }
  const code = order.error_code === null || order.error_code === undefined ? '' : String(order.error_code);
  const detail = typeof order.error_message === 'string' ? order.error_message : '';
  if (KNOWN_CODES.includes(code)) return { text: t(`orders.reason.${code}`), detail };
  return { text: code ? t('orders.reason.failed_code', { code }) : t('orders.reason.failed'), detail };
}

function recipientLine(m) {
  if (!m) return '';
  if (m.channel === 'email') return t('orders.via_email', { to: m.recipient_email || '' });
  return t('orders.via_whatsapp', { to: m.recipient_phone || '' });
}

function resendForm(order, m) {
  const o = state.open;
  const id = `resend-${order.event_id}`;
  const form = el('form', 'order-resend');
  form.id = id;
  form.noValidate = true;
  form.dataset.message = m.id;
  const field = (key, type, value, autocomplete) => {
    const box = el('div', 'field');
    const input = el('input');
    input.id = `${id}-${key}`;
    input.name = key;
    input.type = type;
    input.value = value;
    input.autocomplete = autocomplete;
    const label = el('label', '', t(`orders.${key}_label`));
    label.htmlFor = input.id;
    const hint = el('p', 'hint', t(`orders.${key}_hint`));
    hint.id = `${input.id}-hint`;
    const err = el('p', 'field-error');
    err.id = `${input.id}-error`;
    const bad = o.fieldProblem && o.fieldProblem.field === key;
    err.hidden = !bad;
    if (bad) err.textContent = o.fieldProblem.text;
    input.setAttribute('aria-describedby', `${hint.id} ${err.id}`);
    if (bad) input.setAttribute('aria-invalid', 'true');
    box.append(label, input, hint, err);
    return box;
  };
  form.append(field('phone', 'tel', o.phone, 'off'), field('email', 'email', o.email, 'off'));
  const actions = el('div', 'order-resend-actions');
  const submit = el('button', 'btn btn-primary btn-small', o.busy ? t('orders.sending') : t('orders.send'));
  submit.type = 'submit';
  submit.disabled = o.busy;
  actions.append(submit);
  if (o.problem) {
    const p = el('p', 'status-text msg-error');
    p.setAttribute('role', 'alert');
    p.append(el('span', 'msg-main', o.problem.text));
    if (o.problem.detail) p.append(el('span', 'msg-detail', t('err.detail', { message: o.problem.detail })));
    actions.append(p);
  }
  form.append(actions);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    resend(order, m, form);
  });
  for (const key of ['phone', 'email']) {
    form.elements[key].addEventListener('input', (ev) => {
      o[key] = ev.target.value;
    });
  }
  return form;
}

function orderItem(order) {
  const li = el('li', 'order');
  li.dataset.event = order.event_id;
  li.dataset.status = order.status;
  const m = lastMessage(order);
  const head = el('div', 'order-head');
  const title = el('p', 'order-title');
  title.append(el('span', 'order-po', order.po_number || order.event_id));
  for (const part of [order.supplier_name, money(order)]) {
    if (part) title.append(document.createTextNode(' · '), el('span', '', part));
  }
  const badge = el('span', `badge order-state ${STATE_CLASS[order.status] || 'badge-neutral'}`,
    t(`orders.state.${STATE_CLASS[order.status] ? order.status : 'unknown'}`));
  head.append(title, badge);
  li.append(head);
  const meta = [when(order.created_at), recipientLine(m)].filter(Boolean).join(' · ');
  if (meta) li.append(el('p', 'order-meta', meta));
  const why = reason(order);
  if (why) {
    const p = el('p', 'order-reason', why.text);
    if (why.detail) p.append(el('span', 'msg-detail', t('err.detail', { message: why.detail })));
    li.append(p);
  }
  if (state.done && state.done.event === order.event_id) {
    const p = el('p', 'status-text msg-ok order-done', state.done.text);
    p.setAttribute('role', 'status');
    p.tabIndex = -1;
    li.append(p);
  }
  if (state.canEdit && why && m) {
    const open = state.open && state.open.event === order.event_id;
    const toggle = el('button', 'btn btn-quiet btn-small order-resend-toggle', t('orders.resend'));
    toggle.type = 'button';
    toggle.setAttribute('aria-label', t('orders.resend_label', { po: order.po_number || order.event_id }));
    toggle.setAttribute('aria-expanded', String(Boolean(open)));
    toggle.setAttribute('aria-controls', `resend-${order.event_id}`);
    toggle.addEventListener('click', () => {
      state.open = open ? null : {
        event: order.event_id,
        phone: order.supplier_phone || (m.channel === 'whatsapp' ? m.recipient_phone : '') || '',
        email: order.supplier_email || '',
        // One key per opened form: a second click or a retry after a lost answer is
        // answered with the same new message, never a second one.
        key: crypto.randomUUID(),
        busy: false,
        problem: null,
        fieldProblem: null,
      };
      render();
      // The list was drawn again: focus goes to the form, or back to its button.
      if (state.open) $(`resend-${order.event_id}-phone`).focus();
      else toggleOf(order.event_id).focus();
    });
    li.append(toggle);
    if (open) li.append(resendForm(order, m));
  }
  return li;
}

function toggleOf(event) {
  return document.querySelector(`#orders-list li[data-event="${CSS.escape(event)}"] .order-resend-toggle`);
}

export function renderOrders() {
  const box = $('orders');
  if (!state.tenantId) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const note = $('orders-note');
  let text = '';
  if (state.error) text = t('orders.failed', { message: errorText(state.error).text });
  else if (state.orders && state.orders.length === 0) text = t('orders.empty');
  else if (!state.orders) text = t('loading');
  if (note.textContent !== text) note.textContent = text;
  note.hidden = !text;
  $('orders-list').replaceChildren(...(state.orders || []).map(orderItem));
}

function render() {
  renderOrders();
}

async function loadOrders() {
  const id = state.tenantId;
  try {
    const x = await api('GET', ordersUrl());
    if (id !== state.tenantId) return;
    state.orders = x && Array.isArray(x.orders) ? x.orders : [];
    state.error = null;
  } catch (e) {
    if (id !== state.tenantId) return;
    state.error = e;
  }
  render();
}

/** What the form asks for: the changes from what the order holds, and the key. */
function resendBody(order, m, form) {
  const phone = form.elements.phone.value.trim();
  const email = form.elements.email.value.trim();
  const body = { idempotency_key: state.open.key };
  const oldPhone = order.supplier_phone || (m.channel === 'whatsapp' ? m.recipient_phone : '') || '';
  if (phone && phone.replace(/[\s().-]/g, '') !== oldPhone) body.supplier_phone = phone;
  if (email && email !== (order.supplier_email || '')) body.supplier_email = email;
  return body;
}

async function resend(order, m, form) {
  const o = state.open;
  if (!o || o.busy) return;
  const body = resendBody(order, m, form);
  o.busy = true;
  o.problem = null;
  o.fieldProblem = null;
  render();
  try {
    await api('POST', `/api/v1/tenants/${encodeURIComponent(state.tenantId)}/messages/${encodeURIComponent(m.id)}/resend`, body);
    const to = body.supplier_phone || body.supplier_email;
    state.done = { event: order.event_id, text: to ? t('orders.resent_to', { to }) : t('orders.resent') };
    state.open = null;
    await loadOrders();
    const item = document.querySelector(`#orders-list li[data-event="${CSS.escape(order.event_id)}"] .order-done`);
    if (item) item.focus({ preventScroll: true });
    return;
  } catch (e) {
    o.busy = false;
    if (e instanceof ApiError && e.status === 422 && (e.field === 'supplier_phone' || e.field === 'supplier_email')) {
      const field = e.field === 'supplier_phone' ? 'phone' : 'email';
      o.fieldProblem = { field, text: t(`orders.bad_${field}`) };
    } else {
      o.problem = errorText(e);
    }
  }
  render();
  const bad = o.fieldProblem ? $(`resend-${order.event_id}-${o.fieldProblem.field}`) : null;
  if (bad) bad.focus();
}

/**
 * Shows the list of TENANT_ID's recent orders; CAN_EDIT offers the resend (owners,
 * tenant admins, the platform admin). Called once the card has loaded.
 */
export function startOrders(tenantId, canEdit) {
  state.tenantId = tenantId || '';
  state.canEdit = canEdit;
  state.orders = null;
  state.error = null;
  state.open = null;
  state.done = null;
  render();
  return state.tenantId ? loadOrders() : Promise.resolve();
}

export function wireOrders() {
  $('orders-refresh').addEventListener('click', () => {
    state.done = null;
    loadOrders();
  });
}
