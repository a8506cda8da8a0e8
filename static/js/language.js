// The language switcher (templates/chat/_language.html): its POST to Django's set_language
// sets the language cookie and reloads the page in that language. Before it goes, the choice
// is saved as this browser's user's settings `language` (PROTOCOL.md, /api/me/settings/), the
// preference the server applies to a signed-in user's requests (chatsite/i18n.py) — else
// their next API answer would set the cookie back. No identity yet: the cookie is enough.

import { identity } from "./identity.js";

const form = document.getElementById("language-form");

if (form) {
  form.addEventListener("submit", async (event) => {
    const choice = event.submitter?.value;
    if (!choice || !localStorage.getItem("chat.refresh")) return; // the plain POST does it all
    event.preventDefault();
    for (const button of form.querySelectorAll("button")) button.disabled = true;
    try {
      await identity.api("PATCH", "/api/me/settings/", { language: choice });
    } catch {
      // Offline or refused: the cookie still switches this browser.
    }
    const field = document.createElement("input");
    field.type = "hidden";
    field.name = "language";
    field.value = choice;
    form.append(field);
    form.submit();
  });
}
