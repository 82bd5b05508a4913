// health.js - the platform's health at the top of the admin page: the master account's
// state, its numbers, the po_notification template per language and the Graph API
// version, from notification-service's health as tenant-service passes it on
// (GET /api/v1/admin/whatsapp/health). It only shows what that answer says; the account's
// state is always in sight, the rest folds away (closed at first on phones).

import { t, el, errorText } from './common.js';

const $ = (id) => document.getElementById(id);
const TEMPLATE = 'po_notification';

/** "Enviando", "En pausa: ...", ... with the badge class its state deserves. */
function accountFact(account) {
  const state = account && account.state;
  if (state === 'sending') return { text: t('health.state.sending'), cls: 'badge-ok' };
  if (state === 'paused') {
    const reason = account.paused && (account.paused.reason || account.paused.code);
    return { text: reason ? t('health.state.paused_why', { reason }) : t('health.state.paused'), cls: 'badge-warn' };
  }
  if (state === 'disabled') return { text: t('health.state.disabled'), cls: 'badge-warn' };
  if (state === 'not_configured') {
    return { text: t('health.state.not_configured', { missing: (account.missing || []).join(', ') }), cls: 'badge-warn' };
  }
  return { text: t('health.state.unknown', { state: String(state) }), cls: 'badge-warn' };
}

/** "120 números · 118 listos · 3 de calidad baja", counted by READY (admin.js's rule). */
function numbersFact(phones, isReady) {
  const total = phones.length;
  const ready = phones.filter(isReady).length;
  const red = phones.filter((p) => String(p.quality_rating).toUpperCase() === 'RED').length;
  const parts = [t('health.numbers', { total }), t('health.numbers_ready', { ready })];
  if (red) parts.push(t('health.numbers_red', { red }));
  return { text: parts.join(' · '), cls: ready === total ? 'badge-ok' : 'badge-warn' };
}

/** Meta's status of a template language in the page's language (raw when unknown). */
function templateStatus(s) {
  const key = `health.tpl.${String(s || 'missing').toLowerCase()}`;
  const text = t(key);
  return text === key ? String(s) : text;
}

/** "es: Aprobada · en: Pendiente" for po_notification; held languages say so. */
function templatesFact(templates) {
  const mine = templates.filter((x) => x && x.name === TEMPLATE);
  if (!mine.length) return { text: t('health.tpl.none'), cls: 'badge-warn' };
  const ok = (x) => x.status === 'APPROVED' && !x.held;
  const text = mine.map((x) => `${x.language}: ${x.held ? t('health.tpl.held') : templateStatus(x.status)}`).join(' · ');
  return { text, cls: mine.every(ok) ? 'badge-ok' : 'badge-warn' };
}

/** "v25.0", or "v25.0 (Meta responde con v26.0)" when Graph serves another version. */
function versionFact(v) {
  if (!v || !v.asked) return { text: t('health.unknown'), cls: 'badge-neutral' };
  if (v.differs && v.served) return { text: t('health.version_differs', { asked: v.asked, served: v.served }), cls: 'badge-warn' };
  return { text: v.asked, cls: 'badge-ok' };
}

function fact(key, name, f) {
  const item = el('div', 'health-fact');
  item.dataset.fact = key;
  item.append(el('dt', '', name));
  const dd = el('dd');
  const badge = el('span', `badge ${f.cls}`, f.text);
  dd.append(badge);
  item.append(dd);
  return item;
}

/**
 * Opens or closes the details below the account's state: open at first on wide screens,
 * closed on phones, where the bakeries must stay in the first screen.
 */
export function wireHealth() {
  const toggle = $('health-toggle');
  const show = (open) => {
    toggle.setAttribute('aria-expanded', String(open));
    $('health-facts').hidden = !open;
  };
  show(window.matchMedia('(min-width: 641px)').matches);
  toggle.addEventListener('click', () => show(toggle.getAttribute('aria-expanded') !== 'true'));
}

/**
 * Shows HEALTH (the health answer, or null) in #health, or why it is missing (ERROR, an
 * ApiError, or null). IS_READY tells whether a health phone item can send now.
 */
export function renderHealth(health, error, isReady) {
  const account = $('health-account');
  const facts = $('health-facts');
  const problem = $('health-error');
  if (!health) {
    account.replaceChildren();
    facts.replaceChildren();
    const { text, detail } = errorText(error || new Error('no health'));
    problem.replaceChildren(el('p', '', t('health.unavailable', { message: text })));
    if (detail) problem.append(el('p', 'msg-detail', t('err.detail', { message: detail })));
    problem.hidden = false;
    return;
  }
  const phones = Array.isArray(health.phone_numbers) ? health.phone_numbers : [];
  const templates = Array.isArray(health.templates) ? health.templates : [];
  account.replaceChildren(fact('account', t('health.account'), accountFact(health.account)));
  facts.replaceChildren(
    fact('numbers', t('health.numbers_label'), numbersFact(phones, isReady)),
    fact('templates', t('health.templates', { name: TEMPLATE }), templatesFact(templates)),
    fact('version', t('health.version'), versionFact(health.api_version)));
  const graphError = health.graph && health.graph.error;
  problem.replaceChildren(...(graphError ? [el('p', '', t('health.graph_error', { message: graphError }))] : []));
  problem.hidden = !graphError;
}
