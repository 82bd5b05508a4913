// common.js - what the pages share: the session (an HttpOnly cookie the page never sees,
// opened by a sign-in link on /app/sign-in, or from a #token= link for developers and
// operators; only its CSRF token lives here, in memory), calls to tenant-service's REST
// API, the page shell (language switch, sign-out, the access panel) and the i18n
// functions. No token is kept in any storage a script can read.

import { t, hasText, getLang, setLang, applyTranslations, onLangChange, LANGUAGES, LOCALES } from './i18n.js';

export { t, getLang, onLangChange, LOCALES };

const REQUEST_TIMEOUT_MS = 20000;
export const SIGN_IN_PATH = '/app/sign-in';

// ---- session ------------------------------------------------------------------------

/** GET /api/v1/auth/session's answer: {sub, role, tenant_id, tenant_role, csrf_token}. */
let session = null;

/** Who is signed in (null before the page has asked). */
export function currentSession() {
  return session;
}

/**
 * Takes a token from the fragment (#token=...) out of the address bar and the history
 * entry; returns it ('' when there is none).
 */
function takeTokenFromFragment() {
  if (!location.hash || location.hash.length < 2) return '';
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token === null) return '';
  history.replaceState(history.state, '', location.pathname + location.search);
  return token.trim();
}

/**
 * Leaves for the sign-in page, which says why (REASON: an error code such as
 * session_expired, or signed_out) and asks for a new link.
 */
export function goSignIn(reason) {
  location.replace(`${SIGN_IN_PATH}#reason=${encodeURIComponent(reason || 'unauthorized')}`);
}

// ---- API ----------------------------------------------------------------------------

/**
 * A failed API call: HTTP status (0 when the server was not reached), error code, the
 * server's own sentence (serverMessage, English, '' when none) and the whole error body
 * (data: extra keys such as assigned_tenant_name, or null).
 */
export class ApiError extends Error {
  constructor(status, code, message, field, serverMessage, data) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field || null;
    this.serverMessage = serverMessage || '';
    this.data = data || null;
  }

  get isAuth() {
    return this.status === 401 || this.status === 403;
  }
}

/**
 * Calls tenant-service: METHOD PATH with BODY as JSON when given. Resolves with the
 * parsed JSON answer of a 2xx; rejects with an ApiError otherwise.
 */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && session && session.csrf_token) headers['X-CSRF-Token'] = session.csrf_token;
  const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (typeof AbortSignal !== 'undefined' && AbortSignal.timeout) {
    init.signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (_) {
    throw new ApiError(0, 'network_error', t('err.network'));
  }
  let data = null;
  try {
    const text = await res.text();
    data = text ? JSON.parse(text) : null;
  } catch (_) {
    data = null;
  }
  if (!res.ok) {
    const code = data && typeof data.error === 'string' ? data.error : `http_${res.status}`;
    const message = data && typeof data.message === 'string' && data.message
      ? data.message
      : t('err.generic', { status: res.status, message: res.statusText || code });
    const serverMessage = data && typeof data.message === 'string' ? data.message : '';
    throw new ApiError(res.status, code, message, data && data.field, serverMessage,
      data && typeof data === 'object' ? data : null);
  }
  return data;
}

/**
 * What to tell the user about E (an ApiError or anything thrown), in the page's language:
 * {text, detail}. The text comes from the error code (err.<code> in i18n.js, filled with
 * VARS and the error's field), else a sentence with the HTTP status; detail is the
 * server's own sentence ('' when none), shown apart and only as a detail.
 */
export function errorText(e, vars = {}) {
  if (!(e instanceof ApiError)) return { text: t('err.unexpected'), detail: String(e && e.message || e || '') };
  // The field at fault by its name on the page when it has one ("idioma de los mensajes").
  const field = e.field && hasText(`field.${e.field}`) ? t(`field.${e.field}`) : e.field || '';
  const all = { field, status: e.status, ...vars };
  const key = `err.${e.code}`;
  let text;
  if (e.code && hasText(key)) text = t(key, all);
  else if (e.status >= 500) text = t('err.server', all);
  else text = t('err.unknown', all);
  const detail = e.serverMessage && e.serverMessage !== text ? e.serverMessage : '';
  return { text, detail };
}

// ---- page shell ---------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

let startFn = null;
let docTitleKey = '';

function showApp(visible) {
  const app = $('app');
  if (app) app.hidden = !visible;
  const loading = $('loading');
  if (loading) loading.hidden = true;
}

/**
 * Shows the access panel instead of the page: PROBLEM (an ApiError or a message) says
 * why. A 401 (no session, or it ended) leaves for the sign-in page instead.
 */
