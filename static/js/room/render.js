// A message as a list item. User text only ever becomes text nodes (see dom.js).
// `view` is { me, onEdit(el, message), onDelete(message), and (room/moderation.js)
// blocked: Set of user ids, collapseBlocked, onReport(el, message), onBlock(user),
// onMute(message, seconds), onKick(message) }.

import { fullTime, h, linkified, timeOf } from "../dom.js";

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
  const hiddenAsBlocked = !mine && view.collapseBlocked && view.blocked?.has(message.author.id) && el.dataset.revealed !== "true";
  const body = message.deleted
    ? h("div", { class: "body tombstone" }, "message deleted")
    : hiddenAsBlocked
      ? h(
          "div",
          { class: "body tombstone blocked-message" },
          "message from a blocked user ",
          h("button", { type: "button", class: "link", onclick: () => ((el.dataset.revealed = "true"), fillMessage(el, message, view)) }, "Show"),
        )
      : h("div", { class: "body" }, linkified(message.body));
  el.classList.toggle("from-blocked", Boolean(hiddenAsBlocked));
  const actions = h("div", { class: "actions" });
  if (!message.deleted && mine) {
    actions.append(h("button", { type: "button", class: "link", onclick: () => view.onEdit(el, message) }, "Edit"));
  }
  if (!message.deleted && (mine || view.me?.is_staff)) {
    actions.append(h("button", { type: "button", class: "link", onclick: () => view.onDelete(message) }, "Delete"));
  }
  if (!message.deleted && !mine && view.onReport) {
    actions.append(h("button", { type: "button", class: "link", onclick: () => view.onReport(el, message) }, "Report"));
    if (!view.blocked?.has(message.author.id)) {
      actions.append(h("button", { type: "button", class: "link", onclick: () => view.onBlock(message.author) }, "Block"));
    }
  }
  if (!mine && view.me?.is_staff && view.onMute) {
    actions.append(
      h("button", { type: "button", class: "link staff", onclick: () => view.onMute(message, 600) }, "Mute 10 min"),
      h("button", { type: "button", class: "link staff", onclick: () => view.onMute(message, 3600) }, "Mute 1 h"),
      h("button", { type: "button", class: "link staff", onclick: () => view.onKick(message) }, "Kick"),
    );
  }
  el.replaceChildren(meta, body, actions, h("div", { class: "seen", hidden: true }, "Seen"));
}

// A send on its way: shown at once, replaced by the stored message when its ack arrives.
export function renderPending(body, clientId, me) {
  return h(
    "li",
    { class: "msg mine pending", dataset: { clientId } },
    h("div", { class: "meta" }, h("span", { class: "author" }, me.display_name), h("span", { class: "state" }, "sending…")),
    h("div", { class: "body" }, linkified(body)),
  );
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
