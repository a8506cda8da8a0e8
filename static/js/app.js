// What every page shares: the identity in the header, the account menu, the one socket of
// this tab with its connection banner, and the live unread count on the Inbox link.

import { $, ready, showError } from "./dom.js";
import { formatNumber, gettext, interpolate, language, ngettext } from "./i18n.js";
import { BannedError, identity } from "./identity.js";
import { registerServiceWorker, setupHiddenNotifications, setupPushOffer, setupUnread, turnOffPush } from "./notify.js";
import { watchRooms } from "./rooms.js";
import { setupSearch } from "./search.js";
import { ChatSocket } from "./socket.js";

export async function boot() {
  setupMenu();
  setupTheme();
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
  showMe(me);
  setupAccountMenu(me);
  showFlash();
  setupSearch(); // (v1.1)
  const socket = new ChatSocket();
  setupBanner(socket);
  identity.addEventListener("banned", () => showBanned());
  const rooms = watchRooms(socket, me);
  setupInboxBadge(rooms);
  setupUnread(rooms);
  setupHiddenNotifications(socket, me, rooms);
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
    const percent = formatNumber(fraction, { style: "percent" });
    $("#banner-text").textContent = interpolate(gettext("Getting you a guest identity… %(percent)s"), { percent });
    $("#banner").dataset.state = "minting";
    banner.hidden = false;
  });
}

// Banned: say so, and leave every form disabled. No new identity is made behind the
// person's back.
export function showBanned(detail) {
  $("#banner-text").textContent = detail && detail !== gettext("This identity is banned.") ? detail : gettext("You are banned from this chat.");
  $("#banner").dataset.state = "banned";
  $("#banner-retry").hidden = true;
  $("#banner").hidden = false;
  document.body.dataset.banned = "true";
  for (const control of document.querySelectorAll("#main button, #main textarea, #main input")) control.disabled = true;
}

// The header: the person's name (and, once claimed, the account's username).
function showMe(me) {
  $("#me").textContent = me ? me.display_name : "…";
  const who = $("#account-who");
  const username = identity.username;
  if (me && !me.is_guest && username) {
    $("#me-account").textContent = username;
    $("#me-account").hidden = false;
    who.textContent = interpolate(gettext("Signed in as %(username)s (shown to others as %(name)s)."), { username, name: me.display_name });
  } else if (me && me.is_guest) {
    who.textContent = interpolate(gettext("You are a guest, %(name)s. This browser is the only key to that identity: claim it to keep it."), { name: me.display_name });
  } else if (me) {
    who.textContent = interpolate(gettext("Signed in as %(name)s."), { name: me.display_name });
  }
}

// A message that outlives the reload an identity change causes (claim, log in).
const FLASH = "chat.flash";

function showFlash() {
  const text = sessionStorage.getItem(FLASH);
  if (!text) return;
  sessionStorage.removeItem(FLASH);
  $("#flash-text").textContent = text;
  $("#flash").hidden = false;
  $("#flash-close").addEventListener("click", () => ($("#flash").hidden = true), { once: true });
}

// Phone widths: the page links and the search box fold into a "Menu" button (CSS shows the
// button only there); Escape or a link followed closes it.
function setupMenu() {
  const toggle = $("#menu-toggle");
  const menu = $("#top-menu");
  const set = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  };
  toggle.addEventListener("click", () => set(toggle.getAttribute("aria-expanded") !== "true"));
  document.addEventListener("click", (event) => {
    if (!menu.contains(event.target) && !toggle.contains(event.target)) set(false);
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
      set(false);
      toggle.focus();
    }
  });
}

// System, light or dark: remembered in this browser ("chat.theme", read before the first
// paint by theme.js).
function setupTheme() {
  const select = $("#theme");
  select.value = localStorage.getItem("chat.theme") || "";
  select.addEventListener("change", () => {
    if (select.value) {
      localStorage.setItem("chat.theme", select.value);
      document.documentElement.dataset.theme = select.value;
    } else {
      localStorage.removeItem("chat.theme");
      delete document.documentElement.dataset.theme;
    }
  });
}

// Leaving an unclaimed guest identity throws it away for good: say what is lost and ask,
// in a modal <dialog> (focus stays in it; Escape cancels). Resolves true to go ahead.
function confirmLeavingGuest(me, action) {
  const dialog = $("#guest-warning");
  $("#guest-warning-title").textContent =
    action === "logout" ? gettext("Log out and lose this guest identity?") : gettext("Log in and lose this guest identity?");
  $("#guest-warning-text").textContent = interpolate(
    gettext(
      "%(name)s is a guest identity that only this browser holds. Once you leave it, nobody can sign in as %(name)s again: its name, its conversations, its listings and its unread messages are lost to you. Claim it first (a username and a password) to keep it.",
    ),
    { name: me.display_name },
  );
  $("#guest-warning-proceed").textContent = action === "logout" ? gettext("Log out anyway") : gettext("Log in anyway");
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      () => {
        if (dialog.returnValue === "claim") {
          $("details.account").open = true;
          $("#claim-form [name=username]").focus();
        }
        resolve(dialog.returnValue === "proceed");
      },
      { once: true },
    );
    dialog.showModal();
  });
}

function setupAccountMenu(me) {
  const error = $("#account-error");
  const claim = $("#claim-form");
  const isGuest = Boolean(me && me.is_guest);
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
  onSubmit(claim, async (username, password) => {
    // Shown after the reload the identity change causes.
    sessionStorage.setItem(
      FLASH,
      interpolate(gettext("Claimed: you are %(username)s now. Log in with this username and password on any device; your name, rooms and messages stay yours."), {
        username: username.trim(),
      }),
    );
    try {
      await identity.claim(username, password);
    } catch (e) {
      sessionStorage.removeItem(FLASH);
      throw e;
    }
  });
  // Signing in as someone else or out: this browser's pushes stop first.
  onSubmit($("#login-form"), async (username, password) => {
    if (isGuest && !(await confirmLeavingGuest(me, "login"))) return;
    await turnOffPush().catch(() => {});
    sessionStorage.setItem(FLASH, interpolate(gettext("Logged in as %(username)s."), { username: username.trim() }));
    try {
      return await identity.login(username, password);
    } catch (e) {
      sessionStorage.removeItem(FLASH);
      throw e;
    }
  });
  ready(claim);
  ready($("#login-form"));
  $("#logout").addEventListener("click", async () => {
    if (isGuest && !(await confirmLeavingGuest(me, "logout"))) return;
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

function setupInboxBadge(rooms) {
  const badge = $("#inbox-badge");
  const menuBadge = $("#menu-badge"); // the same count on the phone's menu button
  rooms.listen((list) => {
    const total = list.filter((room) => room.kind === "direct").reduce((n, room) => n + room.unread, 0);
    for (const each of [badge, menuBadge]) {
      // The badge is the visible number; its sr-only neighbour says it in words.
      each.textContent = total.toLocaleString(language());
      each.hidden = total === 0;
      each.nextElementSibling.textContent = total ? interpolate(ngettext("%(count)s unread", "%(count)s unread", total), { count: total }) : "";
    }
  });
}