export function showSignIn(problem) {
  if (problem instanceof ApiError && problem.status === 401) {
    goSignIn(problem.code);
    return;
  }
  const panel = $('signin');
  const alert = $('signin-problem');
  showApp(false);
  panel.hidden = false;
  alert.replaceChildren();
  alert.hidden = true;
  if (problem) {
    const lines = [];
    if (problem instanceof ApiError) {
      if (problem.status === 403) lines.push(problem.adminOnly ? t('auth.forbidden_admin') : t('auth.forbidden'));
      else lines.push(problem.message);
      if (problem.status && problem.message) {
        lines.push(t('auth.server_said', { message: `${problem.status} ${problem.code} · ${problem.message}` }));
      }
    } else {
      lines.push(String(problem));
    }
    for (const line of lines) {
      const p = document.createElement('p');
      p.textContent = line;
      alert.append(p);
    }
    alert.hidden = false;
  }
  updateSignoutVisibility();
  panel.focus();
}

function updateSignoutVisibility() {
  const btn = $('signout');
  if (btn) btn.hidden = !session;
}

function run() {
  const loading = $('loading');
  if (loading) loading.hidden = false;
  Promise.resolve()
    .then(() => startFn())
    .catch((e) => {
      if (e instanceof ApiError && e.isAuth) showSignIn(e);
      else throw e;
    });
}

/** Signs out everywhere (the server forgets the session) and leaves for the sign-in page. */
async function signOut() {
  try {
    await api('DELETE', '/api/v1/auth/session');
  } catch (_) {
    // ended already, or unreachable: the sign-in page says the same
  }
  session = null;
  goSignIn('signed_out');
}

/**
 * Opens the session: a #token= link's token is exchanged for the session cookie (and
 * forgotten), then the page asks who is signed in. Resolves true when someone is.
 */
async function openSession() {
  const token = takeTokenFromFragment();
  try {
    if (token) {
      const res = await fetch('/api/v1/auth/sessions', {
        method: 'POST', credentials: 'same-origin', cache: 'no-store',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: '{}',
      });
      if (!res.ok) {
        const body = await res.json().catch(() => null);
        goSignIn(body && typeof body.error === 'string' ? body.error : `http_${res.status}`);
        return false;
      }
    }
    session = await api('GET', '/api/v1/auth/session');
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      goSignIn(e.code);
      return false;
    }
    showSignIn(e instanceof ApiError ? e : t('err.network'));
    return false;
  }
}

/**
 * Sessions open one after the other: two links opened in quick succession each send
 * their own exchange, and the cookie is the one whose answer came last. In turn, the
 * link opened last is the one signed in.
 */
let sessionTurn = Promise.resolve();
function openSessionInTurn() {
  const opened = sessionTurn.then(openSession);
  sessionTurn = opened.catch(() => false);
  return opened;
}

function syncLangSwitch() {
  for (const b of document.querySelectorAll('[data-lang]')) {
    b.setAttribute('aria-pressed', String(b.dataset.lang === getLang()));
  }
  if (docTitleKey) document.title = t(docTitleKey);
}

/**
 * Starts a page: applies the language, wires the shell, opens the session, then calls
 * START (which may return a promise; an auth ApiError from it shows the access panel, or
 * the sign-in page for a 401). START must show #app (by calling pageReady) once it has
 * something to show.
 */
export function startPage({ titleKey, start }) {
  startFn = start;
  docTitleKey = titleKey;
  applyTranslations();
  syncLangSwitch();
  onLangChange(syncLangSwitch);
  for (const b of document.querySelectorAll('[data-lang]')) {
    if (LANGUAGES.includes(b.dataset.lang)) b.addEventListener('click', () => setLang(b.dataset.lang));
  }
  const signout = $('signout');
  if (signout) signout.addEventListener('click', signOut);
  // A link with another #token opened on this very page changes only the fragment.
  window.addEventListener('hashchange', () => {
    if (new URLSearchParams(location.hash.slice(1)).has('token')) {
      openSessionInTurn().then((ok) => {
        if (!ok) return;
        $('signin').hidden = true;
        updateSignoutVisibility();
        run();
      });
    }
  });
  openSessionInTurn().then((ok) => {
    updateSignoutVisibility();
    if (ok) run();
  });
}

/** Shows the page's content (#app) and hides the loading line and the sign-in panel. */
export function pageReady() {
  $('signin').hidden = true;
  showApp(true);
  updateSignoutVisibility();
}

/** Lower-case, accent-free form of S for filtering ("Panadería" matches "panaderia"). */
export function fold(s) {
  return String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

/** document.createElement with CLASS and TEXT. */
export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}
