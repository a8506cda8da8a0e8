// A room: the message list (room/timeline.js), the composer (room/composer.js), presence,
// typing, and read receipts in direct rooms. The page only wires them to the socket.

import { boot } from "../app.js";
import { Code } from "../codes.js";
import { $, h, showError } from "../dom.js";
import { ApiError, identity } from "../identity.js";
import { Composer } from "../room/composer.js";
import { createRoomState } from "../room/state.js";
import { Timeline } from "../room/timeline.js";

const roomId = Number(document.querySelector("[data-room]").dataset.room);
const { me, socket } = await boot();
const state = createRoomState({ id: roomId, me });
const view = {
  me,
  onEdit: (el, message) => composer.startEdit(el, message),
  onDelete: (message) => composer.remove(message),
};
const timeline = new Timeline({
  state,
  view,
  els: { scroller: $("#scroller"), list: $("#messages"), pill: $("#new-pill"), status: $("#history-status") },
  onLive: () => {
    markRead();
    updateSeen();
  },
});
const composer = new Composer({
  state,
  socket,
  timeline,
  view,
  els: { form: $("#composer"), input: $("#body"), error: $("#composer-error"), notice: $("#send-notice") },
});
const typists = new Map(); // display name -> timer clearing it

// --- presence, typing, reads ---------------------------------------------------------------

function showPresence({ online, users }) {
  $(".presence").classList.remove("stale");
  $("#online").textContent = String(online);
  $("#members").replaceChildren(...users.map((user) => h("li", {}, user.display_name)));
}

// Disconnected: who is here is unknown until the room is joined again.
function presenceStale() {
  $(".presence").classList.add("stale");
  $("#online").textContent = "—";
  for (const timer of typists.values()) clearTimeout(timer);
  typists.clear();
  showTyping();
}

function showTyping() {
  const names = [...typists.keys()];
  $("#typing").textContent = names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
}

function markRead() {
  if (document.visibilityState !== "visible" || !timeline.nearBottom() || !socket.isJoined(roomId)) return;
  const latest = Math.max(0, ...[...state.shown.values()].map(({ data }) => data.seq));
  if (latest > state.readSent && socket.request({ type: "read", room: roomId, seq: latest })) state.readSent = latest;
}
document.addEventListener("visibilitychange", markRead);

function updateSeen() {
  if (state.room?.kind !== "direct") return;
  let last = null;
  for (const { data, el } of state.shown.values()) {
    el.querySelector(".seen")?.setAttribute("hidden", "");
    if (state.isMine(data) && data.seq <= state.peerRead && (!last || data.seq > last.data.seq)) last = { data, el };
  }
  last?.el.querySelector(".seen")?.removeAttribute("hidden");
}

// --- wiring --------------------------------------------------------------------------------

socket.on("message", ({ message }) => timeline.apply(message));
socket.on("ack", ({ message }) => timeline.apply(message));
socket.on("error", (error) => {
  if (error.ref && state.pending.has(error.ref)) return; // the socket resends it, or reports it failed
  if (error.code === Code.NOT_FOUND && !socket.isJoined(roomId)) $("#history-status").textContent = "This room does not exist.";
  else showError($("#composer-error"), error);
});
socket.on("status", (status) => !status.connected && presenceStale());
socket.on("joined", (joined) => {
  if (joined.room !== roomId) return;
  showPresence(joined);
  markRead();
});
socket.on("presence", (presence) => presence.room === roomId && showPresence(presence));
socket.on("typing", ({ room, user }) => {
  if (room !== roomId || user.id === me?.id) return;
  clearTimeout(typists.get(user.display_name));
  typists.set(
    user.display_name,
    setTimeout(() => {
      typists.delete(user.display_name);
      showTyping();
    }, 3000),
  );
  showTyping();
});
socket.on("read", ({ room, user, seq }) => {
  if (room !== roomId || user.id === me?.id) return;
  state.peerRead = Math.max(state.peerRead, seq);
  updateSeen();
});
socket.on("reset", ({ room }) => room === roomId && timeline.loadLatest());
socket.on("removed", ({ room }) => {
  if (room !== roomId) return;
  composer.hide();
  $("#history-status").textContent = "This conversation was removed after a long silence.";
});

let room;
try {
  room = await identity.api("GET", `/api/rooms/${roomId}/`);
} catch (error) {
  $("#room-title").textContent = error instanceof ApiError && error.status === 404 ? "Room not found" : "Could not open the room";
  composer.hide();
  throw error;
}
state.room = room;
document.title = `${room.peer ? room.peer.display_name : room.name} · Realtime Chat`;
$("#room-title").textContent = room.kind === "direct" ? (room.peer ? room.peer.display_name : "Conversation") : room.name;
$("#room-sub").textContent = room.kind === "direct" ? (room.listing ? `About: ${room.listing.title}` : "About a listing that was removed") : "Public room";
setupMute(room);

// Mute: no notify, push or e-mail from this room (its unread count stays).
function setupMute(current) {
  const button = $("#mute");
  let muted = Boolean(current.muted);
  const show = () => {
    button.textContent = muted ? "Unmute notifications" : "Mute notifications";
    button.setAttribute("aria-pressed", String(muted));
    button.hidden = false;
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await identity.api(muted ? "DELETE" : "PUT", `/api/rooms/${roomId}/mute/`);
      muted = !muted;
      document.dispatchEvent(new Event("chat:muted"));
    } catch (error) {
      showError($("#composer-error"), error);
    } finally {
      button.disabled = false;
      show();
    }
  });
  show();
}
if (room.is_closed) {
  composer.hide();
  $("#history-status").textContent = "This room is closed.";
}
state.peerRead = room.peer_last_read_seq || 0;
const cursor = await timeline.loadLatest();
socket.join(roomId, cursor);
updateSeen();
composer.focus();
