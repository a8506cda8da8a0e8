import { boot } from "../app.js";
import { $, h, ready, showError, timeOf, updateList } from "../dom.js";
import { gettext } from "../i18n.js";
import { identity } from "../identity.js";
import { thumbnail } from "../media.js";

await boot();
const list = $("#listing-list");
const more = $("#more-listings");
let next = null;

function card(listing) {
  return h(
    "li",
    { class: `card${listing.photo ? " with-photo" : ""}`, dataset: { key: listing.id } },
    listing.photo ? h("span", { class: "card-photo" }, thumbnail(listing.photo, { box: 72 })) : null,
    // The link covers the whole card (CSS); nothing else in a card is interactive.
    h("a", { href: `/listings/${listing.id}/`, class: "card-title card-link" }, listing.title),
    h("span", { class: `status ${listing.status}` }, listing.status === "lent" ? gettext("Lent") : gettext("Available")),
    h("span", { class: "muted" }, `${listing.owner.display_name} · ${timeOf(listing.created_at)}`),
  );
}

async function load(url = "/api/listings/", append = false) {
  const data = await identity.api("GET", url);
  const cards = data.results.map(card);
  if (append) list.append(...cards);
  else updateList(list, cards);
  next = data.next ? new URL(data.next).pathname + new URL(data.next).search : null;
  more.hidden = !next;
  $("#listings-empty").hidden = list.children.length > 0;
}

$("#new-listing").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  try {
    const listing = await identity.api("POST", "/api/listings/", {
      title: form.title.value,
      description: form.description.value,
    });
    location.href = `/listings/${listing.id}/`;
  } catch (error) {
    showError($("#new-listing-error"), error);
  }
});
ready($("#new-listing"));
more.addEventListener("click", () => next && load(next, true));
await load();
