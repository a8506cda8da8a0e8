// A room: the message list (room/timeline.js), the composer (room/composer.js), presence,
// typing, and read receipts in direct rooms. The page only wires them to the socket.

import { boot } from "../app.js";
import { Code } from "../codes.js";
import { $, h, showError } from "../dom.js";
import { gettext, interpolate, language } from "../i18n.js";
import { fillMessage } from "../room/render.js";
import { ApiError, identity } from "../identity.js";
import { openLightbox, thumbnail } from "../media.js";
import { Composer } from "../room/composer.js";
import { formatWait, loadBlocked, moderationView } from "../room/moderation.js";
import { createRoomState } from "../room/state.js";
import { Timeline } from "../room/timeline.js";

const section = document.querySelector("[data-room]");
const roomId = Number(section.dataset.room);
// (v1.1) /rooms/{id}/?message={id}: open at that message (its seq is rendered in by the server)
const openAt = section.dataset.openSeq ? { id: Number(section.dataset.openMessage), seq: Number(section.dataset.openSeq) } : null;
const { me, socket } = await boot();
const state = createRoomState({ id: roomId, me });
const view = {
  me,
  onEdit: (el, message) => composer.startEdit(el, message),
  onDelete: (message) => composer.remove(message),
  onReply: (message) => composer.replyTo(message),
  onJump: (reply) => timeline.jumpTo(reply),
  onReact: (message, emoji, on) => composer.react(message, emoji, on),
  onOpen: (attachment, opener) => openLightbox(attachment, opener),
  onStale: (message) => timeline.refresh(message).catch(() => {}),
  onNotice: (text) => ($("#mod-notice").textContent = text),
};
const timeline = new Timeline({
  state,
  view,
  els: { scroller: $("#scroller"), list: $("#messages"), pill: $("#new-pill"), status: $("#history-status"), announcer: $("#announcer") },
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
  els: {
    form: $("#composer"),
    input: $("#body"),
    error: $("#composer-error"),
    notice: $("#send-notice"),
    replyBar: $("#reply-bar"),
    mentionList: $("#mention-list"),
    attach: $("#attach"),
    files: $("#attach-input"),
    tray: $("#tray"),
    dropZone: $(".room"),
    lock: $("#composer-lock"),
    counter: $("#body-counter"),
  },
});
view.blocked = new Set();
Object.assign(
  view,
  moderationView({
    state,
    view,
    roomId,
    redraw: () => {
      for (const { data, el } of state.shown.values()) fillMessage(el, data, view);
    },
    notice: (text) => ($("#mod-notice").textContent = text),
  }),
);
const typists = new Map(); // display name -> timer clearing it
// Live: joined, past the replay (replayed messages are shown, never announced).
let live = false;

// --- presence, typing, reads ---------------------------------------------------------------

function showPresence({ online, users }) {
  $(".presence").classList.remove("stale");
  $("#online").textContent = String(online);
  state.present = users;
  $("#members").replaceChildren(...users.map((user) => h("li", {}, user.display_name)));
}

// Disconnected: who is here is unknown until the room is joined again.
function presenceStale() {
  live = false;
  $(".presence").classList.add("stale");
  $("#online").textContent = "—";
  for (const timer of typists.values()) clearTimeout(timer);
  typists.clear();
  showTyping();
}

