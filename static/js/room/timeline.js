// The message list: history loaded page by page above (without the view jumping), live
// messages below, pending sends last, and where the reader is scrolled. (v1.1) It can open
// at any message (`around=`): then newer history loads page by page below as the reader
// scrolls down (`after=`), and live messages wait until the list has caught up with them.
// (issue 15) The list reads like a modern chat's: date separators, one name over a run of
// messages by one author, a "New messages" divider at the first unread, relative times, a
// "jump to latest" button counting what came below, and a bounded window of messages in the
// page (a room read back 5,000 messages keeps at most WINDOW_PAGES pages of them: scrolling
// on loads the next page and drops one at the other end, the way back loading it again).
// New live messages are announced once, in a role="log" region of their own (#announcer):
// the list itself is redrawn and paged, which a live region would announce again.

import { limits } from "../config.js";
import { dayKey, dayLabel, h, relativeTime } from "../dom.js";
import { gettext, interpolate, ngettext } from "../i18n.js";
import { identity } from "../identity.js";
import { fillMessage, previewOf, renderMessage } from "./render.js";

const NEAR_BOTTOM = 48; // px: "at the bottom" for following new messages
const NEAR_TOP = 120; // px: scrolled this close to the top loads older messages
const WINDOW_PAGES = 8; // history pages held in the page at most
const GROUP_MS = 5 * 60_000; // one author's messages this close together share one name
const ANNOUNCED_KEPT = 20; // announcement nodes kept in the log region
const UNREAD_PAGES = 10; // pages read back at most to find the first unread message

export class Timeline {
  // els: { scroller, list, pill, status, announcer }; onLive(): after a live message is shown
  // or changed.
  constructor({ state, view, els, onLive }) {
    this.state = state;
    this.view = view;
    this.els = els;
    this.onLive = onLive;
    this.window = WINDOW_PAGES * limits.historyPage;
    setInterval(() => this.#retime(), 30_000); // "2 min ago" moves on
    els.scroller.addEventListener("scroll", () => {
      if (els.scroller.scrollTop < NEAR_TOP && !this.state.loadingNewer) this.loadOlder();
      if (this.nearBottom() && state.hasNewer && !state.loadingOlder) {
        this.loadNewer();
      } else if (this.nearBottom()) {
        this.hidePill();
        onLive();
      }
    });
    els.pill.addEventListener("click", async () => {
      if (state.hasNewer) await this.loadLatest();
      this.toBottom();
      onLive();
    });
  }

  nearBottom() {
    const { scroller } = this.els;
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM;
  }

  toBottom() {
    this.els.scroller.scrollTop = this.els.scroller.scrollHeight;
    this.hidePill();
  }

  hidePill() {
    this.state.unseen = 0;
    this.#showPill();
  }

  // "3 new messages ↓" while scrolled up with new ones below; "Jump to the latest messages"
  // while the latest are not loaded at all.
  #showPill() {
    const { state, els } = this;
    els.pill.hidden = !state.hasNewer && state.unseen === 0;
    els.pill.textContent = state.unseen
      ? `${interpolate(ngettext("%(count)s new message", "%(count)s new messages", state.unseen), { count: state.unseen })} ↓`
      : gettext("Jump to the latest messages");
  }

  // Say a new live message once, politely, in the log region (never history or replays).
  announce(message) {
    const { announcer } = this.els;
    if (!announcer || this.state.isMine(message) || message.deleted) return;
    const text = message.body ? [...message.body].slice(0, 200).join("") : gettext("(an image)");
    announcer.append(h("p", {}, interpolate(gettext("%(name)s: %(text)s"), { name: message.author.display_name, text })));
    while (announcer.childElementCount > ANNOUNCED_KEPT) announcer.firstElementChild.remove();
  }

  // A send just made: shown last, until its ack puts it in its place (among the latest ones:
  // a list opened at an older message goes to the latest first).
  addPending(el) {
    this.els.list.append(el);
    if (this.state.hasNewer) this.loadLatest();
    this.toBottom();
  }

