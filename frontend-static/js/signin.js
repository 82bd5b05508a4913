// signin.js - /app/sign-in: where a one-time sign-in link leads (#code=...), and where
// sign-out and an ended session send the pages (#reason=...). A code is taken out of the
// address bar at once, exchanged for the session cookie (POST /api/v1/auth/sessions) and
// the page for the signed-in role opens; otherwise the page says why in the visitor's
// language and asks for a new link. The code never reaches a server log (a fragment is
// not sent), and a link preview that does not run scripts cannot use it up.

import { t, setLang, getLang, applyTranslations, onLangChange, LANGUAGES } from './i18n.js';

const $ = (id) => document.getElementById(id);
let reason = '';

const REASONS = ['sign_in_link_used', 'sign_in_link_expired', 'sign_in_link_unknown', 'session_expired',
  'signed_out', 'token_expired', 'invalid_token', 'unauthorized'];

function show() {
  document.title = t('signin.doc_title');
  for (const b of document.querySelectorAll('[data-lang]')) b.setAttribute('aria-pressed', String(b.dataset.lang === getLang()));
  if (!reason) return;
  $('signing-in').hidden = true;
  $('signin-reason').textContent = t(`auth.${REASONS.includes(reason) ? reason : 'unauthorized'}`);
  $('signin').hidden = false;
}

async function useCode(code) {
  $('signing-in').hidden = false;
  let res = null;
  let body = null;
  try {
    res = await fetch('/api/v1/auth/sessions', {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    body = await res.json().catch(() => null);
  } catch (_) {
    body = null;
  }
  if (res && res.ok && body && typeof body.next === 'string' && body.next.startsWith('/app/')) {
    location.replace(body.next);
    return;
  }
  reason = body && typeof body.error === 'string' ? body.error : 'sign_in_link_unknown';
  show();
}

applyTranslations();
for (const b of document.querySelectorAll('[data-lang]')) {
  if (LANGUAGES.includes(b.dataset.lang)) b.addEventListener('click', () => setLang(b.dataset.lang));
}
onLangChange(show);
/** Acts on the fragment: a code to use, or the reason to say. */
function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has('code') && !params.has('reason') && reason) return; // our own clean-up
  history.replaceState(history.state, '', location.pathname);
  $('signin').hidden = true;
  reason = '';
  if (params.get('code')) {
    useCode(params.get('code'));
  } else {
    reason = params.get('reason') || 'unauthorized';
    show();
  }
}
// Another link opened on this very page changes only the fragment.
window.addEventListener('hashchange', route);
route();
