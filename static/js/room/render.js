// A message as a list item. User text only ever becomes text nodes (see dom.js).
// `view` is { me, onEdit(el, message), onDelete(message), onOpen(attachment, opener),
// onStale(message) (an image of it failed to load) }.

import { fullTime, h, linkified, timeOf } from "../dom.js";
import { thumbnail } from "../media.js";

// A message's images, each a thumbnail at its own aspect ratio that opens the lightbox.
function gallery(attachments, onOpen, onError) {
  if (!attachments?.length) return null;
  return h("div", { class: "attachments" }, attachments.map((attachment) => thumbnail(attachment, { onOpen, onError })));
}

export function renderMessage(message, view) {
  const el = h("li", { class: "msg" });
  fillMessage(el, message, view);
  return el;
}

// (Re)draw an item for a stored message: a newer rev, an ack replacing its pending bubble.
export function fillMessage(el, message, view) {
  const mine = Boolean(view.me) && message.author.id === view.me.id;
  el.dataset.id = message.id;
  el.dataset.seq = message.seq;
  el.classList.remove("pending", "failed");
  el.classList.toggle("mine", mine);
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
  if (!message.deleted && mine) {
    actions.append(h("button", { type: "button", class: "link", onclick: () => view.onEdit(el, message) }, "Edit"));
  }
  if (!message.deleted && (mine || view.me?.is_staff)) {
    actions.append(h("button", { type: "button", class: "link", onclick: () => view.onDelete(message) }, "Delete"));
  }
  const images = message.deleted ? null : gallery(message.attachments, view.onOpen, () => view.onStale?.(message));
  el.replaceChildren(meta, body, images, actions, h("div", { class: "seen", hidden: true }, "Seen"));
}

// A send on its way: shown at once, replaced by the stored message when its ack arrives.
// `attachments`: the uploads it carries (shown, not yet openable).
export function renderPending(body, clientId, me, attachments = []) {
  const el = h(
    "li",
    { class: "msg mine pending", dataset: { clientId } },
    h("div", { class: "meta" }, h("span", { class: "author" }, me.display_name), h("span", { class: "state" }, "sending…")),
    h("div", { class: "body" }, linkified(body)),
    gallery(attachments, null),
  );
  el.attachments = attachments; // for "Edit and retry"
  return el;
}

// A send the server refused for good: say why, and offer what the user can do about it.
export function markFailed(el, detail, { onEdit, onDiscard }) {
  el.classList.add("failed");
  el.querySelector(".state").textContent = `not sent: ${detail}`;
  el.append(
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "link", onclick: onEdit }, "Edit and retry"),
      h("button", { type: "button", class: "link", onclick: onDiscard }, "Discard"),
    ),
  );
}
