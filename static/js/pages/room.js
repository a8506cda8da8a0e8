// A room: history above (loaded page by page without the view jumping), live messages
// below, pending sends, edit/delete, presence, typing, and read receipts in direct rooms.

import { boot } from "../app.js";
import { $, fullTime, h, linkified, ready, showError, timeOf } from "../dom.js";
import { ApiError, identity } from "../identity.js";

const roomId = Number(document.querySelector("[data-room]").dataset.room);
const scroller = $("#scroller");
const list = $("#messages");
const pill = $("#new-pill");
const status = $("#history-status");
const composer = $("#composer");
const input = $("#body");
const composerError = $("#composer-error");

const BODY_MAX = 2000;
const NEAR_BOTTOM = 48;
const NEAR_TOP = 120;

const { me, socket } = await boot();
const shown = new Map(); // message id -> { data, el }
const pending = new Map(); // client_id -> el
let oldestSeq = Infinity;
let hasMore = false;
let loadingOlder = false;
let unseen = 0;
let peerRead = 0;
let readSent = 0;
let room;

// --- rendering -----------------------------------------------------------------------------

function isMine(message) {
  return me && message.author.id === me.id;
}

function messageEl(message, { pendingText = null } = {}) {
  const mine = pendingText !== null || isMine(message);
  const el = h("li", { class: `msg${mine ? " mine" : ""}` });
  if (pendingText !== null) {
    el.classList.add("pending");
    el.append(
      h("div", { class: "meta" }, h("span", { class: "author" }, me.display_name), h("span", { class: "state" }, "sending…")),
      h("div", { class: "body" }, linkified(pendingText)),
    );
    return el;
  }
  fill(el, message);
  return el;
}

function fill(el, message) {
  el.dataset.id = message.id;
  el.dataset.seq = message.seq;
  el.classList.remove("pending", "failed");
  el.classList.toggle("deleted", message.deleted);
  const meta = h(
    "div",
    { class: "meta" },
    h("span", { class: "author" }, message.author.display_name),
    h("time", { datetime: message.created_at, title: fullTime(message.created_at) }, timeOf(message.created_at)),
    message.edited_at && !message.deleted ? h("span", { class: "edited", title: fullTime(message.edited_at) }, "edited") : null,
  );
  const body = message.deleted
    ? h("div", { class: "body tombstone" }, "message deleted")
    : h("div", { class: "body" }, linkified(message.body));
  const actions = h("div", { class: "actions" });
  if (!message.deleted && isMine(message)) {
    actions.append(h("button", { type: "button", class: "link", onclick: () => startEdit(el, message) }, "Edit"));
  }
  if (!message.deleted && (isMine(message) || me?.is_staff)) {
    actions.append(h("button", { type: "button", class: "link", onclick: () => remove(message) }, "Delete"));
  }
  el.replaceChildren(meta, body, actions, h("div", { class: "seen", hidden: true }, "Seen"));
}

function nearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM;
}

function toBottom() {
  scroller.scrollTop = scroller.scrollHeight;
  unseen = 0;
  pill.hidden = true;
}

function insertBySeq(el, seq) {
  // Pending sends stay last; everything else keeps seq order (nearly always: append).
  const firstPending = list.querySelector(".msg.pending");
  let before = firstPending;
  let node = firstPending ? firstPending.previousElementSibling : list.lastElementChild;
  while (node && Number(node.dataset.seq) > seq) {
    before = node;
    node = node.previousElementSibling;
  }
  list.insertBefore(el, before);
}

// Apply a message (history, replay, live, ack): only a higher rev replaces what is held.
function apply(message, { fromHistory = false } = {}) {
  if (message.room !== roomId) return;
  const held = shown.get(message.id);
  if (held) {
    if (held.data.rev >= message.rev) return;
    held.data = message;
    fill(held.el, message);
    updateSeen();
    return;
  }
  if (!fromHistory && message.seq < oldestSeq && shown.size) return; // older than what is shown
  const wasAtBottom = nearBottom();
  let el = isMine(message) ? pending.get(message.client_id) : undefined;
  if (el) {
    pending.delete(message.client_id);
    el.remove();
    fill(el, message);
  } else {
    el = messageEl(message);
  }
  shown.set(message.id, { data: message, el });
  insertBySeq(el, message.seq);
  oldestSeq = Math.min(oldestSeq, message.seq);
  if (fromHistory) return;
  if (wasAtBottom || isMine(message)) {
    toBottom();
  } else {
    unseen += 1;
    pill.textContent = `${unseen} new message${unseen === 1 ? "" : "s"}`;
    pill.hidden = false;
  }
  markRead();
  updateSeen();
}

