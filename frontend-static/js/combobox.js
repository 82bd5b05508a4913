// combobox.js - a searchable picker (the WAI-ARIA 1.2 combobox with a listbox popup) for
// the admin page's numbers: typed digits find a number by any part of it ("5642"), typed
// letters by its verified name; Arrow keys move, Enter or a click chooses, Escape closes.
// The options are built only while the list is open, so sixty pickers of 120 numbers stay
// light, and they are asked for again on every opening (the lists refresh underneath).

import { el, fold } from './common.js';

let seq = 0;

/**
 * A picker. OPTIONS() returns the choices in the order to offer them, each {id, label
 * (what the box shows once chosen), search (text matched by letters), digits (matched by
 * digits)}; RENDER(option, li) fills an option's row; ANNOUNCE(text) tells screen readers
 * how many options the list shows; TEXTS() gives {empty, count(n)} in the page's
 * language; ON_CHANGE(id) follows a choice ('' when cleared); ON_SUBMIT() is Enter with
 * the list closed. Returns {root, input, value, setValue, refresh, close, isOpen}.
 */
export function createCombo({ options, render, announce, texts, onChange, onSubmit }) {
  const base = `combo-${++seq}`;
  const root = el('div', 'combo');
  const input = el('input', 'combo-input');
  input.type = 'text';
  input.id = `${base}-input`;
  input.autocomplete = 'off';
  input.spellcheck = false;
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  const listbox = el('ul', 'combo-list');
  listbox.id = `${base}-list`;
  listbox.setAttribute('role', 'listbox');
  listbox.hidden = true;
  input.setAttribute('aria-controls', listbox.id);
  const empty = el('p', 'combo-empty');
  empty.hidden = true;
  root.append(input, listbox, empty);

  let chosen = ''; // the chosen option's id (also the box's data-value, for tests and styles)
  let chosenLabel = '';
  const mark = () => {
    if (chosen) input.dataset.value = chosen;
    else delete input.dataset.value;
  };
  let shown = []; // the options in the open list
  let active = -1; // index in shown of the highlighted option
  let open = false;

  function matches(o, q) {
    if (!q || q === chosenLabel) return true;
    const f = fold(q);
    if (!/\p{L}/u.test(f)) {
      const d = q.replace(/\D/g, '');
      return !d || o.digits.includes(d);
    }
    return fold(o.search).includes(f.trim());
  }

  function paint() {
    const activeId = active >= 0 && shown[active] ? shown[active].id : '';
    listbox.replaceChildren(...shown.map((o, i) => {
      const li = el('li', 'combo-option');
      li.id = `${base}-opt-${i}`;
      li.setAttribute('role', 'option');
      li.dataset.value = o.id;
      li.setAttribute('aria-selected', String(o.id === activeId));
      render(o, li);
      return li;
    }));
    const li = active >= 0 ? listbox.children[active] : null;
    if (li) {
      input.setAttribute('aria-activedescendant', li.id);
      if (li.scrollIntoView) li.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  /** Recomputes the open list from OPTIONS() and the typed text, keeping the highlight. */
  function fill(keepId) {
    const q = input.value.trim();
    shown = options().filter((o) => matches(o, q));
    const at = keepId ? shown.findIndex((o) => o.id === keepId) : -1;
    active = at >= 0 ? at : (shown.length ? 0 : -1);
    const t = texts();
    listbox.hidden = shown.length === 0;
    empty.hidden = shown.length !== 0;
    empty.textContent = shown.length ? '' : t.empty;
    input.setAttribute('aria-expanded', String(shown.length !== 0));
    paint();
    announce(shown.length ? t.count(shown.length) : t.empty);
  }

  function openList() {
    open = true;
    root.classList.add('open');
    fill(chosen);
  }

  function close() {
    if (!open) return;
    open = false;
    root.classList.remove('open');
    listbox.hidden = true;
    empty.hidden = true;
    listbox.replaceChildren();
    shown = [];
    active = -1;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  }

  function choose(o) {
    chosen = o.id;
    chosenLabel = o.label;
    input.value = o.label;
    mark();
    close();
    onChange(chosen);
  }

  function move(delta) {
    if (!shown.length) return;
    active = (active + delta + shown.length) % shown.length;
    paint();
  }

  input.addEventListener('keydown', (ev) => {
    switch (ev.key) {
      case 'ArrowDown':
        ev.preventDefault();
        if (!open) openList();
        else move(1);
        break;
      case 'ArrowUp':
        ev.preventDefault();
        if (open) move(-1);
        break;
      case 'Enter':
        ev.preventDefault();
        if (open && active >= 0) choose(shown[active]);
        else {
          close();
          onSubmit();
        }
        break;
      case 'Escape':
        if (open) {
          ev.preventDefault();
          close();
        } else if (input.value) {
          ev.preventDefault();
          input.value = '';
          if (chosen) {
            chosen = '';
            chosenLabel = '';
            mark();
            onChange('');
          }
        }
        break;
      case 'Tab':
        close();
        break;
      default:
        break;
    }
  });
  input.addEventListener('input', () => {
    if (chosen && input.value !== chosenLabel) {
      chosen = '';
      chosenLabel = '';
      mark();
      onChange('');
    }
    open = true;
    root.classList.add('open');
    fill('');
  });
  input.addEventListener('click', () => {
    if (!open) openList();
  });
  root.addEventListener('focusout', (ev) => {
    if (!root.contains(ev.relatedTarget)) close();
  });
  // A click on an option must not take the focus from the box.
  listbox.addEventListener('mousedown', (ev) => ev.preventDefault());
  listbox.addEventListener('click', (ev) => {
    const li = ev.target.closest('li[role="option"]');
    const o = li ? shown.find((x) => x.id === li.dataset.value) : null;
    if (o) choose(o);
  });

  return {
    root,
    input,
    get value() {
      return chosen;
    },
    /** Chooses option ID (as given by OPTIONS()), or clears the choice with ''. */
    setValue(id) {
      const o = id ? options().find((x) => x.id === id) : null;
      chosen = o ? o.id : '';
      chosenLabel = o ? o.label : '';
      input.value = chosenLabel;
      mark();
    },
    /**
     * Follows a change of OPTIONS() (a refresh): an open list is rebuilt around its
     * highlight, a choice is relabelled. Returns false when the chosen option is gone
     * (the choice is then cleared), else true.
     */
    refresh() {
      let ok = true;
      if (chosen) {
        const o = options().find((x) => x.id === chosen);
        if (!o) {
          ok = false;
          const typed = input.value === chosenLabel;
          chosen = '';
          chosenLabel = '';
          mark();
          if (typed) input.value = '';
        } else if (o.label !== chosenLabel) {
          const typed = input.value === chosenLabel;
          chosenLabel = o.label;
          if (typed) input.value = o.label;
        }
      }
      if (open) fill(active >= 0 && shown[active] ? shown[active].id : chosen);
      return ok;
    },
    close,
    isOpen: () => open,
  };
}
