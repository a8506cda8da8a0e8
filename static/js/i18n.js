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

// The page's language for Intl (dates, numbers): <html lang> as the server rendered it.
export function language() {
  return document.documentElement.lang || "en";
}