// --- history -------------------------------------------------------------------------------

async function loadLatest() {
  const page = await identity.api("GET", `/api/rooms/${roomId}/messages/?limit=50`);
  list.replaceChildren(...[...pending.values()]);
  shown.clear();
  oldestSeq = Infinity;
  for (const message of page.results) apply(message, { fromHistory: true });
  hasMore = page.has_more;
  status.textContent = hasMore ? "" : "This is the beginning of the conversation.";
  toBottom();
  return page.results.reduce((top, m) => Math.max(top, m.rev), 0);
}

async function loadOlder() {
  if (loadingOlder || !hasMore) return; // exactly one request in flight
  loadingOlder = true;
  status.textContent = "Loading earlier messages…";
  try {
    const page = await identity.api("GET", `/api/rooms/${roomId}/messages/?before=${oldestSeq}&limit=50`);
    const anchor = scroller.scrollHeight - scroller.scrollTop; // distance from the bottom
    for (const message of page.results) apply(message, { fromHistory: true });
    scroller.scrollTop = scroller.scrollHeight - anchor; // the reader's message stays put
    hasMore = page.has_more;
    status.textContent = hasMore ? "" : "This is the beginning of the conversation.";
  } catch (error) {
    status.textContent = `Could not load earlier messages: ${error.detail || error}`;
  } finally {
    loadingOlder = false;
  }
}

scroller.addEventListener("scroll", () => {
  if (scroller.scrollTop < NEAR_TOP) loadOlder();
  if (nearBottom()) {
    unseen = 0;
    pill.hidden = true;
    markRead();
  }
});
pill.addEventListener("click", () => {
  toBottom();
  markRead();
});

// --- sending, editing, deleting ------------------------------------------------------------

function send() {
  const body = input.value.trim();
  showError(composerError, null);
  if (!body) return;
  if (body.length > BODY_MAX) {
    showError(composerError, { detail: `A message has at most ${BODY_MAX} characters.` });
    return;
  }
  const clientId = crypto.randomUUID();
  const el = messageEl(null, { pendingText: body });
  el.dataset.clientId = clientId;
  pending.set(clientId, el);
  list.append(el);
  toBottom();
  input.value = "";
  input.style.height = "";
  socket.send(roomId, body, clientId);
}

function failed(clientId, error) {
  const el = pending.get(clientId);
  if (!el) return;
  if (error.code === "rate_limited" || error.code === "unavailable") {
    const wait = error.retry_after || 2;
    el.querySelector(".state").textContent = `waiting ${wait} s…`;
    setTimeout(() => socket.retry(clientId), wait * 1000);
    return;
  }
  el.classList.add("failed");
  el.querySelector(".state").textContent = `not sent: ${error.detail}`;
  const body = el.querySelector(".body").textContent;
  el.append(
    h("div", { class: "actions" },
      h("button", { type: "button", class: "link", onclick: () => { el.remove(); pending.delete(clientId); input.value = body; input.focus(); } }, "Edit and retry"),
      h("button", { type: "button", class: "link", onclick: () => { el.remove(); pending.delete(clientId); } }, "Discard"),
    ),
  );
}

composer.addEventListener("submit", (event) => {
  event.preventDefault();
  send();
});
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
let lastTyping = 0;
input.addEventListener("input", () => {
  input.style.height = "";
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
  if (Date.now() - lastTyping > 2000 && input.value.trim()) {
    lastTyping = Date.now();
    socket.raw({ type: "typing", room: roomId });
  }
});

function startEdit(el, message) {
  const area = h("textarea", { class: "edit", rows: 2, maxlength: BODY_MAX });
  area.value = message.body;
  const save = () => {
    const body = area.value.trim();
    if (body && body !== message.body) socket.request({ type: "edit", message: message.id, body });
    fill(el, shown.get(message.id).data);
  };
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      save();
    } else if (event.key === "Escape") {
      fill(el, shown.get(message.id).data);
    }
  });
  el.querySelector(".body").replaceWith(area);
  el.querySelector(".actions").replaceChildren(
    h("button", { type: "button", class: "link", onclick: save }, "Save"),
    h("button", { type: "button", class: "link", onclick: () => fill(el, shown.get(message.id).data) }, "Cancel"),
  );
  area.focus();
}

