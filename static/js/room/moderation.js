// Safety on the room page: report a message, block its author (their messages collapse in
// public rooms), and for staff mute or kick from the message menu. All through the HTTP
// API; what it changes comes back live (a deleted message, a `room` frame, a refusal).

import { h } from "../dom.js";
import { gettext, interpolate } from "../i18n.js";
import { identity } from "../identity.js";
import { fillMessage } from "./render.js";

export const REASONS = [
  ["spam", gettext("Spam")],
  ["harassment", gettext("Harassment")],
  ["scam", gettext("Scam")],
  ["inappropriate", gettext("Inappropriate")],
  ["other", gettext("Other")],
];

export async function loadBlocked() {
  try {
    return new Set((await identity.api("GET", "/api/blocks/")).map((user) => user.id));
  } catch {
    return new Set();
  }
}

// Hooks for render.js's `view`: `redraw()` redraws every shown message, `notice(text)` says
// what happened.
export function moderationView({ state, view, roomId, redraw, notice }) {
  // True once the server did it; a refusal is said, and changes nothing here.
  const act = async (method, path, body, done) => {
    try {
      await identity.api(method, path, body);
      notice(done);
      return true;
    } catch (error) {
      notice(interpolate(gettext("Could not do that: %(reason)s"), { reason: error.detail || error }));
      return false;
    }
  };
  return {
    onReport(el, message) {
      const select = h("select", { "aria-label": gettext("Reason") }, ...REASONS.map(([value, label]) => h("option", { value }, label)));
      const note = h("input", { type: "text", maxlength: 500, placeholder: gettext("Note (optional)"), "aria-label": gettext("Note") });
      const form = h(
        "form",
        { class: "report-form" },
        select,
        note,
        h("button", { type: "submit" }, gettext("Send report")),
        h("button", { type: "button", class: "link", onclick: () => fillMessage(el, state.shown.get(message.id).data, view) }, gettext("Cancel")),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        await act("POST", "/api/reports/", { message: message.id, reason: select.value, note: note.value }, gettext("Thanks — staff will look at it."));
        fillMessage(el, state.shown.get(message.id).data, view);
      });
      el.querySelector(".actions").replaceChildren(form);
      select.focus();
    },
    async onBlock(user) {
      if (!confirm(interpolate(gettext("Block %(name)s? You will not see their messages or hear from them."), { name: user.display_name }))) return;
      if (!(await act("POST", "/api/blocks/", { user: user.id }, interpolate(gettext("You blocked %(name)s."), { name: user.display_name })))) return;
      view.blocked.add(user.id);
      redraw();
    },
    onMute(message, seconds) {
      const minutes = Math.round(seconds / 60);
      const wait = minutes >= 60 ? interpolate(gettext("%(hours)s h"), { hours: minutes / 60 }) : interpolate(gettext("%(minutes)s min"), { minutes });
      act("POST", `/api/rooms/${roomId}/mutes/`, { user: message.author.id, seconds }, interpolate(gettext("Muted %(name)s here for %(wait)s."), { name: message.author.display_name, wait }));
    },
    onKick(message) {
      act("POST", `/api/rooms/${roomId}/kick/`, { user: message.author.id }, interpolate(gettext("Removed %(name)s from the room (muted 10 minutes)."), { name: message.author.display_name }));
    },
  };
}

export function formatWait(seconds) {
  if (seconds < 90) return interpolate(gettext("%(seconds)s s"), { seconds });
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 90) return interpolate(gettext("%(minutes)s min"), { minutes });
  return interpolate(gettext("%(hours)s h"), { hours: Math.round(minutes / 60) });
}
