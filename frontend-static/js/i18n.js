// i18n.js - picks and applies the page language: Spanish (the default), English, Basque,
// Catalan or Galician, with every string in lang/<code>.js. The choice is kept in
// localStorage; static markup names its strings with data-i18n / data-i18n-attr.

import es from './lang/es.js';
import en from './lang/en.js';
import eu from './lang/eu.js';
import ca from './lang/ca.js';
import gl from './lang/gl.js';

const STRINGS = { es, en, eu, ca, gl };

export const LANGUAGES = Object.freeze(['es', 'en', 'eu', 'ca', 'gl']);
/** The locale of each page language, for dates and numbers. */
export const LOCALES = Object.freeze({ es: 'es-ES', en: 'en-GB', eu: 'eu-ES', ca: 'ca-ES', gl: 'gl-ES' });
const STORAGE_KEY = 'bakery.lang';
let current = readStoredLang();

function readStoredLang() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    if (v && LANGUAGES.includes(v)) return v;
  } catch (_) {
    // storage disabled: Spanish
  }
  return 'es';
}

/** The current page language, one of LANGUAGES. */
export function getLang() {
  return current;
}

/** The string KEY in the current language with {name} placeholders filled from VARS. */
export function t(key, vars) {
  const table = STRINGS[current];
  let s = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : STRINGS.es[key];
  if (s === undefined) return key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, name) =>
      Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m);
  }
  return s;
}

/** Whether KEY has a string (in the current language or, failing that, in Spanish). */
export function hasText(key) {
  return Object.prototype.hasOwnProperty.call(STRINGS[current], key)
    || Object.prototype.hasOwnProperty.call(STRINGS.es, key);
}

/**
 * Fills the static markup under ROOT: data-i18n="key" sets the text, and
 * data-i18n-attr="attr:key;attr:key" sets attributes.
 */
export function applyTranslations(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((x) => x.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

const listeners = new Set();

/** Calls FN (no arguments) after every language change. */
export function onLangChange(fn) {
  listeners.add(fn);
}

/** Switches the page to LANG, remembers it and re-renders. */
export function setLang(lang) {
  if (!LANGUAGES.includes(lang) || lang === current) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch (_) {
    // not remembered; still switched for this page
  }
  applyTranslations();
  for (const fn of listeners) fn();
}
