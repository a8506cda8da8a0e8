// What every page shares: the identity in the header, the account menu, the one socket of
// this tab with its connection banner, and the live unread count on the Inbox link.

import { $, ready, showError } from "./dom.js";
import { gettext } from "./i18n.js";
import { BannedError, identity } from "./identity.js";
import { registerServiceWorker, setupHiddenNotifications, setupPushOffer, setupUnread, turnOffPush } from "./notify.js";
import { roomsOfKind } from "./rooms.js";
import { setupSearch } from "./search.js";
import { ChatSocket } from "./socket.js";

export async function boot() {
  showMinting();
  try {
    await identity.access(); // first visit: solves the puzzle and mints a guest
  } catch (error) {
    if (error instanceof BannedError) showBanned(error.detail);
    throw error;
  }
  let me;
  try {
    me = await identity.me();
  } catch {
    me = identity.user;
  }
  $("#me").textContent = me ? me.display_name : "…";
  setupAccountMenu(me);
  setupSearch(); // (v1.1)
  const socket = new ChatSocket();
  setupBanner(socket);
  identity.addEventListener("banned", () => showBanned());
  setupInboxBadge(socket);
  const unread = setupUnread(socket, me);
  setupHiddenNotifications(socket, me, unread);
  registerServiceWorker(); // registering asks nothing; permission waits for a click
  setupPushOffer($("#push-offer"));
  // Another tab logged in or out: this one follows.
  window.addEventListener("storage", (event) => {
    if (event.key === "chat.user" && event.oldValue && event.newValue) {
      const before = JSON.parse(event.oldValue);
      const after = JSON.parse(event.newValue);
      if (before.id !== after.id) location.reload();
    }
  });
  identity.addEventListener("changed", () => location.reload());
  await socket.start();
  return { me, socket };
}

// The first visit's puzzle: "Getting you a guest identity… 40%" while the worker solves it.
function showMinting() {
  const banner = $("#banner");
  identity.addEventListener("minting", ({ detail: { fraction } }) => {
    if (fraction === null) {
      banner.hidden = true;
      return;
    }
    $("#banner-text").textContent = `Getting you a guest identity… ${Math.round(fraction * 100)}%`;
    $("#banner").dataset.state = "minting";
    banner.hidden = false;
  });
}

// Banned: say so, and leave every form disabled. No new identity is made behind the
// person's back.
export function showBanned(detail) {
  $("#banner-text").textContent = detail && detail !== "This identity is banned." ? detail : "You are banned from this chat.";
  $("#banner").dataset.state = "banned";
  $("#banner-retry").hidden = true;
  $("#banner").hidden = false;
  document.body.dataset.banned = "true";
  for (const control of document.querySelectorAll("#main button, #main textarea, #main input")) control.disabled = true;
}

function setupAccountMenu(me) {
  const error = $("#account-error");
  const claim = $("#claim-form");
  if (me && !me.is_guest) claim.hidden = true;
  const onSubmit = (form, action) =>
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      try {
        await action(data.get("username"), data.get("password"));
      } catch (e) {
        showError(error, e);
      }
    });
  onSubmit(claim, (username, password) => identity.claim(username, password));
  // Signing in as someone else or out: this browser's pushes stop first.
  onSubmit($("#login-form"), async (username, password) => {
    await turnOffPush().catch(() => {});
    return identity.login(username, password);
  });
  ready(claim);
  ready($("#login-form"));
  $("#logout").addEventListener("click", async () => {
    await turnOffPush().catch(() => {});
    identity.logout();
  });
}

function setupBanner(socket) {
  const banner = $("#banner");
  const text = $("#banner-text");
  const retry = $("#banner-retry");
  retry.addEventListener("click", () => socket.reconnectNow());
  let shown = null;
  let down = false; // the banner said we were disconnected: say "back" when we are
  const hint = document.createElement("span"); // offline: what happens to what is written
  hint.className = "banner-hint";
  text.after(hint);
  socket.on("status", (status) => {
    clearTimeout(shown);
    if (status.fatal) {
      text.textContent = status.fatal;
      hint.textContent = "";
      retry.hidden = true;
      banner.hidden = false;
    } else if (status.reconnecting) {
      // Don't flash for a blip: show it if the socket stays down for a moment.
      shown = setTimeout(() => {
        const offline = navigator.onLine === false;
        text.textContent = gettext("Reconnecting…");
        hint.textContent = offline ? gettext("You are offline: messages wait until you are back.") : "";
        banner.dataset.state = offline ? "offline" : "reconnecting";
        retry.hidden = false;
        banner.hidden = false;
        down = true;
      }, 300);
    } else if (down && status.connected) {
      down = false;
      text.textContent = gettext("Back online.");
      hint.textContent = "";
      banner.dataset.state = "back";
      retry.hidden = true;
      banner.hidden = false;
      shown = setTimeout(() => (banner.hidden = true), 1200);
    } else {
      banner.hidden = true;
    }
  });
}

function setupInboxBadge(socket) {
  const badge = $("#inbox-badge");
  let direct = new Set(); // ids of my direct rooms, as of the last count
  let timer = null;
  const refresh = async () => {
    try {
      const rooms = await roomsOfKind("direct");
      direct = new Set(rooms.map((room) => room.id));
      const total = rooms.reduce((n, room) => n + room.unread, 0);
      badge.textContent = String(total);
      badge.hidden = total === 0;
      badge.setAttribute("aria-label", `${total} unread`);
    } catch {
      /* next event tries again */
    }
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  };
  for (const type of ["notify", "room", "read", "removed"]) socket.on(type, soon);
  socket.on("message", ({ message }) => direct.has(message.room) && soon());
  refresh();
}
