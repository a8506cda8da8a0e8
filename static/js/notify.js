// Reaching the user: the unread count in the tab title and on the favicon (live, across
// rooms), browser notifications while the tab is hidden, and Web Push ("Turn on
// notifications" — permission is only ever asked after that click, never on load).

import { gettext } from "./i18n.js";
import { identity } from "./identity.js";

const BASE_TITLE = document.title;

// --- unread count: title and favicon -------------------------------------------------------

export function showUnread(total) {
  document.title = total > 0 ? `(${total > 99 ? "99+" : total}) ${BASE_TITLE}` : BASE_TITLE;
  document.body.dataset.unread = String(total);
  let link = document.querySelector("link[rel=icon]");
  if (!link) {
    link = document.createElement("link");
    link.rel = "icon";
    document.head.append(link);
  }
  link.href = favicon(total);
}

function favicon(total) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 32;
  const g = canvas.getContext("2d");
  g.fillStyle = "#3b6ea5";
  g.beginPath();
  g.roundRect ? g.roundRect(2, 4, 24, 20, 5) : g.rect(2, 4, 24, 20);
  g.fill();
  if (total > 0) {
    g.fillStyle = "#d33";
    g.beginPath();
    g.arc(22, 10, 10, 0, 2 * Math.PI);
    g.fill();
    g.fillStyle = "#fff";
    g.font = "bold 13px sans-serif";
    g.textAlign = "center";
    g.textBaseline = "middle";
    g.fillText(total > 9 ? "9+" : String(total), 22, 11);
  }
  return canvas.toDataURL("image/png");
}

export function setupUnread(rooms) {
  // A muted room keeps its unread count on its card, but does not nag in the title.
  rooms.listen((list) => showUnread(list.filter((room) => !room.muted).reduce((n, room) => n + room.unread, 0)));
}

// --- browser notifications while hidden -----------------------------------------------------

export function setupHiddenNotifications(socket, me, rooms) {
  const show = (message) => {
    if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
    if (!message || message.author.id === (me && me.id)) return;
    const room = rooms.room(message.room);
    if (room && room.muted) return;
    // Same tag as a push of this room: the browser replaces one with the other.
    const note = new Notification(message.author.display_name, { body: message.body.slice(0, 120), tag: `room-${message.room}` });
    note.onclick = () => {
      window.focus();
      location.href = `/rooms/${message.room}/?message=${message.id}`;
    };
  };
  socket.on("notify", ({ message }) => show(message));
  socket.on("message", ({ message }) => message.rev === message.seq && show(message));
}

// --- Web Push -------------------------------------------------------------------------------

function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

export async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return null;
  try {
    return await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  } catch {
    return null;
  }
}

function keyBytes(base64url) {
  const raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function b64url(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// Asks permission (the caller is a click), subscribes, and hands the subscription to the
// server. Throws with a message for the page to show.
export async function turnOnPush() {
  if (!pushSupported()) throw new Error(gettext("This browser cannot show notifications."));
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error(gettext("Notifications are blocked for this site."));
  const registration = (await registerServiceWorker()) && (await navigator.serviceWorker.ready);
  if (!registration) throw new Error(gettext("Could not start the notification worker."));
  const { public_key } = await identity.api("GET", "/api/push/key/");
  document.body.dataset.push = "subscribing";
  const subscription =
    (await registration.pushManager.getSubscription()) ||
    (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(public_key) }));
  await identity.api("POST", "/api/push/subscriptions/", {
    endpoint: subscription.endpoint,
    keys: { p256dh: b64url(subscription.getKey("p256dh")), auth: b64url(subscription.getKey("auth")) },
  });
  document.body.dataset.push = "on";
}

// Before signing out (or in as someone else): this browser stops receiving pushes.
export async function turnOffPush() {
  if (!("serviceWorker" in navigator)) return;
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = registration && (await registration.pushManager.getSubscription());
  if (!subscription) return;
  try {
    await identity.api("DELETE", "/api/push/subscriptions/", { endpoint: subscription.endpoint });
  } catch {
    /* the server drops it at the first push anyway (410) once unsubscribed below */
  }
  await subscription.unsubscribe();
}

export async function pushState() {
  if (!pushSupported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = registration && (await registration.pushManager.getSubscription());
  return subscription && Notification.permission === "granted" ? "on" : "off";
}

export function setupPushOffer(button) {
  const update = async () => {
    const state = await pushState();
    button.hidden = state === "on" || state === "unsupported";
    button.disabled = state === "denied";
    button.title = state === "denied" ? gettext("Notifications are blocked in this browser's site settings") : "";
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await turnOnPush();
    } catch (error) {
      button.title = error.message;
      document.body.dataset.pushError = error.message;
    }
    await update();
  });
  update();
}
