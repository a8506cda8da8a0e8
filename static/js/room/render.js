// A message as a list item. User text only ever becomes text nodes (see dom.js).
// `view` is { me, onEdit(el, message), onDelete(message), onReply(message), onJump(reply),
// onReact(message, emoji, on), onOpen(attachment, opener), onStale(message) (an image of it
// failed to load), and (room/moderation.js) blocked: Set of user ids, collapseBlocked,
// onReport(el, message), onBlock(user), onMute(message, seconds), onKick(message) }.

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
  const mentionsMe = Boolean(view.me) && !message.deleted && (message.mentions || []).includes(view.me.id);
  el.classList.toggle("mentions-me", mentionsMe);
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
      : h("div", { class: "body" }, withMentions(linkified(message.body), view.me));
  el.classList.toggle("from-blocked", Boolean(hiddenAsBlocked));
  const actions = h("div", { class: "actions" });
  if (!message.deleted) {
    actions.append(
      h("button", { type: "button", class: "link", onclick: () => view.onReply?.(message) }, "Reply"),
      h("button", { type: "button", class: "link react-open", "aria-expanded": "false", onclick: (event) => togglePicker(el, message, view, event.currentTarget) }, "React"),
    );
  }
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
  const images = message.deleted || hiddenAsBlocked ? null : gallery(message.attachments, view.onOpen, () => view.onStale?.(message));
  const parts = [
    meta,
    message.reply_to ? replyPreview(message.reply_to, view) : null,
    body,
    images,
    message.deleted ? null : reactionBar(message, view),
    actions,
    h("div", { class: "seen", hidden: true }, "Seen"),
  ];
  el.replaceChildren(...parts.filter(Boolean));
}

// (v1.1) What a reply answers: who and the start of it; a click jumps there.
export function replyPreview(reply, view) {
  return h(
    "button",
    { type: "button", class: `reply-preview${reply.deleted ? " deleted" : ""}`, dataset: { replyTo: reply.id }, onclick: () => view.onJump?.(reply) },
    h("span", { class: "author" }, reply.author.display_name),
    " ",
    h("span", { class: "excerpt" }, reply.deleted ? "message deleted" : reply.body),
  );
}

// The preview of `parent` as a reply to it shows it now (an edit, a deletion); its first 200
// characters as the server counts them (code points, not UTF-16 units).
export function previewOf(parent) {
  return { id: parent.id, seq: parent.seq, author: parent.author, body: parent.deleted ? "" : [...parent.body].slice(0, 200).join(""), deleted: parent.deleted };
}

// @Nickname#1234 as a highlighted span inside text nodes (links stay links); the reader's own
// name more strongly. Only text nodes are split: user text never becomes markup.
const MENTION_RE = /(^|[^\w@])(@[^\s@#]{1,32}#\d{4})(?!\d)/gu;

export function withMentions(fragment, me) {
  const mine = me ? `@${me.display_name}` : null;
  for (const node of [...fragment.childNodes]) {
    if (node.nodeType !== Node.TEXT_NODE || !node.textContent.includes("@")) continue;
    const text = node.textContent;
    const parts = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(MENTION_RE)) {
      const start = match.index + match[1].length;
      parts.append(document.createTextNode(text.slice(last, start)));
      parts.append(h("span", { class: match[2] === mine ? "mention me" : "mention" }, match[2]));
      last = start + match[2].length;
    }
    if (last === 0) continue;
    parts.append(document.createTextNode(text.slice(last)));
    node.replaceWith(parts);
  }
  return fragment;
}

// (v1.1) Reactions as toggles: mine are pressed; a press adds or takes back mine.
function reactionBar(message, view) {
  const reactions = message.reactions || [];
  if (!reactions.length) return null;
  return h(
    "div",
    { class: "reactions" },
    reactions.map(({ emoji, count, users }) => {
      const mine = Boolean(view.me) && users.includes(view.me.id);
      return h(
        "button",
        { type: "button", class: "reaction", "aria-pressed": String(mine), dataset: { emoji }, title: mine ? "Take back your reaction" : "React with this", onclick: () => view.onReact?.(message, emoji, !mine) },
        `${emoji} ${count}`,
      );
    }),
  );
}

export const PICKER = ["👍", "❤️", "😂", "😮", "😢", "🎉", "🙏", "👀"];

function togglePicker(el, message, view, opener) {
  const open = el.querySelector(".picker");
  if (open) {
    open.remove();
    opener.setAttribute("aria-expanded", "false");
    return;
  }
  opener.setAttribute("aria-expanded", "true");
  const mineOf = (emoji) => (message.reactions || []).some((r) => r.emoji === emoji && view.me && r.users.includes(view.me.id));
  const picker = h(
    "div",
    { class: "picker", role: "group", "aria-label": "Pick a reaction" },
    PICKER.map((emoji) =>
      h("button", { type: "button", class: "pick", dataset: { emoji }, onclick: () => {
        picker.remove();
        opener.setAttribute("aria-expanded", "false");
        view.onReact?.(message, emoji, !mineOf(emoji));
      } }, emoji),
    ),
  );
  el.querySelector(".actions").after(picker);
  picker.querySelector("button").focus();
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
