// Writing: the composer (Enter sends, Shift+Enter a new line), pending bubbles, the
// "sending too fast" notice, typing notices, editing or deleting one's own messages, and
// images: attached by button, drag-and-drop or paste, uploaded at once with a progress bar,
// previewed with a remove button, retried or removed when an upload fails.
// (v1.1) Replying to a message, `@` completion of names, and reactions.

import { Code } from "../codes.js";
import { limits } from "../config.js";
import { h, ready, showError } from "../dom.js";
import { gettext, interpolate, ngettext } from "../i18n.js";
import { fitted, uploadFile } from "../media.js";
import { formatWait } from "./moderation.js";
import { fillMessage, markFailed, renderPending } from "./render.js";

const ATTACHMENTS_MAX = 4; // PROTOCOL.md: a message has at most 4
const COUNTER_FROM = 0.8; // the character counter shows from this share of the limit

// Characters as the server counts them (code points, not UTF-16 units).
const lengthOf = (text) => [...text].length;

export class Composer {
  // els: { form, input, error, notice, replyBar, mentionList, attach, files, tray, dropZone, lock, counter }
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
      } else if (event.key === "ArrowUp" && !els.input.value && !event.isComposing && !event.shiftKey) {
        // Up in an empty composer edits my last message (as Slack and Discord do).
        if (this.editLast()) event.preventDefault();
      }
    });
    els.input.addEventListener("input", () => {
      this.#typed();
      this.#count();
      this.mentions.update();
    });
    socket.on("failed", (frame) => {
      this.#failed(frame.ref, frame.detail);
      if (frame.room === state.id) this.#refused(frame);
    });
    this.#setupImages();
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
        lock.textContent = interpolate(gettext("%(reason)s — %(wait)s left"), { reason, wait: formatWait(seconds) });
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
      this.lock(gettext("Staff muted you in this room"), { until: Date.now() + (frame.retry_after || 60) * 1000, kind: "muted" });
    } else if (frame.code === Code.BLOCKED) {
      this.lock(gettext("You and this person have blocked one another; messages cannot be sent."), { kind: "blocked" });
    }
  }

  focus() {
    this.els.input.focus();
  }

  // How long the text is against the limit: shown near it, and what is over it said plainly
  // (nothing is cut: the text stays as typed or pasted, and Send refuses it).
  #count() {
    const { input, counter } = this.els;
    if (!counter) return;
    const length = lengthOf(input.value.trim());
    const over = length - limits.bodyMax;
    counter.hidden = length < limits.bodyMax * COUNTER_FROM;
    counter.classList.toggle("over", over > 0);
    counter.textContent =
      over > 0
        ? interpolate(ngettext("%(count)s character over the limit of %(max)s", "%(count)s characters over the limit of %(max)s", over), { count: over, max: limits.bodyMax })
        : interpolate(gettext("%(count)s / %(max)s"), { count: length, max: limits.bodyMax });
    input.setAttribute("aria-invalid", String(over > 0));
  }

  // Edit my newest message shown (Up in an empty composer); false if there is none.
  editLast() {
    const mine = [...this.state.shown.values()]
      .filter(({ data }) => this.state.isMine(data) && !data.deleted)
      .sort((a, b) => b.data.seq - a.data.seq)[0];
    if (!mine) return false;
    this.startEdit(mine.el, mine.data);
    return true;
  }

  send() {
    const { input, error } = this.els;
    const body = input.value.trim();
    showError(error, null);
    const uploads = this.state.uploads;
    if (uploads.some((item) => item.status === "uploading")) {
      showError(error, { detail: gettext("Wait for the images to finish uploading.") });
      return;
    }
    if (uploads.some((item) => item.status === "failed")) {
      showError(error, { detail: gettext("An image did not upload: retry or remove it.") });
      return;
    }
    const attachments = uploads.map((item) => item.attachment);
    if (!body && !attachments.length) return;
    if (lengthOf(body) > limits.bodyMax) {
      const over = lengthOf(body) - limits.bodyMax;
      showError(error, {
        detail: interpolate(
          ngettext(
            "Not sent: a message has at most %(max)s characters, this one has %(count)s character too many. Shorten it or split it in two.",
            "Not sent: a message has at most %(max)s characters, this one has %(count)s too many. Shorten it or split it in two.",
            over,
          ),
          { max: limits.bodyMax, count: over },
        ),
      });
      this.#count();
      return;
    }
    const clientId = crypto.randomUUID();
    const el = renderPending(body, clientId, this.state.me, attachments);
    const reply = this.state.replyTo;
    this.state.pending.set(clientId, el);
    this.timeline.addPending(el);
    input.value = "";
    input.style.height = "";
    this.retype = true; // the message ends my "typing…" for the others: the next key says it again
    this.#count();
    this.mentions.close();
    this.replyTo(null);
    for (const item of uploads) this.#forget(item, { revoke: true });
    const extra = attachments.length ? { attachments: attachments.map((a) => a.id) } : {};
    if (reply) extra.reply_to = reply.id;
    this.socket.send(this.state.id, body, clientId, extra);
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

  // --- images ------------------------------------------------------------------------------

  #setupImages() {
    const { attach, files, input, dropZone } = this.els;
    attach.addEventListener("click", () => files.click());
    files.addEventListener("change", () => {
      this.addFiles([...files.files]);
      files.value = "";
    });
    input.addEventListener("paste", (event) => {
      const pasted = [...(event.clipboardData?.files || [])];
      if (!pasted.length) return;
      event.preventDefault();
      this.addFiles(pasted);
    });
    const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
    dropZone.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      dropZone.classList.add("dropping");
    });
    dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dropping"));
    dropZone.addEventListener("drop", (event) => {
      dropZone.classList.remove("dropping");
      if (!hasFiles(event)) return;
      event.preventDefault();
      this.addFiles([...event.dataTransfer.files]);
    });
  }

  addFiles(files) {
    const room = ATTACHMENTS_MAX - this.state.uploads.length;
    const images = files.filter((file) => file.type.startsWith("image/"));
    if (images.length < files.length) showError(this.els.error, { detail: gettext("Only images can be attached.") });
    if (images.length > room) showError(this.els.error, { detail: interpolate(gettext("A message has at most %(count)s images."), { count: ATTACHMENTS_MAX }) });
    for (const file of images.slice(0, Math.max(0, room))) this.#upload({ file, preview: URL.createObjectURL(file) });
  }

  #upload(item) {
    const bar = h("progress", { max: 100, value: 0, "aria-label": interpolate(gettext("Uploading %(name)s"), { name: item.file.name }) });
    const status = h("span", { class: "upload-state", role: "status" });
    const remove = h("button", { type: "button", class: "link", "aria-label": interpolate(gettext("Remove %(name)s"), { name: item.file.name }), onclick: () => this.#forget(item, { revoke: true }) }, gettext("Remove"));
    const preview = h("img", { src: item.preview, alt: item.file.name, width: 64, height: 64 });
    item.el ??= h("li", { class: "upload" });
    item.el.replaceChildren(preview, bar, status, remove);
    item.status = "uploading";
    if (!this.state.uploads.includes(item)) {
      this.state.uploads.push(item);
      this.els.tray.append(item.el);
    }
    this.els.tray.hidden = false;
    uploadFile(`/api/rooms/${this.state.id}/attachments/`, item.file, (fraction) => {
      bar.value = Math.round(fraction * 100);
    }).then(
      (attachment) => {
        if (!this.state.uploads.includes(item)) return; // removed meanwhile
        item.status = "done";
        item.attachment = attachment;
        const size = fitted(attachment.width, attachment.height, 64);
        Object.assign(preview, size);
        bar.remove();
        status.textContent = gettext("ready");
        item.el.classList.add("done");
      },
      (error) => {
        if (!this.state.uploads.includes(item)) return;
        item.status = "failed";
        item.el.classList.add("failed");
        bar.remove();
        status.textContent = interpolate(gettext("not uploaded: %(reason)s"), { reason: error.detail || error });
        // Retrying helps with a lost connection, never with a file the server refused.
        const final = [Code.UNSUPPORTED_MEDIA, Code.TOO_LARGE].includes(error.code);
        if (!final) remove.before(h("button", { type: "button", class: "link", onclick: () => this.#upload(item) }, gettext("Retry")));
      },
    );
  }

  // Take an item out of the tray (sent, or removed by the user).
  #forget(item, { revoke }) {
    this.state.uploads = this.state.uploads.filter((other) => other !== item);
    item.el.remove();
    if (revoke && item.preview) URL.revokeObjectURL(item.preview);
    this.els.tray.hidden = this.state.uploads.length === 0;
  }

  // Put uploads back in the tray (a failed send's "Edit and retry"): still pending there.
  #restore(attachments) {
    for (const attachment of attachments.slice(0, ATTACHMENTS_MAX - this.state.uploads.length)) {
      const el = h(
        "li",
        { class: "upload done" },
        h("img", { src: attachment.thumb_url, alt: attachment.name, ...fitted(attachment.width, attachment.height, 64) }),
        h("span", { class: "upload-state" }, gettext("ready")),
      );
      const item = { file: null, el, status: "done", attachment };
      el.append(h("button", { type: "button", class: "link", onclick: () => this.#forget(item, { revoke: false }) }, gettext("Remove")));
      this.state.uploads.push(item);
      this.els.tray.append(el);
    }
    this.els.tray.hidden = this.state.uploads.length === 0;
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
        this.#restore(el.attachments || []);
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
      notice.textContent = this.state.room?.slow_mode
        ? interpolate(gettext("slow mode — next send in %(seconds)s s"), { seconds })
        : interpolate(gettext("sending too fast — %(seconds)s s"), { seconds });
      notice.hidden = false;
    };
    tick();
    this.countdown = setInterval(tick, 250);
  }

  #typed() {
    const { input } = this.els;
    input.style.height = "";
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
    const say = () => {
      this.lastTyping = Date.now();
      this.retype = false;
      this.socket.request({ type: "typing", room: this.state.id });
    };
    const wait = this.lastTyping + limits.typingInterval * 1000 - Date.now();
    if (!input.value.trim()) return;
    if (wait < 0) {
      say();
    } else if (this.retype && !this.retypeTimer) {
      // Typing again right after a send: the server takes one `typing` per interval, so say
      // it as soon as the interval since the last one is over.
      this.retypeTimer = setTimeout(() => {
        this.retypeTimer = null;
        if (input.value.trim()) say();
      }, wait + 50);
    }
  }

  // Edit in place: Enter saves, Shift+Enter a new line, Esc cancels; either way the focus
  // goes back to the composer. Over the limit is refused, saying why (nothing is cut).
  startEdit(el, message) {
    const done = () => {
      fillMessage(el, this.state.shown.get(message.id).data, this.view);
      this.focus();
    };
    const area = h("textarea", { class: "edit", rows: 2, "aria-label": gettext("Edit the message") });
    const why = h("p", { class: "form-error edit-error", role: "alert" });
    area.value = message.body;
    const save = () => {
      const body = area.value.trim();
      if (lengthOf(body) > limits.bodyMax) {
        why.textContent = interpolate(gettext("Not saved: a message has at most %(max)s characters."), { max: limits.bodyMax });
        return;
      }
      if (body && body !== message.body) this.socket.request({ type: "edit", message: message.id, body });
      done();
    };
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        save();
      } else if (event.key === "Escape") {
        event.preventDefault();
        done();
      }
    });
    el.querySelector(".body").replaceWith(area);
    area.after(why);
    el.querySelector(".actions").replaceChildren(
      h("button", { type: "button", class: "link", onclick: save }, gettext("Save")),
      h("button", { type: "button", class: "link", onclick: done }, gettext("Cancel")),
    );
    el.classList.add("editing");
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
  }

  remove(message) {
    if (confirm(gettext("Delete this message for everyone?"))) this.socket.request({ type: "delete", message: message.id });
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
