// A listing: its photo, status and text; "Chat with the owner" for others, "Edit" (title,
// description, status, photo) for the owner.

import { boot } from "../app.js";
import { $, ready, showError } from "../dom.js";
import { gettext, interpolate } from "../i18n.js";
import { ApiError, identity } from "../identity.js";
import { ACCEPT, openLightbox, thumbnail, uploadFile } from "../media.js";

const { me } = await boot();
const id = Number(document.querySelector("[data-listing]").dataset.listing);
const button = $("#chat-owner");
const editButton = $("#edit-listing");
const form = $("#listing-form");
let listing = null;

function show(data) {
  listing = data;
  document.title = interpolate(gettext("%(title)s · Realtime Chat"), { title: listing.title });
  $("#listing-title").textContent = listing.title;
  $("#listing-owner").textContent = interpolate(gettext("Offered by %(name)s"), { name: listing.owner.display_name });
  $("#listing-description").textContent = listing.description;
  const status = $("#listing-status");
  status.textContent = listing.status === "lent" ? gettext("Lent") : gettext("Available");
  status.className = `status ${listing.status}`;
  const photo = $("#listing-photo");
  photo.replaceChildren(...(listing.photo ? [thumbnail(listing.photo, { box: 400, onOpen: openLightbox })] : []));
  const mine = Boolean(me) && listing.owner.id === me.id;
  button.hidden = !me || mine;
  editButton.hidden = !mine || !form.hidden;
}

try {
  show(await identity.api("GET", `/api/listings/${id}/`));
} catch (error) {
  // Removed while the page loaded (a listing that never existed is the server's 404 page).
  if (error instanceof ApiError && error.status === 404) $("#listing-title").textContent = gettext("Listing not found");
  showError($("#listing-error"), error);
  $("#listing-back").hidden = false;
}

button.addEventListener("click", async () => {
  button.disabled = true;
  try {
    const room = await identity.api("POST", `/api/listings/${id}/chat/`);
    location.href = `/rooms/${room.id}/`;
  } catch (error) {
    showError($("#listing-error"), error);
    button.disabled = false;
  }
});

editButton.addEventListener("click", () => {
  form.title.value = listing.title;
  form.description.value = listing.description;
  form.status.value = listing.status;
  form.photo.value = "";
  form.hidden = false;
  editButton.hidden = true;
  form.title.focus();
});
form.photo.accept = ACCEPT;
$("#cancel-edit").addEventListener("click", () => {
  form.hidden = true;
  editButton.hidden = false;
  editButton.focus();
});
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("#listing-form-error");
  const progress = $("#photo-progress");
  showError(error, null);
  try {
    let data = await identity.api("PATCH", `/api/listings/${id}/`, {
      title: form.title.value,
      description: form.description.value,
      status: form.status.value,
    });
    const file = form.photo.files[0];
    if (file) {
      progress.hidden = false;
      data = await uploadFile(`/api/listings/${id}/photo/`, file, (fraction) => {
        progress.value = Math.round(fraction * 100);
      });
    }
    form.hidden = true;
    show(data);
    editButton.focus();
  } catch (e) {
    showError(error, e);
  } finally {
    progress.hidden = true;
    progress.value = 0;
  }
});
ready(form);