  // Apply a message (history, replay, live, ack): only a higher rev replaces what is held.
  // `announce`: a new live message is said in the log region (not a replayed one).
  // History (`fromHistory`) is drawn by the caller's `decorate()` once the page is in.
  apply(message, { fromHistory = false, announce = false } = {}) {
    const { state } = this;
    if (message.room !== state.id) return;
    const held = state.shown.get(message.id);
    if (held) {
      if (held.data.rev >= message.rev) return;
      held.data = message;
      const focused = held.el.contains(document.activeElement);
      fillMessage(held.el, message, this.view);
      // The focus was in it (its menu, say): it stays on the message, not lost to the page.
      if (focused) held.el.querySelector(".menu-button")?.focus();
      this.#refreshReplies(message);
      if (!fromHistory) this.decorate();
      this.onLive();
      return;
    }
    if (!fromHistory && message.seq < state.oldestSeq && state.shown.size) return; // older than shown
    if (!fromHistory && state.hasNewer && message.seq > state.newestSeq) {
      // Beyond a gap of unloaded history: kept until the list catches up (loadNewer).
      const kept = state.future.get(message.id);
      if (!kept || kept.rev < message.rev) state.future.set(message.id, message);
      if (!kept && !state.isMine(message)) {
        state.unseen += 1;
        this.#showPill();
      }
      if (!kept && announce) this.announce(message);
      return;
    }
    const wasAtBottom = !fromHistory && this.nearBottom(); // (a layout: not per history message)
    const mine = state.isMine(message);
    let el = mine ? state.pending.get(message.client_id) : undefined;
    if (el) {
      state.pending.delete(message.client_id);
      el.remove();
      fillMessage(el, message, this.view);
    } else {
      el = renderMessage(message, this.view);
    }
    state.shown.set(message.id, { data: message, el });
    this.#insertBySeq(el, message.seq);
    state.oldestSeq = Math.min(state.oldestSeq, message.seq);
    state.newestSeq = Math.max(state.newestSeq, message.seq);
    this.#refreshReplies(message);
    if (fromHistory) return;
    this.decorate();
    if (announce) this.announce(message);
    if (wasAtBottom || mine) {
      // Following the live end: the oldest go once a page more than the window is held.
      if (state.shown.size > this.window + limits.historyPage) this.#trim("older");
      this.toBottom();
    } else {
      state.unseen += 1;
      this.#showPill();
    }
    this.onLive();
  }

  // Date separators and runs of one author, from each message and the one above it. Cheap
  // (the window bounds the list): done after each live message and each history page.
  decorate() {
    let prev = null;
    const now = new Date();
    for (const el of this.els.list.children) {
      if (!el.dataset.created) continue; // a send not yet acknowledged
      const day = dayKey(el.dataset.created);
      const newDay = !prev || dayKey(prev.dataset.created) !== day;
      let sep = el.querySelector(":scope > .day-sep");
      if (newDay) {
        const label = dayLabel(el.dataset.created, now);
        if (!sep) el.prepend((sep = h("div", { class: "day-sep" }, h("span", {}))));
        if (sep.firstChild.textContent !== label) sep.firstChild.textContent = label;
      } else {
        sep?.remove();
      }
      const grouped =
        !newDay &&
        prev.dataset.author === el.dataset.author &&
        !prev.classList.contains("deleted") &&
        !el.querySelector(":scope > .unread-divider") &&
        new Date(el.dataset.created) - new Date(prev.dataset.created) < GROUP_MS;
      el.classList.toggle("grouped", grouped);
      prev = el;
    }
  }