function remove(message) {
  if (confirm("Delete this message for everyone?")) socket.request({ type: "delete", message: message.id });
}

// --- presence, typing, reads ---------------------------------------------------------------

function showPresence({ online, users }) {
  $("#online").textContent = String(online);
  $("#members").replaceChildren(...users.map((user) => h("li", {}, user.display_name)));
}

const typists = new Map();
function showTyping() {
  const names = [...typists.keys()];
  $("#typing").textContent = names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
}

function markRead() {
  if (document.visibilityState !== "visible" || !nearBottom()) return;
  const latest = Math.max(0, ...[...shown.values()].map(({ data }) => data.seq));
  if (latest > readSent && socket.rooms.get(roomId)?.joined) {
    readSent = latest;
    socket.raw({ type: "read", room: roomId, seq: latest });
  }
}
document.addEventListener("visibilitychange", markRead);

function updateSeen() {
  if (!room || room.kind !== "direct") return;
  let last = null;
  for (const { data, el } of shown.values()) {
    el.querySelector(".seen")?.setAttribute("hidden", "");
    if (isMine(data) && data.seq <= peerRead && (!last || data.seq > last.data.seq)) last = { data, el };
  }
  last?.el.querySelector(".seen")?.removeAttribute("hidden");
}

// --- wiring --------------------------------------------------------------------------------

socket.addEventListener("message", ({ detail }) => apply(detail.message));
socket.addEventListener("ack", ({ detail }) => apply(detail.message));
socket.addEventListener("error", ({ detail }) => {
  if (detail.ref && pending.has(detail.ref)) failed(detail.ref, detail);
  else if (detail.code === "not_found" && !socket.rooms.get(roomId)?.joined) status.textContent = "This room does not exist.";
  else showError(composerError, detail);
});
socket.addEventListener("joined", ({ detail }) => {
  if (detail.room !== roomId) return;
  showPresence(detail);
  markRead();
});
socket.addEventListener("presence", ({ detail }) => detail.room === roomId && showPresence(detail));
socket.addEventListener("typing", ({ detail }) => {
  if (detail.room !== roomId || detail.user.id === me?.id) return;
  clearTimeout(typists.get(detail.user.display_name));
  typists.set(detail.user.display_name, setTimeout(() => {
    typists.delete(detail.user.display_name);
    showTyping();
  }, 3000));
  showTyping();
});
socket.addEventListener("read", ({ detail }) => {
  if (detail.room !== roomId || detail.user.id === me?.id) return;
  peerRead = Math.max(peerRead, detail.seq);
  updateSeen();
});
socket.addEventListener("reset", ({ detail }) => detail.room === roomId && loadLatest());
socket.addEventListener("removed", ({ detail }) => {
  if (detail.room !== roomId) return;
  socket.rooms.delete(roomId);
  composer.hidden = true;
  status.textContent = "This conversation was removed after a long silence.";
});

// The composer is usable from here (its handlers exist); sends made before the room has
// joined wait in the socket.
ready(composer);

try {
  room = await identity.api("GET", `/api/rooms/${roomId}/`);
} catch (error) {
  $("#room-title").textContent = error instanceof ApiError && error.status === 404 ? "Room not found" : "Could not open the room";
  composer.hidden = true;
  throw error;
}
document.title = `${room.peer ? room.peer.display_name : room.name} · Realtime Chat`;
$("#room-title").textContent = room.kind === "direct" ? (room.peer ? room.peer.display_name : "Conversation") : room.name;
$("#room-sub").textContent = room.kind === "direct" ? (room.listing ? `About: ${room.listing.title}` : "About a listing that was removed") : "Public room";
if (room.is_closed) {
  composer.hidden = true;
  status.textContent = "This room is closed.";
}
peerRead = room.peer_last_read_seq || 0;
const cursor = await loadLatest();
socket.join(roomId, cursor);
updateSeen();
input.focus();
