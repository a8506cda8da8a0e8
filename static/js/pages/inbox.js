import { boot } from "../app.js";
import { $, h, timeOf, updateList } from "../dom.js";
import { gettext, interpolate, ngettext } from "../i18n.js";
import { thumbnail } from "../media.js";
import { roomsOfKind } from "../rooms.js";

const { socket } = await boot();
const list = $("#inbox-list");

function card(room) {
  const last = room.last_message;
  const photo = room.listing?.photo;
  return h(
    "li",
    { class: `card${room.unread ? " unread" : ""}${photo ? " with-photo" : ""}`, dataset: { key: room.id } },
    photo ? h("span", { class: "card-photo" }, thumbnail(photo, { box: 48 })) : null,
    // The link covers the whole card (CSS); nothing else in a card is interactive.
    h("a", { href: `/rooms/${room.id}/`, class: "card-title card-link" }, room.peer ? room.peer.display_name : room.name),
    h("span", { class: "muted" }, room.listing ? room.listing.title : gettext("listing removed")),
    h("span", { class: "preview" }, last ? preview(last) : gettext("no messages yet")),
    last ? h("time", { datetime: last.created_at }, timeOf(last.created_at)) : null,
    room.unread ? h("span", { class: "badge", dataset: { testid: "unread" }, "aria-hidden": "true" }, String(room.unread)) : null,
    room.unread
      ? h("span", { class: "sr-only" }, interpolate(ngettext("%(count)s unread message", "%(count)s unread messages", room.unread), { count: room.unread }))
      : null,
    room.mentions_unread ? h("span", { class: "badge mention-badge", title: gettext("Unread mentions of you") }, `@ ${room.mentions_unread}`) : null,
  );
}

function preview(message) {
  if (message.deleted) return gettext("message deleted");
  if (message.body) return message.body;
  const n = message.attachments?.length || 0;
  return n ? interpolate(ngettext("%(count)s image", "%(count)s images", n), { count: n }) : "";
}

async function load() {
  const rooms = await roomsOfKind("direct");
  updateList(list, rooms.map(card));
  $("#inbox-empty").hidden = rooms.length > 0;
}

let timer = null;
const soon = () => {
  clearTimeout(timer);
  timer = setTimeout(() => load().catch(() => {}), 100);
};
for (const type of ["notify", "room", "removed"]) socket.on(type, soon);
socket.on("status", (status) => status.connected && soon());
await load();
