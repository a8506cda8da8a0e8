// A message as a list item. User text only ever becomes text nodes (see dom.js).
// `view` is { me, onEdit(el, message), onDelete(message), onReply(message), onJump(reply),
// onReact(message, emoji, on), onOpen(attachment, opener), onStale(message) (an image of it
// failed to load), and (room/moderation.js) blocked: Set of user ids, collapseBlocked,
// onReport(el, message), onBlock(user), onMute(message, seconds), onKick(message) }.

import { fullTime, h, linkified, relativeTime } from "../dom.js";
import { gettext, interpolate } from "../i18n.js";
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

// A time as the list shows it: relative ("2 min ago", redrawn by the list each minute), the
// exact time on hover (title), to screen readers, and when the message has the focus (CSS).
export function timeElement(iso) {
  const exact = fullTime(iso);
  return h(
    "time",
    { datetime: iso, title: exact, dataset: { exact } },
    h("span", { class: "rel", "aria-hidden": "true" }, relativeTime(iso)),
    h("span", { class: "sr-only" }, exact),
  );
}

// What can be done with a message, for the hover bar and the keyboard menu alike:
// [{ label, run, staff? }].
function actionsOf(el, message, view, mine, opener) {
  const list = [];
  const add = (label, run, extra = {}) => list.push({ label, run, ...extra });
  if (!message.deleted) {
    add(gettext("Reply"), () => view.onReply?.(message));
    add(gettext("React"), (button) => togglePicker(el, message, view, button ?? opener()), { react: true });
  }
  if (!message.deleted && mine) add(gettext("Edit"), () => view.onEdit(el, message));
  if (!message.deleted && (mine || view.me?.is_staff)) add(gettext("Delete"), () => view.onDelete(message));
  if (!message.deleted && !mine && view.onReport) {
    add(gettext("Report"), () => view.onReport(el, message));
    if (!view.blocked?.has(message.author.id)) add(gettext("Block"), () => view.onBlock(message.author));
  }
  if (!mine && view.me?.is_staff && view.onMute) {
    add(gettext("Mute 10 min"), () => view.onMute(message, 600), { staff: true });
    add(gettext("Mute 1 h"), () => view.onMute(message, 3600), { staff: true });
    add(gettext("Kick"), () => view.onKick(message), { staff: true });
  }
  return list;
}

// (Re)draw an item for a stored message: a newer rev, an ack replacing its pending bubble.
// The list's own marks on it (a date separator, the "New messages" divider) stay.
export function fillMessage(el, message, view) {
  const mine = Boolean(view.me) && message.author.id === view.me.id;
  el.dataset.id = message.id;
  el.dataset.seq = message.seq;
  el.dataset.author = message.author.id;
  el.dataset.created = message.created_at;
  el.classList.remove("pending", "failed", "editing");
  el.classList.toggle("mine", mine);
  el.classList.toggle("deleted", message.deleted);
  const mentionsMe = Boolean(view.me) && !message.deleted && (message.mentions || []).includes(view.me.id);
  el.classList.toggle("mentions-me", mentionsMe);
  const marks = [...el.querySelectorAll(":scope > .day-sep, :scope > .unread-divider")];
  const meta = h(
    "div",
    { class: "meta" },
    h("span", { class: "author" }, message.author.display_name),
    timeElement(message.created_at),
    message.edited_at && !message.deleted
      ? h("span", { class: "edited", title: interpolate(gettext("edited %(time)s"), { time: fullTime(message.edited_at) }) }, gettext("(edited)"))
      : null,
  );
  const hiddenAsBlocked = !mine && view.collapseBlocked && view.blocked?.has(message.author.id) && el.dataset.revealed !== "true";
  const body = message.deleted
    ? h("div", { class: "body tombstone" }, gettext("This message was deleted."))
    : hiddenAsBlocked
      ? h(
          "div",
          { class: "body tombstone blocked-message" },
          gettext("message from a blocked user"),
          " ",
          h("button", { type: "button", class: "link", onclick: () => ((el.dataset.revealed = "true"), fillMessage(el, message, view)) }, gettext("Show")),
        )
      : h("div", { class: "body" }, withMentions(linkified(message.body), view.me));
  el.classList.toggle("from-blocked", Boolean(hiddenAsBlocked));
  const opener = () => el.querySelector(".menu-button");
  const list = actionsOf(el, message, view, mine, opener);
  const actions = h(
    "div",
    { class: "actions" },
    list.map(({ label, run, staff, react }) =>
      h("button", { type: "button", class: staff ? "link staff" : react ? "link react-open" : "link", "aria-expanded": react ? "false" : null, onclick: (event) => run(event.currentTarget) }, label),
    ),
  );
  const menuItems = [...list];
  menuItems.push({ label: gettext("Copy link"), run: () => copyLink(message, view) });
  if (message.reply_to) menuItems.push({ label: gettext("Go to the replied message"), run: () => view.onJump?.(message.reply_to) });
  const menuButton = h("button", {
    type: "button",
    class: "menu-button",
    "aria-haspopup": "menu",
    "aria-expanded": "false",
    "aria-label": interpolate(gettext("Actions for the message from %(name)s"), { name: message.author.display_name }),
    title: gettext("Message actions"),
  }, "⋯");
  menuButton.addEventListener("click", () => toggleMenu(el, menuButton, menuItems));
  menuButton.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      toggleMenu(el, menuButton, menuItems, event.key === "ArrowUp" ? -1 : 0);
    }
  });
  const images = message.deleted || hiddenAsBlocked ? null : gallery(message.attachments, view.onOpen, () => view.onStale?.(message));
  const parts = [
    meta,
    message.reply_to ? replyPreview(message.reply_to, view) : null,
    body,
    images,
    message.deleted ? null : reactionBar(message, view),
    actions,
    menuButton,
    h("div", { class: "seen", hidden: true }, gettext("Seen")),
  ];
  // The list's marks span the row; the message itself is a bubble in it.
  el.replaceChildren(...marks, h("div", { class: "bubble" }, parts.filter(Boolean)));
}