  // Relative times move on ("now" becomes "1 min ago"); only the window's few hundred.
  #retime() {
    for (const time of this.els.list.querySelectorAll("time .rel")) {
      const text = relativeTime(time.parentElement.dateTime);
      if (time.textContent !== text) time.textContent = text;
    }
  }

  // Keep at most the window: drop a page's worth from the end away from the reader. Dropped
  // newer messages make `hasNewer` (loaded again by scrolling down), older ones `hasMore`.
  #trim(side) {
    const { state } = this;
    const shown = [...state.shown.values()].sort((a, b) => a.data.seq - b.data.seq);
    const excess = shown.length - this.window;
    if (excess <= 0) return;
    const dropped = side === "newer" ? shown.slice(shown.length - excess) : shown.slice(0, excess);
    const kept = side === "newer" ? shown.slice(0, shown.length - excess) : shown.slice(excess);
    for (const { data, el } of dropped) {
      state.shown.delete(data.id);
      el.remove();
    }
    if (side === "newer") {
      state.newestSeq = kept.at(-1).data.seq;
      state.hasNewer = true;
      this.#showPill();
    } else {
      state.oldestSeq = kept[0].data.seq;
      state.hasMore = true;
      this.els.status.textContent = "";
    }
  }

  // Run `change` keeping the message at `el` where it is on the screen.
  async #anchored(el, change) {
    const { scroller } = this.els;
    const before = el?.isConnected ? el.getBoundingClientRect().top : null;
    const bottom = scroller.scrollHeight - scroller.scrollTop;
    await change();
    if (before !== null && el.isConnected) scroller.scrollTop += el.getBoundingClientRect().top - before;
    else scroller.scrollTop = scroller.scrollHeight - bottom;
  }

  // (issue 15) The "New messages" divider above the first of the `unread` newest messages by
  // others (the room's `unread` counts those: PROTOCOL.md), reading back a few pages to find
  // it; the list is scrolled so that it is at the top when the unread do not fit below (and
  // the jump button counts them).
  async markUnread(unread) {
    const { state } = this;
    for (const old of this.els.list.querySelectorAll(".unread-divider")) old.remove();
    if (!unread) return;
    let first = null;
    for (let pages = 0; ; pages += 1) {
      const others = [...state.shown.values()]
        .filter(({ data }) => !state.isMine(data) && !data.deleted)
        .sort((a, b) => b.data.seq - a.data.seq);
      first = others[unread - 1] ?? null;
      if (first || !state.hasMore || pages >= UNREAD_PAGES) break;
      await this.loadOlder();
    }
    first ??= [...state.shown.values()].sort((a, b) => a.data.seq - b.data.seq)[0]; // further back still
    if (!first) return;
    const divider = h("div", { class: "unread-divider", role: "separator", "aria-label": gettext("New messages") }, h("span", { "aria-hidden": "true" }, gettext("New messages")));
    const sep = first.el.querySelector(":scope > .day-sep");
    if (sep) sep.after(divider);
    else first.el.prepend(divider);
    this.decorate();
    this.toBottom();
    const { scroller } = this.els;
    const top = divider.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
    if (top < 0) {
      scroller.scrollTop += top - 8;
      this.state.unseen = unread; // below, unread: counted on the jump button
      this.#showPill();
    }
  }

  // Replies shown to `parent` preview it as it is now (edited, deleted).
  #refreshReplies(parent) {
    for (const entry of this.state.shown.values()) {
      const reply = entry.data.reply_to;
      if (!reply || reply.id !== parent.id) continue;
      const preview = previewOf(parent);
      if (reply.body === preview.body && reply.deleted === preview.deleted) continue;
      entry.data = { ...entry.data, reply_to: preview };
      fillMessage(entry.el, entry.data, this.view);
    }
  }

  #insertBySeq(el, seq) {
    // Pending sends stay last; everything else keeps seq order (nearly always: append).
    const { list } = this.els;
    const first = list.firstElementChild;
    if (first && !first.classList.contains("pending") && Number(first.dataset.seq) > seq) {
      list.insertBefore(el, first); // an older page, above everything
      return;
    }
    const firstPending = list.querySelector(".msg.pending");
    let before = firstPending;
    let node = firstPending ? firstPending.previousElementSibling : list.lastElementChild;
    while (node && Number(node.dataset.seq) > seq) {
      before = node;
      node = node.previousElementSibling;
    }
    list.insertBefore(el, before);
  }

  // The latest page, replacing what is shown; returns the highest rev in it (the cursor).
  async loadLatest() {
    const { state } = this;
    const page = await identity.api("GET", `/api/rooms/${state.id}/messages/?limit=${limits.historyPage}`);
    const future = [...state.future.values()];
    this.#clear();
    for (const message of page.results) this.apply(message, { fromHistory: true });
    this.decorate();
    for (const message of future) this.apply(message); // live ones that came meanwhile
    this.#hasMore(page.has_more);
    this.toBottom();
    return page.results.reduce((top, m) => Math.max(top, m.rev), 0);
  }

  #clear() {
    const { state } = this;
    this.els.list.replaceChildren(...state.pending.values());
    state.shown.clear();
    state.future.clear();
    state.oldestSeq = Infinity;
    state.newestSeq = -Infinity;
    state.hasNewer = false;
    this.hidePill();
  }

  // (v1.1) Open the list at the message numbered `seq` (`id`): it and its neighbours, with
  // history loading both ways from there; the message is scrolled to and highlighted.
  async openAt(seq, id) {
    const { state } = this;
    const page = await identity.api("GET", `/api/rooms/${state.id}/messages/?around=${seq}&limit=${limits.historyPage}`);
    this.#clear();
    for (const message of page.results) this.apply(message, { fromHistory: true });
    this.decorate();
    this.#hasMore(page.has_more_before);
    state.hasNewer = page.has_more_after;
    this.hidePill();
    this.highlight(id ?? page.results.find((m) => m.seq === seq)?.id);
  }

  // Go to a message: scroll to it if shown, else open the list there. `message`: { id, seq }.
  async jumpTo(message) {
    if (this.state.shown.has(message.id)) this.highlight(message.id);
    else await this.openAt(message.seq, message.id);
  }

  highlight(id) {
    for (const el of this.els.list.querySelectorAll(".msg.highlight")) el.classList.remove("highlight");
    const el = this.state.shown.get(id)?.el;
    if (!el) return;
    el.classList.add("highlight");
    el.scrollIntoView({ block: "center" });
  }

  // (v1.1) The next page below what is shown, when the list was opened at an older message.
  async loadNewer() {
    const { state, els } = this;
    if (state.loadingNewer || !state.hasNewer) return; // exactly one request in flight
    state.loadingNewer = true;
    try {
      const page = await identity.api("GET", `/api/rooms/${state.id}/messages/?after=${state.newestSeq}&limit=${limits.historyPage}`);
      const anchor = els.list.querySelector(".msg:not(.pending):last-of-type") ?? [...state.shown.values()].at(-1)?.el;
      await this.#anchored(anchor, () => {
        for (const message of page.results) this.apply(message, { fromHistory: true }); // added below: the view stays
        this.#trim("older");
        this.decorate();
      });
      state.hasNewer = page.has_more;
      if (!state.hasNewer) {
        const future = [...state.future.values()].sort((a, b) => a.seq - b.seq);
        state.future.clear();
        for (const message of future) this.apply(message); // caught up: the live ones follow
        this.hidePill();
      }
    } catch (error) {
      els.status.textContent = interpolate(gettext("Could not load later messages: %(reason)s"), { reason: error.detail || error });
    } finally {
      state.loadingNewer = false;
    }
  }

  // Fetch one message again for fresh image URLs (signed URLs expire), at most once a minute
  // per message: a page open for a day still shows its images.
  async refresh(message) {
    const { state } = this;
    const last = (this.refreshed ??= new Map()).get(message.id) || 0;
    if (Date.now() - last < 60_000) return;
    this.refreshed.set(message.id, Date.now());
    const page = await identity.api("GET", `/api/rooms/${state.id}/messages/?before=${message.seq + 1}&limit=1`);
    const fresh = page.results.find((m) => m.id === message.id);
    const held = state.shown.get(message.id);
    if (!fresh || !held || fresh.rev < held.data.rev) return;
    held.data = fresh;
    fillMessage(held.el, fresh, this.view);
  }

  async loadOlder() {
    const { state, els } = this;
    if (state.loadingOlder || !state.hasMore) return; // exactly one request in flight
    state.loadingOlder = true;
    els.status.textContent = gettext("Loading earlier messages…");
    try {
      const page = await identity.api(
        "GET",
        `/api/rooms/${state.id}/messages/?before=${state.oldestSeq}&limit=${limits.historyPage}`,
      );
      const anchor = els.list.querySelector(".msg:not(.pending)"); // the reader's message stays put
      await this.#anchored(anchor, () => {
        for (const message of page.results) this.apply(message, { fromHistory: true });
        this.#hasMore(page.has_more);
        this.#trim("newer");
        this.decorate();
      });
    } catch (error) {
      els.status.textContent = interpolate(gettext("Could not load earlier messages: %(reason)s"), { reason: error.detail || error });
    } finally {
      state.loadingOlder = false;
    }
  }

  #hasMore(more) {
    this.state.hasMore = more;
    this.els.status.textContent = more ? "" : gettext("This is the beginning of the conversation.");
  }
}
