// @ts-check
/** The parts every page shares: the token field in the header and the status line. */
import { readToken, writeToken } from './api.js';

/** Wires the header's token form: shows whether a token is set, saves or clears it for this tab. */
export function initTokenForm(doc = document) {
  const form = /** @type {HTMLFormElement | null} */ (doc.getElementById('token-form'));
  const input = /** @type {HTMLInputElement | null} */ (doc.getElementById('token'));
  const note = doc.getElementById('token-state');
  if (!form || !input || !note) return;
  const show = () => {
    note.textContent = readToken(sessionStorage) ? 'token set' : 'no token';
  };
  show();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    writeToken(sessionStorage, input.value.trim());
    input.value = '';
    show();
    doc.dispatchEvent(new CustomEvent('token-changed'));
  });
}

/** @param {HTMLElement} el @param {string} text @param {boolean} [isError] */
export function setStatus(el, text, isError = false) {
  el.textContent = text;
  el.classList.toggle('error', isError);
}
