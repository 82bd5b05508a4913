// common.js - what both pages share: the bearer token (taken from the URL fragment or
// pasted, kept in sessionStorage), calls to tenant-service's REST API, the page shell
// (language switch, "change token", the sign-in panel) and the i18n functions.

import { t, hasText, getLang, setLang, applyTranslations, onLangChange, LANGUAGES, LOCALES } from './i18n.js';

export { t, getLang, onLangChange, LOCALES };

const TOKEN_KEY = 'bakery.token';
const REQUEST_TIMEOUT_MS = 20000;

// ---- token --------------------------------------------------------------------------

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch (_) {
    return memoryToken;
  }
}
let memoryToken = '';

function setToken(token) {
  memoryToken = token;
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch (_) {
    // sessionStorage disabled: the token lives as long as this page
  }
}

function clearToken() {
  memoryToken = '';
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch (_) {
    // nothing stored
  }
}

/**
 * Moves a token from the fragment (#token=...) into sessionStorage and removes the
 * fragment from the address bar and the history entry.
 */
function takeTokenFromFragment() {
  if (!location.hash || location.hash.length < 2) return false;
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token === null) return false;
  if (token.trim()) setToken(token.trim());
  history.replaceState(history.state, '', location.pathname + location.search);
  return Boolean(token.trim());
}

function base64UrlDecode(s) {
  let b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  while (b64.length % 4) b64 += '=';
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

/**
 * The claims of TOKEN (a JWT), decoded without verification: the server verifies.
 * Returns null when TOKEN is not a JWT.
 */
export function decodeToken(token) {
  const parts = String(token || '').split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const claims = JSON.parse(base64UrlDecode(parts[1]));
    return claims && typeof claims === 'object' && !Array.isArray(claims) ? claims : null;
  } catch (_) {
    return null;
  }
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
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
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
 * Shows the sign-in panel instead of the page. PROBLEM, when given, is the ApiError
 * (401/403) or message that brought us here; a 401 forgets the stored token.
 */
export function showSignIn(problem) {
  const panel = $('signin');
  const alert = $('signin-problem');
  showApp(false);
  panel.hidden = false;
  alert.replaceChildren();
  alert.hidden = true;
  if (problem) {
    const lines = [];
    if (problem instanceof ApiError) {
      if (problem.status === 401) {
        clearToken();
        const key = ['invalid_token', 'token_expired'].includes(problem.code)
          ? `auth.${problem.code}` : 'auth.unauthorized';
        lines.push(t(key));
      } else if (problem.status === 403) {
        lines.push(problem.adminOnly ? t('auth.forbidden_admin') : t('auth.forbidden'));
      } else {
        lines.push(problem.message);
      }
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
  const input = $('token-input');
  input.value = '';
  input.removeAttribute('aria-invalid');
  input.focus();
}

function updateSignoutVisibility() {
  const btn = $('signout');
  if (btn) btn.hidden = !getToken();
}

function onSignInSubmit(ev) {
  ev.preventDefault();
  const input = $('token-input');
  const err = $('token-error');
  const token = input.value.replace(/\s+/g, '').replace(/^Bearer/i, '');
  let message = '';
  if (!token) message = t('signin.empty');
  else if (!decodeToken(token)) message = t('signin.malformed');
  if (message) {
    err.textContent = message;
    err.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  err.hidden = true;
  err.textContent = '';
  input.removeAttribute('aria-invalid');
  setToken(token);
  $('signin').hidden = true;
  updateSignoutVisibility();
  run();
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

function syncLangSwitch() {
  for (const b of document.querySelectorAll('[data-lang]')) {
    b.setAttribute('aria-pressed', String(b.dataset.lang === getLang()));
  }
  if (docTitleKey) document.title = t(docTitleKey);
}

/**
 * Starts a page: applies the language, wires the shell, then calls START (which may
 * return a promise; an auth ApiError from it shows the sign-in panel). Without a token
 * the sign-in panel comes first. START is called again after a new token is pasted,
 * and must show #app (by calling pageReady) once it has something to show.
 */
export function startPage({ titleKey, start }) {
  startFn = start;
  docTitleKey = titleKey;
  takeTokenFromFragment();
  applyTranslations();
  syncLangSwitch();
  onLangChange(syncLangSwitch);
  for (const b of document.querySelectorAll('[data-lang]')) {
    if (LANGUAGES.includes(b.dataset.lang)) b.addEventListener('click', () => setLang(b.dataset.lang));
  }
  $('signin-form').addEventListener('submit', onSignInSubmit);
  const signout = $('signout');
  if (signout) {
    signout.addEventListener('click', () => {
      clearToken();
      showSignIn();
    });
  }
  // A link with another #token opened on this very page changes only the fragment.
  window.addEventListener('hashchange', () => {
    if (takeTokenFromFragment()) {
      $('signin').hidden = true;
      updateSignoutVisibility();
      run();
    }
  });
  updateSignoutVisibility();
  if (getToken()) run();
  else showSignIn();
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