function showTyping() {
  const names = [...typists.keys()];
  const list = new Intl.ListFormat(language(), { type: "conjunction" }).format(names);
  $("#typing").textContent =
    names.length === 0 ? "" : names.length === 1 ? interpolate(gettext("%(name)s is typing…"), { name: names[0] }) : interpolate(gettext("%(names)s are typing…"), { names: list });
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

socket.on("message", ({ message }) => {
  // A message from someone typing ends their "is typing…" (a new one, not an edit).
  const typing = typists.get(message.author.display_name);
  if (typing !== undefined && message.room === roomId && !state.shown.has(message.id)) {
    clearTimeout(typing);
    typists.delete(message.author.display_name);
    showTyping();
  }
  timeline.apply(message, { announce: live && !state.shown.has(message.id) });
});
socket.on("ack", ({ message }) => timeline.apply(message));
socket.on("error", (error) => {
  if (error.ref && state.pending.has(error.ref)) return; // the socket resends it, or reports it failed
  if (error.code === Code.NOT_FOUND && !socket.isJoined(roomId)) $("#history-status").textContent = gettext("This room does not exist.");
  else showError($("#composer-error"), error);
});
socket.on("status", (status) => {
  if (!status.connected) presenceStale();
  if (status.fatal) {
    composer.lock(status.fatal, { kind: "fatal" });
    composer.failPending(status.fatal);
  }
});
// The room changed (slow mode, closed, blocked): only the fields shared by every reader.
socket.on("room", ({ room: changed }) => {
  if (changed.id !== roomId || !state.room) return;
  for (const key of ["slow_mode", "is_closed", "blocked"]) if (key in changed) state.room[key] = changed[key];
  showRoomState();
});
socket.on("left", ({ room, reason }) => {
  if (room !== roomId || reason !== "kicked") return;
  composer.lock(gettext("Staff removed you from this room and muted you"), { until: Date.now() + 600_000, kind: "muted" });
  // Still readable (a public room is, over HTTP too); the mute keeps them quiet.
  socket.join(roomId, Math.max(0, ...[...state.shown.values()].map(({ data }) => data.rev)));
});
socket.on("joined", (joined) => {
  if (joined.room !== roomId) return;
  live = true;
  showPresence(joined);
  markRead();
});
socket.on("presence", (presence) => presence.room === roomId && showPresence(presence));
socket.on("typing", ({ room, user }) => {
  if (room !== roomId || user.id === me?.id) return;
  if (view.collapseBlocked && view.blocked.has(user.id)) return; // nothing from blocked users
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
  $("#history-status").textContent = gettext("This conversation was removed after a long silence.");
});

let room;
try {
  room = await identity.api("GET", `/api/rooms/${roomId}/`);
} catch (error) {
  $("#room-title").textContent = error instanceof ApiError && error.status === 404 ? gettext("Room not found") : gettext("Could not open the room");
  $("#room-missing").hidden = false; // a way back (a room that does not exist is a 404 page; this is one not mine to see)
  composer.hide();
  throw error;
}
state.room = room;
document.title = `${room.peer ? room.peer.display_name : room.name} · Realtime Chat`;
$("#room-title").textContent = room.kind === "direct" ? (room.peer ? room.peer.display_name : gettext("Conversation")) : room.name;
if (room.kind === "direct" && room.listing) showListingCard(room.listing, room.peer);
setupMute(room);

// A direct room's header: the listing it is about (photo, title, status) and the peer.
function showListingCard(listing, peer) {
  const card = $("#listing-card");
  card.href = `/listings/${listing.id}/`;
  card.replaceChildren(
    listing.photo ? thumbnail(listing.photo, { box: 56 }) : h("span", { class: "no-photo", "aria-hidden": "true" }),
    h(
      "span",
      { class: "listing-text" },
      h("span", { class: "card-title" }, listing.title),
      h("span", { class: `status ${listing.status}` }, listing.status === "lent" ? gettext("Lent") : gettext("Available")),
      h("span", { class: "muted" }, peer ? interpolate(gettext("with %(name)s"), { name: peer.display_name }) : ""),
    ),
  );
  card.hidden = false;
}

// Mute: no notify, push or e-mail from this room (its unread count stays).
function setupMute(current) {
  const button = $("#mute");
  let muted = Boolean(current.muted);
  const show = () => {
    button.textContent = muted ? gettext("Unmute notifications") : gettext("Mute notifications");
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

// Staff set the room's slow mode here (as in the admin); everyone sees it in the header.
function setupSlowMode() {
  if (!me?.is_staff || room.kind !== "public") return;
  const select = $("#slow-mode");
  select.addEventListener("change", async () => {
    select.disabled = true;
    try {
      const changed = await identity.api("PUT", `/api/rooms/${roomId}/slow_mode/`, { seconds: Number(select.value) });
      state.room.slow_mode = changed.slow_mode;
      showRoomState();
    } catch (error) {
      $("#mod-notice").textContent = interpolate(gettext("Could not change slow mode: %(reason)s"), { reason: error.detail || error });
    } finally {
      select.disabled = false;
    }
  });
  $("#slow-mode-control").hidden = false;
}

function showRoomState() {
  const current = state.room;
  const about =
    current.kind === "direct"
      ? current.listing
        ? interpolate(gettext("About: %(title)s"), { title: current.listing.title })
        : gettext("About a listing that was removed")
      : gettext("Public room");
  $("#room-sub").textContent = current.slow_mode
    ? interpolate(gettext("%(about)s · slow mode: one message every %(wait)s"), { about, wait: formatWait(current.slow_mode) })
    : about;
  if (current.is_closed) {
    composer.hide();
    $("#history-status").textContent = gettext("This room is closed.");
  }
  if (current.blocked) composer.lock(gettext("You and this person have blocked one another; messages cannot be sent."), { kind: "blocked" });
  else composer.unlock("blocked");
  const select = $("#slow-mode");
  if (![...select.options].some((option) => Number(option.value) === current.slow_mode)) {
    select.append(h("option", { value: String(current.slow_mode) }, formatWait(current.slow_mode)));
  }
  select.value = String(current.slow_mode);
}
view.blocked = await loadBlocked();
view.collapseBlocked = room.kind === "public";
showRoomState();
setupSlowMode();
state.peerRead = room.peer_last_read_seq || 0;
if (socket.status.fatal) composer.lock(socket.status.fatal, { kind: "fatal" }); // before we listened
let cursor;
if (openAt) {
  // Changes after the room was read are replayed from its counter; the list itself pages
  // from the message both ways.
  cursor = room.last_seq;
  await timeline.openAt(openAt.seq, openAt.id);
} else {
  cursor = await timeline.loadLatest();
  await timeline.markUnread(room.unread); // opens at the first unread message
}
socket.join(roomId, cursor);
updateSeen();
composer.focus();
