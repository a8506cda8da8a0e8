// (v1.1) The search box every page has: messages containing the words, newest first, from
// the rooms I may read; a result opens its room at the message (/rooms/{id}/?message={id}).
// Results are text only (user text never becomes markup).

import { $, h, ready, showError, timeOf } from "./dom.js";
import { gettext, interpolate } from "./i18n.js";
import { identity } from "./identity.js";

export function setupSearch() {
  const form = $("#search-form");
  const input = $("#search-q");
  const panel = $("#search-results");
  const list = $("#search-list");
  const status = $("#search-status");
  const more = $("#search-more");
  let query = null;
  let next = null;

  const load = async () => {
    const params = new URLSearchParams({ q: query });
    if (next !== null) params.set("before", String(next));
    more.hidden = true;
    status.textContent = gettext("Searching…");
    try {
      const page = await identity.api("GET", `/api/search/?${params}`);
      list.append(...page.results.map(result));
      next = page.next_before;
      more.hidden = next === null;
      status.textContent = list.children.length ? "" : gettext("Nothing found.");
    } catch (error) {
      showError(status, error);
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    query = input.value.trim();
    if (query.length < 2) {
      status.textContent = gettext("Type at least 2 characters.");
      panel.hidden = false;
      return;
    }
    next = null;
    list.replaceChildren();
    $("#search-title").textContent = interpolate(gettext("Messages with “%(query)s”"), { query });
    panel.hidden = false;
    load();
  });
  more.addEventListener("click", load);
  $("#search-close").addEventListener("click", () => {
    panel.hidden = true;
  });
  input.addEventListener("keydown", (event) => event.key === "Escape" && (panel.hidden = true));
  ready(form);
}

function result({ message, room }) {
  const where = room.kind === "direct" ? (room.peer ? room.peer.display_name : gettext("Conversation")) : room.name;
  return h(
    "li",
    { class: "search-hit" },
    h(
      "a",
      { href: `/rooms/${room.id}/?message=${message.id}` },
      h("span", { class: "where" }, where),
      " · ",
      h("span", { class: "author" }, message.author.display_name),
      " ",
      h("time", { datetime: message.created_at }, timeOf(message.created_at)),
      h("span", { class: "excerpt" }, message.body.length > 160 ? `${message.body.slice(0, 159)}…` : message.body),
    ),
  );
}
