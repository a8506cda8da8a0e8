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

function pathOf(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}
