// Images (PROTOCOL.md v1.1, media): uploading with progress, thumbnails that take their
// place before they load, and a lightbox. Shared by the room, listing and listings pages.

import { Code } from "./codes.js";
import { h } from "./dom.js";
import { gettext, interpolate } from "./i18n.js";
import { ApiError, identity } from "./identity.js";

export const ACCEPT = "image/jpeg,image/png,image/webp,image/gif";

// POST one file as multipart `file`; resolves with the JSON body. XMLHttpRequest, not fetch:
// only it reports upload progress. `onProgress(fraction)`; a 401 refreshes the token once.
export async function uploadFile(path, file, onProgress = () => {}) {
  const attempt = (token) =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      xhr.setRequestHeader("Authorization", `Bearer ${token}`);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (event) => event.lengthComputable && onProgress(event.loaded / event.total));
      xhr.addEventListener("load", () => {
        let data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch {
          data = { code: Code.INTERNAL, detail: `HTTP ${xhr.status}` };
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else reject(new ApiError(xhr.status, data));
      });
      xhr.addEventListener("error", () => reject(new ApiError(0, { code: Code.UNAVAILABLE, detail: gettext("The upload failed; check the connection.") })));
      const form = new FormData();
      form.append("file", file, file.name || "image");
      xhr.send(form);
    });
  try {
    return await attempt(await identity.access());
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    return attempt(await identity.access({ force: true }));
  }
}

// The size an image is shown at inside a `box`×`box` square, keeping its aspect ratio.
export function fitted(width, height, box) {
  const scale = Math.min(1, box / width, box / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

// A thumbnail as a button that opens the image: its width and height are set from the
// attachment, so the page does not move when it loads (history's scroll anchor holds).
// `onError`: the image could not be fetched (its signed URL expired: PROTOCOL.md says reload
// the message over HTTP for fresh URLs).
export function thumbnail(attachment, { box = 240, onOpen, onError } = {}) {
  const size = fitted(attachment.width, attachment.height, box);
  const img = h("img", {
    src: attachment.thumb_url,
    alt: attachment.name || gettext("image"),
    width: size.width,
    height: size.height,
    loading: "lazy",
    decoding: "async",
  });
  if (onError) img.addEventListener("error", onError, { once: true });
  if (!onOpen) return img;
  const button = h("button", { type: "button", class: "thumb", "aria-label": attachment.name ? interpolate(gettext("Open image %(name)s"), { name: attachment.name }) : gettext("Open image") }, img);
  button.addEventListener("click", () => onOpen(attachment, button));
  return button;
}

let dialog = null;

// The image full size in a modal <dialog>: Esc or the close button closes it, and focus
// goes back to what opened it.
export function openLightbox(attachment, opener) {
  if (!dialog) {
    dialog = h("dialog", { class: "lightbox", "aria-label": gettext("Image") });
    dialog.addEventListener("click", (event) => event.target === dialog && dialog.close());
    document.body.append(dialog);
  }
  const close = h("button", { type: "button", class: "close", onclick: () => dialog.close() }, gettext("Close"));
  const size = fitted(attachment.width, attachment.height, 4000);
  dialog.replaceChildren(
    h("img", { src: attachment.url, alt: attachment.name || gettext("image"), width: size.width, height: size.height }),
    h("p", { class: "caption" }, attachment.name || ""),
    close,
  );
  dialog.onclose = () => opener?.focus();
  dialog.showModal();
  close.focus();
}
