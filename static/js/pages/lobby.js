import { boot } from "../app.js";
import { $, h, ready, showError, timeOf, updateList } from "../dom.js";
import { gettext, interpolate, language, ngettext } from "../i18n.js";
import { identity } from "../identity.js";
import { roomsOfKind } from "../rooms.js";

const { socket } = await boot();
const list = $("#room-list");

function card(room) {
  return h(
    "li",
    { class: "card", dataset: { key: room.id } },
    // The link covers the whole card (CSS); nothing else in a card is interactive.
    h("a", { href: `/rooms/${room.id}/`, class: "card-title card-link" }, room.name),
    h("span", { class: "online", dataset: { testid: "online" } }, interpolate(ngettext("%(count)s online", "%(count)s online", room.online), { count: room.online.toLocaleString(language()) })),
    h(
      "span",
      { class: "muted" },
      room.last_message ? interpolate(gettext("last message %(time)s"), { time: timeOf(room.last_message.created_at) }) : gettext("no messages yet"),
    ),
    // (v1.1) unread messages that mention me
    room.mentions_unread
      ? h("span", { class: "badge mention-badge", title: gettext("Unread mentions of you"), dataset: { testid: "mentions" } }, `@ ${room.mentions_unread}`)
      : null,
  );
}

async function load() {
  const rooms = await roomsOfKind("public");
  updateList(list, rooms.map(card));
}

$("#new-room").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    const room = await identity.api("POST", "/api/rooms/", { name: form.name.value });
    location.href = `/rooms/${room.id}/`;
  } catch (error) {
    showError($("#new-room-error"), error);
  }
});
ready($("#new-room"));

await load();
// Online counts change without a frame to this page: refresh them while it is visible.
setInterval(() => document.visibilityState === "visible" && load().catch(() => {}), 5000);
socket.on("status", (status) => status.connected && load().catch(() => {}));
socket.on("notify", () => load().catch(() => {})); // (v1.1) a mention of me somewhere
