// Writing: the composer (Enter sends, Shift+Enter a new line), pending bubbles, the
// "sending too fast" notice, typing notices, and editing or deleting one's own messages.
// (v1.1) Replying to a message, `@` completion of names, and reactions.

import { limits } from "../config.js";
import { h, ready, showError } from "../dom.js";
import { fillMessage, markFailed, renderPending } from "./render.js";

export class Composer {
  // els: { form, input, error, notice, replyBar, mentionList }
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
    this.mentions = new MentionCompleter({ state, input: els.input, list: els.mentionList });
    els.replyBar.querySelector("button").addEventListener("click", () => this.replyTo(null));
    els.input.addEventListener("keydown", (event) => {
      if (this.mentions.key(event)) return; // the completion list took the key
      if (event.key === "Escape" && this.state.replyTo) {
        this.replyTo(null);
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    els.input.addEventListener("input", () => {
      this.#typed();
      this.mentions.update();
    });
    socket.on("failed", ({ ref, detail }) => this.#failed(ref, detail));
    socket.on("held", ({ room, until }) => room === state.id && this.#held(until));
    // Usable from here (its handlers exist); sends made before the room has joined wait in
    // the socket's queue.
    ready(els.form);
  }

  hide() {
    this.els.form.hidden = true;
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
    const reply = this.state.replyTo;
    this.state.pending.set(clientId, el);
    this.timeline.addPending(el);
    input.value = "";
    input.style.height = "";
    this.mentions.close();
    this.replyTo(null);
    this.socket.send(this.state.id, body, clientId, reply ? { reply_to: reply.id } : {});
  }

  // (v1.1) Answer `message` with the next send (null: no longer).
  replyTo(message) {
    const bar = this.els.replyBar;
    this.state.replyTo = message;
    bar.hidden = !message;
    if (message) {
      bar.querySelector(".author").textContent = message.author.display_name;
      bar.querySelector(".excerpt").textContent = message.body.slice(0, 200);
      this.focus();
    }
  }

  // (v1.1) Add or take back my reaction.
  react(message, emoji, on) {
    this.socket.request({ type: "react", message: message.id, emoji, on });
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
      notice.textContent = `sending too fast — ${seconds} s`;
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

// (v1.1) `@` completion: typing `@` and the start of a name lists the room's present users
// and the recent authors whose name starts so; ArrowUp/ArrowDown choose, Enter or Tab
// writes `@Nickname#1234 `, Escape closes. The list is an ARIA listbox the input controls.
class MentionCompleter {
  constructor({ state, input, list }) {
    this.state = state;
    this.input = input;
    this.list = list;
    this.options = [];
    this.active = 0;
    this.start = -1; // where the `@` being completed is in the input
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
  }

  get open() {
    return !this.list.hidden;
  }

  // Present users first, then the authors of the messages shown, newest first; never me.
  candidates() {
    const people = new Map();
    for (const user of this.state.present) people.set(user.id, user);
    const shown = [...this.state.shown.values()].sort((a, b) => b.data.seq - a.data.seq);
    for (const { data } of shown) if (!people.has(data.author.id)) people.set(data.author.id, data.author);
    if (this.state.me) people.delete(this.state.me.id);
    return [...people.values()];
  }

  update() {
    const { input } = this;
    const before = input.value.slice(0, input.selectionStart);
    const match = /(?:^|\s)@([^\s@]{0,37})$/u.exec(before);
    if (!match) return this.close();
    const typed = match[1].toLowerCase();
    this.start = before.length - match[1].length - 1;
    this.options = this.candidates()
      .filter((user) => user.display_name.toLowerCase().startsWith(typed))
      .slice(0, 8);
    if (!this.options.length) return this.close();
    this.active = 0;
    return this.render();
  }

  render() {
    this.list.replaceChildren(
      ...this.options.map((user, n) => {
        const item = h("li", { role: "option", id: `mention-${user.id}`, "aria-selected": String(n === this.active), class: n === this.active ? "active" : "" }, user.display_name);
        item.addEventListener("mousedown", (event) => {
          event.preventDefault(); // keep the focus in the input
          this.choose(n);
        });
        return item;
      }),
    );
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.input.setAttribute("aria-activedescendant", `mention-${this.options[this.active].id}`);
  }

  close() {
    this.list.hidden = true;
    this.options = [];
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  choose(n) {
    const user = this.options[n];
    const { input } = this;
    const end = input.selectionStart;
    const text = `@${user.display_name} `;
    input.value = input.value.slice(0, this.start) + text + input.value.slice(end);
    const caret = this.start + text.length;
    input.setSelectionRange(caret, caret);
    this.close();
    input.focus();
  }

  // A key pressed in the input: true if the open list used it.
  key(event) {
    if (!this.open || event.isComposing) return false;
    const count = this.options.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      this.active = (this.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
      this.render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      this.choose(this.active);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }
}
