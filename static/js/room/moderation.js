// Safety on the room page: report a message, block its author (their messages collapse in
// public rooms), and for staff mute or kick from the message menu. All through the HTTP
// API; what it changes comes back live (a deleted message, a `room` frame, a refusal).

import { h } from "../dom.js";
import { identity } from "../identity.js";
import { fillMessage } from "./render.js";

export const REASONS = [
  ["spam", "Spam"],
  ["harassment", "Harassment"],
  ["scam", "Scam"],
  ["inappropriate", "Inappropriate"],
  ["other", "Other"],
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
      notice(`Could not do that: ${error.detail || error}`);
      return false;
    }
  };
  return {
    onReport(el, message) {
      const select = h("select", { "aria-label": "Reason" }, ...REASONS.map(([value, label]) => h("option", { value }, label)));
      const note = h("input", { type: "text", maxlength: 500, placeholder: "Note (optional)", "aria-label": "Note" });
      const form = h(
        "form",
        { class: "report-form" },
        select,
        note,
        h("button", { type: "submit" }, "Send report"),
        h("button", { type: "button", class: "link", onclick: () => fillMessage(el, state.shown.get(message.id).data, view) }, "Cancel"),
      );
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        await act("POST", "/api/reports/", { message: message.id, reason: select.value, note: note.value }, "Thanks — staff will look at it.");
        fillMessage(el, state.shown.get(message.id).data, view);
      });
      el.querySelector(".actions").replaceChildren(form);
      select.focus();
    },
    async onBlock(user) {
      if (!confirm(`Block ${user.display_name}? You will not see their messages or hear from them.`)) return;
      if (!(await act("POST", "/api/blocks/", { user: user.id }, `You blocked ${user.display_name}.`))) return;
      view.blocked.add(user.id);
      redraw();
    },
    onMute(message, seconds) {
      const minutes = Math.round(seconds / 60);
      act("POST", `/api/rooms/${roomId}/mutes/`, { user: message.author.id, seconds }, `Muted ${message.author.display_name} here for ${minutes >= 60 ? `${minutes / 60} h` : `${minutes} min`}.`);
    },
    onKick(message) {
      act("POST", `/api/rooms/${roomId}/kick/`, { user: message.author.id }, `Removed ${message.author.display_name} from the room (muted 10 minutes).`);
    },
  };
}

export function formatWait(seconds) {
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  return `${Math.round(minutes / 60)} h`;
}
