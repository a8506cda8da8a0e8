// Notification settings: e-mail and its verification state, digest on/off, push on/off for
// this browser (server side and the browser's own subscription), language.

import { boot } from "../app.js";
import { $, ready, showError } from "../dom.js";
import { gettext } from "../i18n.js";
import { identity } from "../identity.js";
import { pushState, turnOffPush, turnOnPush } from "../notify.js";

const { me } = await boot();
const form = $("#settings-form");
let current = await identity.api("GET", "/api/me/settings/");

function show(settings) {
  current = settings;
  $("#email").value = settings.email;
  $("#email").disabled = Boolean(me && me.is_guest);
  $("#email-guest").hidden = !(me && me.is_guest);
  $("#email-state").textContent = !settings.email
    ? gettext("No address.")
    : settings.email_verified
      ? gettext("Confirmed.")
      : gettext("Not confirmed yet: follow the link we sent to this address.");
  $("#email-state").dataset.verified = String(settings.email_verified);
  $("#digest").checked = settings.notify_email === "digest";
  $("#language").value = settings.language || "";
}

async function showPush() {
  const state = await pushState();
  $("#push").checked = state === "on" && current.notify_push;
  $("#push").disabled = state === "unsupported" || state === "denied";
  $("#push-state").textContent =
    state === "unsupported"
      ? gettext("This browser cannot receive push notifications.")
      : state === "denied"
        ? gettext("Blocked in this browser's site settings.")
        : "";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#settings-error").textContent = "";
  $("#settings-saved").textContent = "";
  const change = {
    notify_email: $("#digest").checked ? "digest" : "off",
    notify_push: $("#push").checked,
    language: $("#language").value || null,
  };
  if (!(me && me.is_guest) && $("#email").value.trim() !== current.email) change.email = $("#email").value.trim();
  try {
    if ($("#push").checked && (await pushState()) !== "on") await turnOnPush();
    if (!$("#push").checked) await turnOffPush();
    show(await identity.api("PATCH", "/api/me/settings/", change));
    $("#settings-saved").textContent = gettext("Saved.");
  } catch (error) {
    showError($("#settings-error"), error);
  }
  showPush();
});

ready(form); // submitting is handled now; `show` then disables what must stay off
show(current);
showPush();
