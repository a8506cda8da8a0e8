// Writing: the composer (Enter sends, Shift+Enter a new line), pending bubbles, the
// "sending too fast" notice, typing notices, and editing or deleting one's own messages.

import { Code } from "../codes.js";
import { limits } from "../config.js";
import { h, ready, showError } from "../dom.js";
import { formatWait } from "./moderation.js";
import { fillMessage, markFailed, renderPending } from "./render.js";

export class Composer {
  // els: { form, input, error, notice, lock }
  constructor({ state, socket, timeline, view, els }) {
    this.state = state;
    this.socket = socket;
    this.timeline = timeline;
    this.view = view;
    this.els = els;
    this.lastTyping = 0;
    this.countdown = null;
    els.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    els.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    els.input.addEventListener("input", () => this.#typed());
    socket.on("failed", (frame) => {
      this.#failed(frame.ref, frame.detail);
      if (frame.room === state.id) this.#refused(frame);
    });
    this.lockTimer = null;
    this.lockReason = null;
    socket.on("held", ({ room, until }) => room === state.id && this.#held(until));
    // Usable from here (its handlers exist); sends made before the room has joined wait in
    // the socket's queue.
    ready(els.form);
  }

  hide() {
    this.els.form.hidden = true;
  }

  // Sends cannot go through (muted, blocked, banned): say why — and for how long, counting
  // down, when it ends by itself — with the composer disabled meanwhile.
  lock(reason, { until = null, kind = "other" } = {}) {
    const { form, lock } = this.els;
    clearInterval(this.lockTimer);
    this.lockReason = kind;
    for (const control of form.querySelectorAll("button, textarea")) control.disabled = true;
    const tick = () => {
      if (until === null) {
        lock.textContent = reason;
      } else {
        const seconds = Math.ceil((until - Date.now()) / 1000);
        if (seconds <= 0) return this.unlock(kind);
        lock.textContent = `${reason} — ${formatWait(seconds)} left`;
      }
      lock.hidden = false;
    };
    tick();
    if (until !== null) this.lockTimer = setInterval(tick, 1000);
  }

  unlock(kind = null) {
    if (kind !== null && this.lockReason !== kind) return;
    clearInterval(this.lockTimer);
    this.lockReason = null;
    this.els.lock.hidden = true;
    ready(this.els.form);
  }

  // Every bubble still waiting fails with `detail` (the socket will not send them).
  failPending(detail) {
    for (const clientId of [...this.state.pending.keys()]) this.#failed(clientId, detail);
  }

  #refused(frame) {
    if (frame.code === Code.MUTED) {
      this.lock("Staff muted you in this room", { until: Date.now() + (frame.retry_after || 60) * 1000, kind: "muted" });
    } else if (frame.code === Code.BLOCKED) {
      this.lock("You and this person have blocked one another; messages cannot be sent.", { kind: "blocked" });
    }
  }

  focus() {
    this.els.input.focus();
  }

  send() {
    const { input, error } = this.els;
    const body = input.value.trim();
    showError(error, null);
    if (!body) return;
    if (body.length > limits.bodyMax) {
      showError(error, { detail: `A message has at most ${limits.bodyMax} characters.` });
      return;
    }
    const clientId = crypto.randomUUID();
    const el = renderPending(body, clientId, this.state.me);
    this.state.pending.set(clientId, el);
    this.timeline.addPending(el);
    input.value = "";
    input.style.height = "";
    this.socket.send(this.state.id, body, clientId);
  }

  // The socket gave up on a send (a refusal no resend cures, `internal` included).
  #failed(clientId, detail) {
    const el = this.state.pending.get(clientId);
    if (!el) return;
    const drop = () => {
      el.remove();
      this.state.pending.delete(clientId);
    };
    markFailed(el, detail, {
      onEdit: () => {
        drop();
        this.els.input.value = el.querySelector(".body").textContent;
        this.focus();
      },
      onDiscard: drop,
    });
  }

  // One notice for the room's whole queue, counting down, instead of one on each bubble.
  #held(until) {
    const { notice } = this.els;
    clearInterval(this.countdown);
    if (until === null) {
      notice.hidden = true;
      return;
    }
    const tick = () => {
      const seconds = Math.ceil((until - Date.now()) / 1000);
      if (seconds <= 0) {
        clearInterval(this.countdown);
        notice.hidden = true;
        return;
      }
      notice.textContent = this.state.room?.slow_mode ? `slow mode — next send in ${seconds} s` : `sending too fast — ${seconds} s`;
      notice.hidden = false;
    };
    tick();
    this.countdown = setInterval(tick, 250);
  }

  #typed() {
    const { input } = this.els;
    input.style.height = "";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
    if (Date.now() - this.lastTyping > limits.typingInterval * 1000 && input.value.trim()) {
      this.lastTyping = Date.now();
      this.socket.request({ type: "typing", room: this.state.id });
    }
  }

  startEdit(el, message) {
    const redraw = () => fillMessage(el, this.state.shown.get(message.id).data, this.view);
    const area = h("textarea", { class: "edit", rows: 2, maxlength: limits.bodyMax });
    area.value = message.body;
    const save = () => {
      const body = area.value.trim();
      if (body && body !== message.body) this.socket.request({ type: "edit", message: message.id, body });
      redraw();
    };
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        save();
      } else if (event.key === "Escape") {
        redraw();
      }
    });
    el.querySelector(".body").replaceWith(area);
    el.querySelector(".actions").replaceChildren(
      h("button", { type: "button", class: "link", onclick: save }, "Save"),
      h("button", { type: "button", class: "link", onclick: redraw }, "Cancel"),
    );
    area.focus();
  }

  remove(message) {
    if (confirm("Delete this message for everyone?")) this.socket.request({ type: "delete", message: message.id });
  }
}
