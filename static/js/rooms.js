// The caller's rooms of one kind, every page of /api/rooms/ (cursor-paginated: follow `next`).
// `?kind=` asks the server to filter (PROTOCOL.md v1.1); the filter is applied here as well, so
// a server that does not filter yet only costs more pages, never a wrong list.

import { identity } from "./identity.js";

export async function roomsOfKind(kind) {
  const rooms = [];
  let path = `/api/rooms/?kind=${kind}`;
  while (path) {
    const page = await identity.api("GET", path);
    rooms.push(...page.results.filter((room) => room.kind === kind));
    path = page.next ? pathOf(page.next) : null;
  }
  return rooms;
}

function pathOf(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname + parsed.search;
}
