// The page's language. Django's JavaScriptCatalog (a classic script at /jsi18n/, loaded by
// base.html before the modules) defines `django.gettext` and friends; without it the
// English source strings are shown. Call these by their names (`gettext("Send")`), never
// through an alias: `makemessages -d djangojs` finds strings by these names.

const catalog = globalThis.django;

export function gettext(msgid) {
  return catalog ? catalog.gettext(msgid) : msgid;
}

export function ngettext(singular, plural, count) {
  if (catalog) return catalog.ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

// Named placeholders as Django writes them: interpolate("%(name)s is typing…", { name }).
export function interpolate(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key]));
}

// The page's language for Intl (dates, numbers): <html lang> as the server rendered it
// ("en" or "ko": chatsite/settings.py LANGUAGES; the switcher in templates/chat/_language.html).
export function language() {
  return document.documentElement.lang || "en";
}

// Shared Intl helpers in the page's language (formatters are cached per options):
//   formatNumber(1234)                      -> "1,234"
//   formatDate(date, { dateStyle: "long" }) -> "November 23, 2026" / "2026년 11월 23일"
//   formatRelative(-5, "minute")            -> "5 minutes ago" / "5분 전"
// dom.js builds its times (timeOf, fullTime, dayLabel, relativeTime) on these. Pass a Date or an ISO string.
const formatters = new Map();

function formatter(kind, options) {
  const key = `${kind}|${language()}|${JSON.stringify(options)}`;
  let made = formatters.get(key);
  if (!made) {
    made = new Intl[kind](language(), options);
    formatters.set(key, made);
  }
  return made;
}

export function formatNumber(value, options = {}) {
  return formatter("NumberFormat", options).format(value);
}

export function formatDate(value, options = { dateStyle: "medium" }) {
  return formatter("DateTimeFormat", options).format(value instanceof Date ? value : new Date(value));
}

export function formatRelative(value, unit, options = { numeric: "auto" }) {
  return formatter("RelativeTimeFormat", options).format(value, unit);
}
