// Building the page from data. User text only ever becomes text nodes (never HTML):
// `h` sets textContent for strings, and `linkified` makes links by creating <a> elements.

import { formatDate, formatRelative, gettext } from "./i18n.js";

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

// Brings a list of cards up to date with `fresh` (elements carrying `data-key`, in order).
// A card that has not changed stays the very same element, so a refresh of unchanged data
// touches nothing: no flicker, and a keyboard user's focus stays where it was. If the focused
// card itself changed, focus moves to its new version.
export function updateList(list, fresh) {
  const focusedKey = list.contains(document.activeElement) ? document.activeElement.closest("[data-key]")?.dataset.key : undefined;
  const current = new Map([...list.children].map((el) => [el.dataset.key, el]));
  const wanted = fresh.map((el) => {
    const kept = current.get(el.dataset.key);
    return kept?.isEqualNode(el) ? kept : el;
  });
  wanted.forEach((el, i) => {
    if (list.children[i] !== el) list.insertBefore(el, list.children[i] ?? null);
  });
  while (list.children.length > wanted.length) list.lastElementChild.remove();
  if (focusedKey !== undefined && !list.contains(document.activeElement)) {
    list.querySelector(`[data-key="${CSS.escape(focusedKey)}"] a`)?.focus();
  }
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

// Times in the page's language, through i18n.js's formatters (each made once: making one
// costs far more than using it, and a history page formats hundreds of times).
const CLOCK = { hour: "2-digit", minute: "2-digit" };

// A clock time today, else a short date and time.
export function timeOf(iso) {
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? formatDate(date, CLOCK) : formatDate(date, { dateStyle: "short", timeStyle: "short" });
}

export function fullTime(iso) {
  return formatDate(iso, { dateStyle: "full", timeStyle: "short" });
}

// The local day a time falls on, as a key ("2026-11-23"): messages are grouped by it.
export function dayKey(iso) {
  const date = new Date(iso);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

// A date separator's words: "Today", "Yesterday", else the date (with the year when not
// this year's).
export function dayLabel(iso, now = new Date()) {
  const date = new Date(iso);
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(date) === dayKey(now)) return gettext("Today");
  if (dayKey(date) === dayKey(yesterday)) return gettext("Yesterday");
  const options = { weekday: "long", month: "long", day: "numeric" };
  if (date.getFullYear() !== now.getFullYear()) options.year = "numeric";
  return formatDate(date, options);
}

// A message's time: "now", "2 min ago" within the hour, then its clock time (the day is
// in the separator above it). Redrawn each minute by the message list.
export function relativeTime(iso, now = Date.now()) {
  const minutes = Math.floor((now - new Date(iso).getTime()) / 60_000);
  const relative = { numeric: "auto", style: "short" };
  if (minutes <= 0 && minutes > -2) return formatRelative(0, "second", relative); // "now" (clocks differ a little)
  if (minutes > 0 && minutes < 60) return formatRelative(-minutes, "minute", relative);
  return formatDate(iso, CLOCK);
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
