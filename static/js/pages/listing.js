import { boot } from "../app.js";
import { $, showError } from "../dom.js";
import { identity } from "../identity.js";

const { me } = await boot();
const id = Number(document.querySelector("[data-listing]").dataset.listing);
const button = $("#chat-owner");

try {
  const listing = await identity.api("GET", `/api/listings/${id}/`);
  document.title = `${listing.title} · Realtime Chat`;
  $("#listing-title").textContent = listing.title;
  $("#listing-owner").textContent = `Offered by ${listing.owner.display_name}`;
  $("#listing-description").textContent = listing.description;
  button.hidden = !me || listing.owner.id === me.id;
} catch (error) {
  showError($("#listing-error"), error);
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