// A link to the message (`/rooms/{id}/?message={id}` opens the room there).
function copyLink(message, view) {
  const url = `${location.origin}/rooms/${message.room}/?message=${message.id}`;
  navigator.clipboard?.writeText(url).then(
    () => view.onNotice?.(gettext("Link copied.")),
    () => view.onNotice?.(url),
  ) ?? view.onNotice?.(url);
}

// The per-message actions menu (the WAI-ARIA menu button pattern): opens on click, Enter,
// Space or the arrow keys with the first (last) item focused; arrows, Home and End move; Esc
// closes it and gives the focus back to its button; Tab closes it and moves on.
function toggleMenu(el, button, items, start = 0) {
  const open = el.querySelector(".msg-menu");
  if (open) {
    closeMenu(el, button, true);
    return;
  }
  const menu = h("div", { class: "msg-menu", role: "menu", "aria-label": button.getAttribute("aria-label") });
  const entries = items.map(({ label, run, staff }) =>
    h("button", { type: "button", role: "menuitem", tabindex: "-1", class: staff ? "staff" : null, onclick: () => {
      closeMenu(el, button, true);
      run(button);
      // An action that put the focus nowhere (it redrew the message) gives it back here.
      if (!document.activeElement || document.activeElement === document.body) el.querySelector(".menu-button")?.focus();
    } }, label),
  );
  menu.append(...entries);
  menu.addEventListener("keydown", (event) => {
    const at = entries.indexOf(document.activeElement);
    const move = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: entries.length - 1 }[event.key];
    if (move !== undefined) {
      event.preventDefault();
      entries[(move + entries.length) % entries.length].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      closeMenu(el, button, true);
    } else if (event.key === "Tab") {
      closeMenu(el, button, false);
    }
  });
  menu.addEventListener("focusout", (event) => {
    if (!menu.contains(event.relatedTarget) && event.relatedTarget !== button) closeMenu(el, button, false);
  });
  button.after(menu);
  // Near the bottom of the list it opens upwards, not under the composer.
  const scroller = el.closest(".scroller");
  if (scroller && menu.getBoundingClientRect().bottom > scroller.getBoundingClientRect().bottom) menu.classList.add("up");
  button.setAttribute("aria-expanded", "true");
  entries.at(start)?.focus();
}

function closeMenu(el, button, refocus) {
  button.setAttribute("aria-expanded", "false");
  if (refocus) button.focus(); // first: the focus never falls to the page with the menu gone
  el.querySelector(".msg-menu")?.remove();
}

// (v1.1) What a reply answers: who and the start of it; a click jumps there.
export function replyPreview(reply, view) {
  return h(
    "button",
    { type: "button", class: `reply-preview${reply.deleted ? " deleted" : ""}`, dataset: { replyTo: reply.id }, onclick: () => view.onJump?.(reply) },
    h("span", { class: "author" }, reply.author.display_name),
    " ",
    h("span", { class: "excerpt" }, reply.deleted ? gettext("message deleted") : reply.body),
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
        { type: "button", class: "reaction", "aria-pressed": String(mine), dataset: { emoji }, title: mine ? gettext("Take back your reaction") : gettext("React with this"), onclick: () => view.onReact?.(message, emoji, !mine) },
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
    { class: "picker", role: "group", "aria-label": gettext("Pick a reaction") },
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
    h(
      "div",
      { class: "bubble" },
      h("div", { class: "meta" }, h("span", { class: "author" }, me.display_name), h("span", { class: "state" }, gettext("sending…"))),
      h("div", { class: "body" }, linkified(body)),
      gallery(attachments, null),
    ),
  );
  el.attachments = attachments; // for "Edit and retry"
  return el;
}

// A send the server refused for good: say why, and offer what the user can do about it.
export function markFailed(el, detail, { onEdit, onDiscard }) {
  el.classList.add("failed");
  el.querySelector(".state").textContent = interpolate(gettext("not sent: %(reason)s"), { reason: detail });
  el.querySelector(".bubble").append(
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "link", onclick: onEdit }, gettext("Edit and retry")),
      h("button", { type: "button", class: "link", onclick: onDiscard }, gettext("Discard")),
    ),
  );
}
