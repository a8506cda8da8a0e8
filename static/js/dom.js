// Building the page from data. User text only ever becomes text nodes (never HTML):
// `h` sets textContent for strings, and `linkified` makes links by creating <a> elements.

import { language } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

export function linkified(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    frag.append(document.createTextNode(text.slice(last, match.index)));
    frag.append(h("a", { href: match[0], target: "_blank", rel: "noopener noreferrer nofollow" }, match[0]));
    last = match.index + match[0].length;
  }
  frag.append(document.createTextNode(text.slice(last)));
  return frag;
}

// Times in the page's language (i18n.js `language()`), through Intl.
export function timeOf(iso) {
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString(language(), { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleString(language(), { dateStyle: "short", timeStyle: "short" });
}

export function fullTime(iso) {
  return new Date(iso).toLocaleString(language());
}

export function showError(el, error) {
  el.textContent = error ? error.detail || String(error) : "";
}

export const $ = (selector) => document.querySelector(selector);

// Forms render with their controls disabled (a submit before the page's handler exists would
// reload the page and lose the input); a page enables each form once it handles it.
export function ready(form) {
  for (const control of form.querySelectorAll("button, textarea, input")) control.disabled = false;
}
