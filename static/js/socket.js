// One WebSocket per tab, multiplexing every room the page shows (PROTOCOL.md, chat.v1).
//
// Rooms: the socket remembers each joined room's cursor (highest rev applied) and, after a
// reconnect, joins each again with it, so the server replays exactly what was missed.
// Sends: kept until acknowledged and resent with their original client_id after a
// reconnect; the server stores each client_id once, so nothing is doubled.
// Gaps: a live message whose rev is more than one above the cursor means something was
// missed, and the socket asks for it with `sync`.

import { identity, secondsLeft } from "./identity.js";

const RENEW_BEFORE = 90; // seconds before the access token expires: send `auth` with a fresh one

export class ChatSocket extends EventTarget {
  constructor() {
    super();
    this.ws = null;
    this.rooms = new Map(); // room id -> { cursor, joined }
    this.pending = new Map(); // client_id -> send frame
    this.attempt = 0;
    this.connected = false;
    this.stopped = false;
    this.refCounter = 0;
    this.renewTimer = null;
    this.reconnectTimer = null;
  }

  async start() {
    this.stopped = false;
    const access = await identity.access();
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(`${scheme}${location.host}/ws/chat/`, ["chat.v1", `bearer.${access}`]);
    this.ws = ws;
    ws.onopen = () => this.opened(access);
    ws.onmessage = (event) => this.received(JSON.parse(event.data));
    ws.onclose = (event) => this.closed(event);
  }

  opened(access) {
    this.attempt = 0;
    this.connected = true;
    this.emit("status", { connected: true });
    this.scheduleRenewal(access);
    // Unacknowledged sends go out again once their room's `joined` arrives (see received).
    for (const [room, state] of this.rooms) this.sendJoin(room, state);
  }

  async closed(event) {
    this.connected = false;
    clearTimeout(this.renewTimer);
    for (const state of this.rooms.values()) state.joined = false;
    if (this.stopped) return;
    if (event.code === 4403) {
      this.emit("status", { connected: false, fatal: "This account has been banned." });
      return;
    }
    if (event.code === 4401) {
      // The token was refused or ran out: get a fresh one, then reconnect at once.
      try {
        await identity.access({ force: true });
      } catch {
        /* offline: the backoff below retries */
      }
      if (this.attempt === 0) {
        this.attempt = 1;
        this.start();
        return;
      }
    }
    this.emit("status", { connected: false, reconnecting: true });
    const base = Math.min(30_000, 500 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2); // exponential backoff with jitter
    this.attempt += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.start().catch(() => this.closed({ code: 1006 })), delay);
  }

  scheduleRenewal(access) {
    clearTimeout(this.renewTimer);
    const wait = Math.max(5, secondsLeft(access) - RENEW_BEFORE) * 1000;
    this.renewTimer = setTimeout(async () => {
      try {
        const fresh = await identity.access({ force: true });
        this.raw({ type: "auth", token: fresh });
        this.scheduleRenewal(fresh);
      } catch {
        this.scheduleRenewal(access);
      }
    }, wait);
  }

  raw(frame) {
    if (this.connected && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // --- rooms -------------------------------------------------------------------------------

  join(room, cursor) {
    const state = { cursor: cursor ?? null, joined: false, live: false };
    this.rooms.set(room, state);
    this.sendJoin(room, state);
  }

  sendJoin(room, state) {
    state.live = false; // until `joined`, replayed messages may skip revs
    const frame = { type: "join", room, ref: `join:${room}` };
    if (state.cursor !== null) frame.cursor = state.cursor;
    this.raw(frame);
  }

  leave(room) {
    this.rooms.delete(room);
    this.raw({ type: "leave", room });
  }

  send(room, body, clientId = crypto.randomUUID()) {
    const frame = { type: "send", room, body, client_id: clientId, ref: clientId };
    this.pending.set(clientId, frame);
    if (this.rooms.get(room)?.joined) this.raw(frame); // else: sent once the room is joined
    return clientId;
  }

  flushPending(room) {
    for (const frame of this.pending.values()) if (frame.room === room) this.raw(frame);
  }

  retry(clientId) {
    const frame = this.pending.get(clientId);
    if (frame) this.raw(frame);
  }

  forget(clientId) {
    this.pending.delete(clientId);
  }

  request(frame) {
    const ref = `r${++this.refCounter}`;
    this.raw({ ...frame, ref });
    return ref;
  }

  // --- from the server ------------------------------------------------------------------------

  received(frame) {
    switch (frame.type) {
      case "message":
        this.trackRev(frame.message);
        break;
      case "ack":
        this.pending.delete(frame.client_id);
        break;
      case "joined": {
        const state = this.rooms.get(frame.room);
        if (state) {
          const first = !state.joined;
          state.cursor = Math.max(state.cursor ?? 0, frame.cursor);
          state.joined = true;
          state.live = true;
          if (first) this.flushPending(frame.room);
        }
        break;
      }
      case "reset": {
        const state = this.rooms.get(frame.room);
        if (state) state.cursor = frame.cursor;
        break;
      }
      case "error": {
        // A refused send is dropped from the resend list, except when it is worth retrying.
        if (frame.ref && !["rate_limited", "unavailable"].includes(frame.code)) this.pending.delete(frame.ref);
        // A join or sync the server could not serve right now: ask again shortly.
        const room = frame.ref?.startsWith("join:") ? Number(frame.ref.slice(5)) : null;
        const state = room !== null ? this.rooms.get(room) : null;
        if (state && frame.code === "unavailable") setTimeout(() => this.rooms.get(room) === state && this.sendJoin(room, state), 1000);
        break;
      }
      default:
    }
    this.emit(frame.type, frame);
  }

  // The cursor moves only along an unbroken stream: in-order live frames, or a whole replay
  // once its `joined` arrives. Frames seen during a replay are shown but not counted, so a
  // socket lost mid-replay rejoins from before the hole rather than past it.
  trackRev(message) {
    const state = this.rooms.get(message.room);
    if (!state || !state.live || state.cursor === null) return;
    if (message.rev > state.cursor + 1) {
      // Missed something: ask from where the stream was whole; `joined` ends the replay.
      state.live = false;
      this.raw({ type: "sync", room: message.room, cursor: state.cursor, ref: `join:${message.room}` });
      return;
    }
    state.cursor = Math.max(state.cursor, message.rev);
  }
}
