// The caller's rooms (all, or of one kind), every page of /api/rooms/ (cursor-paginated: follow `next`).
// `?kind=` asks the server to filter (PROTOCOL.md v1.1); the filter is applied here as well, so
// a server that does not filter yet only costs more pages, never a wrong list.

import { identity } from "./identity.js";

export async function roomsOfKind(kind) {
  return (await allRooms(`/api/rooms/?kind=${kind}`)).filter((room) => room.kind === kind);
}

// Every room of every page from `path` on.
export async function allRooms(path = "/api/rooms/") {
  const rooms = [];
  while (path) {
    const page = await identity.api("GET", path);
    rooms.push(...page.results);
    path = page.next ? pathOf(page.next) : null;
  }
  return rooms;
}

// One live copy of my rooms for the whole page, fetched again once after each burst of events
// that change a count, and handed to every listener (the title and favicon count, the inbox
// badge): one request per burst, not one per badge.
export function watchRooms(socket, me) {
  const listeners = [];
  let rooms = null; // the last list fetched (null until the first answer)
  let timer = null;
  const refresh = async () => {
    try {
      rooms = await allRooms();
    } catch {
      return; // the next event tries again
    }
    for (const listener of listeners) listener(rooms);
  };
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  };
  for (const type of ["notify", "room", "read", "removed"]) socket.on(type, soon);
  // A new message by someone else (edits, reactions and my own sends change no count).
  socket.on("message", ({ message }) => message.rev === message.seq && message.author.id !== (me && me.id) && soon());
  document.addEventListener("chat:muted", soon);
  refresh();
  return {
    // Calls `listener(rooms)` now if a list is known, and after every refresh.
    listen(listener) {
      listeners.push(listener);
      if (rooms) listener(rooms);
    },
    room: (id) => (rooms || []).find((room) => room.id === id),
  };
}

function pathOf(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}
