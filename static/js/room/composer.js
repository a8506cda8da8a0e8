// Writing: the composer (Enter sends, Shift+Enter a new line), pending bubbles, the
// "sending too fast" notice, typing notices, editing or deleting one's own messages, and
// images: attached by button, drag-and-drop or paste, uploaded at once with a progress bar,
// previewed with a remove button, retried or removed when an upload fails.

import { Code } from "../codes.js";
import { limits } from "../config.js";
import { h, ready, showError } from "../dom.js";
import { fitted, uploadFile } from "../media.js";
import { fillMessage, markFailed, renderPending } from "./render.js";

const ATTACHMENTS_MAX = 4; // PROTOCOL.md: a message has at most 4

export class Composer {
  // els: { form, input, error, notice, attach, files, tray, dropZone }
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
    socket.on("failed", ({ ref, detail }) => this.#failed(ref, detail));
    this.#setupImages();
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
    const uploads = this.state.uploads;
    if (uploads.some((item) => item.status === "uploading")) {
      showError(error, { detail: "Wait for the images to finish uploading." });
      return;
    }
    if (uploads.some((item) => item.status === "failed")) {
      showError(error, { detail: "An image did not upload: retry or remove it." });
      return;
    }
    const attachments = uploads.map((item) => item.attachment);
    if (!body && !attachments.length) return;
    if (body.length > limits.bodyMax) {
      showError(error, { detail: `A message has at most ${limits.bodyMax} characters.` });
      return;
    }
    const clientId = crypto.randomUUID();
    const el = renderPending(body, clientId, this.state.me, attachments);
    this.state.pending.set(clientId, el);
    this.timeline.addPending(el);
    input.value = "";
    input.style.height = "";
    for (const item of uploads) this.#forget(item, { revoke: true });
    const extra = attachments.length ? { attachments: attachments.map((a) => a.id) } : {};
    this.socket.send(this.state.id, body, clientId, extra);
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
    if (images.length < files.length) showError(this.els.error, { detail: "Only images can be attached." });
    if (images.length > room) showError(this.els.error, { detail: `A message has at most ${ATTACHMENTS_MAX} images.` });
    for (const file of images.slice(0, Math.max(0, room))) this.#upload({ file, preview: URL.createObjectURL(file) });
  }

  #upload(item) {
    const bar = h("progress", { max: 100, value: 0, "aria-label": `Uploading ${item.file.name}` });
    const status = h("span", { class: "upload-state", role: "status" });
    const remove = h("button", { type: "button", class: "link", "aria-label": `Remove ${item.file.name}`, onclick: () => this.#forget(item, { revoke: true }) }, "Remove");
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
        status.textContent = "ready";
        item.el.classList.add("done");
      },
      (error) => {
        if (!this.state.uploads.includes(item)) return;
        item.status = "failed";
        item.el.classList.add("failed");
        bar.remove();
        status.textContent = `not uploaded: ${error.detail || error}`;
        // Retrying helps with a lost connection, never with a file the server refused.
        const final = [Code.UNSUPPORTED_MEDIA, Code.TOO_LARGE].includes(error.code);
        if (!final) remove.before(h("button", { type: "button", class: "link", onclick: () => this.#upload(item) }, "Retry"));
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
        h("span", { class: "upload-state" }, "ready"),
      );
      const item = { file: null, el, status: "done", attachment };
      el.append(h("button", { type: "button", class: "link", onclick: () => this.#forget(item, { revoke: false }) }, "Remove"));
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
