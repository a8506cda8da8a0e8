// The message list: history loaded page by page above (without the view jumping), live
// messages below, pending sends last, and where the reader is scrolled. (v1.1) It can open
// at any message (`around=`): then newer history loads page by page below as the reader
// scrolls down (`after=`), and live messages wait until the list has caught up with them.

import { limits } from "../config.js";
import { identity } from "../identity.js";
import { fillMessage, previewOf, renderMessage } from "./render.js";

const NEAR_BOTTOM = 48; // px: "at the bottom" for following new messages
const NEAR_TOP = 120; // px: scrolled this close to the top loads older messages

export class Timeline {
  // els: { scroller, list, pill, status }; onLive(): after a live message is shown or changed.
  constructor({ state, view, els, onLive }) {
    this.state = state;
    this.view = view;
    this.els = els;
    this.onLive = onLive;
    els.scroller.addEventListener("scroll", () => {
      if (els.scroller.scrollTop < NEAR_TOP) this.loadOlder();
      if (this.nearBottom() && state.hasNewer) {
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
    this.els.pill.hidden = !this.state.hasNewer;
    if (this.state.hasNewer) this.els.pill.textContent = "Jump to the latest messages";
  }

  // A send just made: shown last, until its ack puts it in its place (among the latest ones:
  // a list opened at an older message goes to the latest first).
  addPending(el) {
    this.els.list.append(el);
    if (this.state.hasNewer) this.loadLatest();
    this.toBottom();
  }

  // Apply a message (history, replay, live, ack): only a higher rev replaces what is held.
  apply(message, { fromHistory = false } = {}) {
    const { state } = this;
    if (message.room !== state.id) return;
    const held = state.shown.get(message.id);
    if (held) {
      if (held.data.rev >= message.rev) return;
      held.data = message;
      fillMessage(held.el, message, this.view);
      this.#refreshReplies(message);
      this.onLive();
      return;
    }
    if (!fromHistory && message.seq < state.oldestSeq && state.shown.size) return; // older than shown
    if (!fromHistory && state.hasNewer && message.seq > state.newestSeq) {
      // Beyond a gap of unloaded history: kept until the list catches up (loadNewer).
      const kept = state.future.get(message.id);
      if (!kept || kept.rev < message.rev) state.future.set(message.id, message);
      return;
    }
    const wasAtBottom = this.nearBottom();
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
    if (wasAtBottom || mine) {
      this.toBottom();
    } else {
      state.unseen += 1;
      this.els.pill.textContent = `${state.unseen} new message${state.unseen === 1 ? "" : "s"}`;
      this.els.pill.hidden = false;
    }
    this.onLive();
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
      for (const message of page.results) this.apply(message, { fromHistory: true }); // added below: the view stays
      state.hasNewer = page.has_more;
      if (!state.hasNewer) {
        const future = [...state.future.values()].sort((a, b) => a.seq - b.seq);
        state.future.clear();
        for (const message of future) this.apply(message); // caught up: the live ones follow
        this.hidePill();
      }
    } catch (error) {
      els.status.textContent = `Could not load later messages: ${error.detail || error}`;
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
    els.status.textContent = "Loading earlier messages…";
    try {
      const page = await identity.api(
        "GET",
        `/api/rooms/${state.id}/messages/?before=${state.oldestSeq}&limit=${limits.historyPage}`,
      );
      const anchor = els.scroller.scrollHeight - els.scroller.scrollTop; // distance from the bottom
      for (const message of page.results) this.apply(message, { fromHistory: true });
      els.scroller.scrollTop = els.scroller.scrollHeight - anchor; // the reader's message stays put
      this.#hasMore(page.has_more);
    } catch (error) {
      els.status.textContent = `Could not load earlier messages: ${error.detail || error}`;
    } finally {
      state.loadingOlder = false;
    }
  }

  #hasMore(more) {
    this.state.hasMore = more;
    this.els.status.textContent = more ? "" : "This is the beginning of the conversation.";
  }
}
